"""Find the nested pydantic model a validation error points into (for "did you mean")."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Models inside an annotation such as `X | None`, `list[X]`, `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, tuple, dict, Sequence):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def model_at(model: type[BaseModel], path: Sequence[Any]) -> type[BaseModel] | None:
    """The model holding the last element of `path` (field names and list indexes)."""
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return None
        if not isinstance(part, str) or part not in current.model_fields:
            continue  # list index, dict key or union-branch label: stay on this model
        models = _models_in(current.model_fields[part].annotation)
        current = models[0] if models else None
    return current


def known_fields(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names accepted where `loc` (an error location ending in a field) points."""
    holder = model_at(model, loc[:-1])
    return list(holder.model_fields) if holder is not None else []
