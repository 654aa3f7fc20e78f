"""Validate a spec field by field where one bad field must not lose the rest.

Used for the `ambassador` Module: a typo in one setting is reported against that
setting, and every other setting still applies (Emissary applies the rest too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

_MAX_ROUNDS = 64
"""Each round drops at least one field; a spec has far fewer than this."""


def _drop(body: dict[str, Any], loc: tuple[Any, ...], nested: str | None) -> bool:
    """Remove the top-level (or `nested`-level) field an error points at."""
    if nested is not None and len(loc) >= 2 and loc[0] == nested:
        inner = body.get(nested)
        if isinstance(inner, dict) and loc[1] in inner:
            body[nested] = {k: v for k, v in inner.items() if k != loc[1]}
            return True
    if loc and loc[0] in body:
        del body[loc[0]]
        return True
    return False


def validate_partially(
    model: type[BaseModel], spec: Mapping[str, Any], nested: str | None = None
) -> tuple[BaseModel | None, list[ValidationError]]:
    """The model built from every field that validates, and the errors of those that do not.

    `nested` names a block (e.g. `config`) whose fields are dropped one by one instead of
    the whole block. Returns None for the model only when nothing valid remains.
    """
    body: dict[str, Any] = dict(spec)
    errors: list[ValidationError] = []
    for _ in range(_MAX_ROUNDS):
        try:
            return model.model_validate(body), errors
        except ValidationError as exc:
            errors.append(exc)
            dropped = [_drop(body, tuple(e.get("loc", ())), nested) for e in exc.errors()]
            if not any(dropped):
                return None, errors
    return None, errors
