"""Turn IR values into plain data (for YAML golden files and JSON views)."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

REDACTED = "redacted"
"""Field metadata key: `to_data` shows the field's placeholder (this key's value) instead
of the field's value; for key material."""


def to_data(value: Any) -> Any:
    """Convert dataclasses, enums and tuples recursively into dicts, strings and lists.

    Fields holding their default value, and derived fields (`compare=False`), are left
    out so that golden files stay short. Fields marked `redacted` in their metadata
    (key material) show their placeholder instead of their value.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if not f.compare:  # derived values (e.g. cached sort keys) are not data
                continue
            item = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and item == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and item == f.default_factory():
                continue
            placeholder = f.metadata.get(REDACTED)
            out[f.name] = placeholder if placeholder is not None else to_data(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [to_data(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_data(v) for v in value)
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    return value
