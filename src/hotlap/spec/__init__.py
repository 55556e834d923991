"""The sweep spec: one YAML file that describes a whole study, validated before anything runs.

`schema` holds its shape (pydantic models, the sugar done in validators, one-line errors);
`validate` loads a file, applies dotted overrides and checks the spec against the registries.
"""

from __future__ import annotations

from hotlap.spec.errors import apply_overrides
from hotlap.spec.fields import SpecError
from hotlap.spec.schema import SweepSpec
from hotlap.spec.validate import load_spec, parse_spec, stored_spec

__all__ = ["SpecError", "SweepSpec", "apply_overrides", "load_spec", "parse_spec", "stored_spec"]
