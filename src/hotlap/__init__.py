"""hotlap: find the fastest training configuration that reliably reaches a target accuracy."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
