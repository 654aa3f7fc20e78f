"""Validate a spec where one bad field must not lose the rest.

Used for the `ambassador` Module: a typo or a wrong value in one setting is reported
against that setting, and everything else still applies. As in Emissary, the smallest
part an error points at is left out: an unknown key inside `grpc_stats` drops that key
(grpc_stats still applies), an invalid entry of `ip_allow` drops that entry.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

_MAX_ROUNDS = 64
"""Each round drops at least one part; a spec has far fewer bad parts than this."""


def _target(body: dict[str, Any], loc: tuple[Any, ...]) -> tuple[Any, Any] | None:
    """The (container, key) of the part of `body` that `loc` names: the deepest mapping
    key, or the list entry the error is inside (a bad entry is left out whole)."""
    found: tuple[Any, Any] | None = None
    node: Any = body
    for part in loc:
        if isinstance(node, dict) and part in node:
            found, node = (node, part), node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            return node, part
        else:
            break  # a missing field, or pydantic's label of a union branch
    return found


def _drop_all(body: dict[str, Any], locs: list[tuple[Any, ...]]) -> bool:
    """Remove every part the errors point at; list items from the end, so that the
    indexes of the others stay right."""
    targets: dict[int, tuple[Any, set[Any]]] = {}
    for loc in locs:
        found = _target(body, loc)
        if found is not None:
            targets.setdefault(id(found[0]), (found[0], set()))[1].add(found[1])
    for container, keys in targets.values():
        for key in sorted(keys, reverse=True) if isinstance(container, list) else keys:
            del container[key]
    return bool(targets)


def validate_partially(
    model: type[BaseModel], spec: Mapping[str, Any]
) -> tuple[BaseModel | None, list[ValidationError]]:
    """The model built from every part that validates, and the errors of those that do not.

    Returns None for the model only when even the emptied spec does not validate.
    """
    body: dict[str, Any] = copy.deepcopy(dict(spec))
    errors: list[ValidationError] = []
    for _ in range(_MAX_ROUNDS):
        try:
            return model.model_validate(body), errors
        except ValidationError as exc:
            errors.append(exc)
            if not _drop_all(body, [tuple(e.get("loc", ())) for e in exc.errors()]):
                return None, errors
    return None, errors
