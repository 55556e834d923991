"""Checks for callbacks and report formats."""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_callback", "check_format"]


def check_callback(name: str, workdir: Path) -> None:
    """Callback `name` hears a whole sweep (every hook, one event each) without raising: a hook that
    raised would switch it off with a warning line, which the check looks for."""
    from hotlap.callbacks import Callback, get_callback
    from hotlap.testing.toy import tiny_spec, tiny_sweep

    callback = get_callback(name)
    assert isinstance(callback, Callback), f"{name}: {type(callback).__name__} is not a Callback"
    lines: list[str] = []

    class Listen(Callback):
        def message(self, event, **info):  # type: ignore[no-untyped-def]
            lines.append(event.text)

    result = tiny_sweep(
        workdir, tiny_spec(f"kit-callback-{name}"), callbacks=[("listen", Listen()), (name, callback)]
    )
    assert result.state == "done", result.message
    off = [line for line in lines if f"callback {name} switched off" in line]
    assert not off, off[0]


def check_format(name: str, workdir: Path) -> None:
    """Report format `name` renders a finished sweep as text that names each of its configs."""
    from hotlap.report import load_report, render_format
    from hotlap.store import Store
    from hotlap.testing.toy import tiny_spec, tiny_sweep

    target = {"metric": "tta_accuracy", "at_least": 0.8}
    raw = tiny_spec(f"kit-format-{name}", baseline={}, objective={"minimize": "train_time", "target": target})
    result = tiny_sweep(workdir, raw)
    with Store(workdir) as store:
        report = load_report(store, result.sweep.id)
    text = render_format(report, name)
    assert isinstance(text, str) and text.strip(), f"format {name} rendered nothing"
    missing = [c.config_id for c in report.analysis.configs if c.config_id not in text]
    assert not missing, f"format {name} does not show configs {missing}"
