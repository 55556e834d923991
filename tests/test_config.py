from __future__ import annotations

import pytest

from hotlap.config import parse_overrides, resolve_config
from hotlap.errors import ConfigError
from hotlap.recipes import get_recipe
from hotlap.recipes.airbench94 import Airbench94Config


def test_overrides_are_typed_by_yaml_scalar_rules():
    parsed = parse_overrides(
        ["lr=12", "epochs=9.5", "translate_schedule=cyclic", "whiten_unfreeze_epoch=null"]
    )
    assert parsed == {
        "lr": 12,
        "epochs": 9.5,
        "translate_schedule": "cyclic",
        "whiten_unfreeze_epoch": None,
    }
    config = resolve_config(Airbench94Config, parsed)
    assert config.lr == 12.0 and config.epochs == 9.5 and config.translate_schedule == "cyclic"


@pytest.mark.parametrize(
    ("text", "value"), [("1e-3", 0.001), ("2E+1", 20.0), ("1.5e2", 150.0), (".5e1", 5.0)]
)
def test_scientific_notation_is_a_number(text, value):
    assert parse_overrides([f"lr={text}"]) == {"lr": value}


def test_defaults_are_the_reference_hyperparameters():
    config = get_recipe("airbench94").config()
    assert (config.batch_size, config.lr, config.momentum, config.weight_decay) == (
        1024,
        11.5,
        0.85,
        0.0153,
    )
    assert (config.bias_scaler, config.label_smoothing, config.whiten_bias_epochs) == (64.0, 0.2, 3)
    assert (config.translate, config.flip, config.tta_level, config.tta_untranslated_weight) == (
        2,
        "alternating",
        2,
        0.5,
    )
    assert config.block_widths() == (64, 256, 256)


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        (["not_a_key=1"], "unknown config key 'not_a_key'"),
        (["lrr=1"], "closest: lr"),
        (["lr=-1"], "lr=-1"),
        (["lr=-1"], "greater than 0"),
        (["batch_size=abc"], "batch_size='abc'"),
        (["batch_size=2.5"], "batch_size=2.5"),
        (["batch_size=true"], "batch_size=True"),
        (["momentum=1"], "less than 1"),
        (["tta_level=3"], "less than or equal to 2"),
        (["translate_schedule=spiral"], "'random' or 'cyclic'"),
        (["lr"], "not of the form KEY=VALUE"),
        (["=3"], "not of the form KEY=VALUE"),
        (["lr=1", "lr=2"], "given twice"),
        (["lr=[1, 2]"], "single value"),
    ],
)
def test_bad_overrides_name_the_problem_in_one_line(items, fragment):
    with pytest.raises(ConfigError) as info:
        resolve_config(Airbench94Config, parse_overrides(items))
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_configs_are_immutable():
    config = get_recipe("airbench94").config()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own ValidationError
        config.lr = 1.0  # type: ignore[misc]


def test_a_family_member_changes_a_default_and_keeps_the_bounds_and_meaning():
    from hotlap.recipes import get_recipe
    from hotlap.recipes.airbench94 import Airbench94Config
    from hotlap.recipes.airbench96 import Airbench96Config

    parent, child = Airbench94Config.model_fields["epochs"], Airbench96Config.model_fields["epochs"]
    assert child.default == 37.0 and child.description == parent.description
    assert child.metadata == parent.metadata  # gt=0, le=1000
    with pytest.raises(ConfigError, match="epochs"):
        get_recipe("airbench96").config({"epochs": 0.0})


def test_a_bad_value_for_a_field_of_two_types_names_the_field_and_both_types():
    """pydantic reports a union per branch (`compile.bool`): the error names the field as a user
    writes it and every type it takes."""
    from hotlap.recipes import get_recipe

    with pytest.raises(ConfigError) as raised:
        get_recipe("airbench94_muon").config({"compile": "maybe"})
    assert str(raised.value).startswith("invalid value for compile='maybe'")
    assert "bool | 'auto'" in str(raised.value) and "compile.bool" not in str(raised.value)
