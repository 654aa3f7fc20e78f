"""pydantic models → structural OpenAPI v3 schemas that a Kubernetes API server accepts.

A CRD schema must be *structural*: every node has a `type` (or says it takes any
value), no `$ref`, and `anyOf` only in forms Kubernetes understands. pydantic's JSON
Schema is close but not that, so this module rewrites it:

- `$ref`s are inlined (past `MAX_DEPTH` a node accepts anything);
- `X | None` becomes `X` with `nullable: true`;
- `int | str` becomes `x-kubernetes-int-or-string: true`;
- any other union, `Any`, and a field with a *before* validator (which accepts more
  shapes than its type says, e.g. `5s` for a duration in ms, or one string for a
  list) takes any value (`x-kubernetes-preserve-unknown-fields: true`, no `type`);
- objects keep unknown fields instead of letting the API server drop them silently:
  legation itself reports an unknown field as an error, with a "did you mean".

Defaults are left out on purpose: the API server would write them into stored objects.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

MAX_DEPTH = 12
ANY: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
"""A node that takes any value."""
_KEEP = ("description", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
_TYPE_OF = {bool: "boolean", int: "integer", float: "number", str: "string"}


class _Lenient(GenerateJsonSchema):
    """pydantic's generator, except that fields with before/wrap/plain validators take anything."""

    def function_before_schema(self, schema: core_schema.BeforeValidatorFunctionSchema) -> Any:
        """A before validator may accept shapes its type does not describe."""
        return {}

    def function_wrap_schema(self, schema: core_schema.WrapValidatorFunctionSchema) -> Any:
        """As for before validators."""
        return {}

    def function_plain_schema(self, schema: core_schema.PlainValidatorFunctionSchema) -> Any:
        """A plain validator decides on its own what it accepts."""
        return {}


def _resolve(node: JsonSchemaValue, defs: dict[str, Any]) -> JsonSchemaValue:
    while "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        node = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
    if "allOf" in node and len(node["allOf"]) == 1:
        inner = _resolve(node["allOf"][0], defs)
        node = {**inner, **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def _union(node: JsonSchemaValue, defs: dict[str, Any], depth: int) -> dict[str, Any]:
    branches = [_resolve(b, defs) for b in node.get("anyOf") or node.get("oneOf") or []]
    nullable = any(b.get("type") == "null" for b in branches)
    real = [b for b in branches if b.get("type") != "null"]
    out: dict[str, Any]
    if len(real) == 1:
        out = structural(real[0], defs, depth)
    elif {b.get("type") for b in real} == {"integer", "string"} and len(real) == 2:
        out = {"x-kubernetes-int-or-string": True}
    else:
        out = dict(ANY)
    if nullable:
        out["nullable"] = True
    if "description" in node:
        out["description"] = node["description"]
    return out


def _object(node: JsonSchemaValue, defs: dict[str, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    props = node.get("properties")
    extra = node.get("additionalProperties")
    if props:
        out["properties"] = {k: structural(v, defs, depth + 1) for k, v in props.items()}
        if node.get("required"):
            out["required"] = sorted(node["required"])
        out["x-kubernetes-preserve-unknown-fields"] = True
    elif isinstance(extra, dict) and extra:
        out["additionalProperties"] = structural(extra, defs, depth + 1)
    else:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def structural(node: JsonSchemaValue, defs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """One JSON Schema node (with its `$defs`) as a structural schema node."""
    node = _resolve(node, defs)
    if depth > MAX_DEPTH:
        return dict(ANY)
    if "anyOf" in node or "oneOf" in node:
        return _union(node, defs, depth)
    kind = node.get("type")
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if kind is None and values:
        kinds = {_TYPE_OF.get(type(v)) for v in values}
        kind = kinds.pop() if len(kinds) == 1 else None
    if kind is None:
        out = dict(ANY)
    elif kind == "object":
        out = _object(node, defs, depth)
    elif kind == "array":
        out = {"type": "array", "items": structural(node.get("items", {}), defs, depth + 1)}
    else:
        out = {"type": kind}
        if values is not None:
            out["enum"] = list(values)
        if "exclusiveMinimum" in node:
            out.update(minimum=node["exclusiveMinimum"], exclusiveMinimum=True)
        if "exclusiveMaximum" in node:
            out.update(maximum=node["exclusiveMaximum"], exclusiveMaximum=True)
    out.update({k: node[k] for k in _KEEP if k in node and k not in out})
    return out


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural schema of a model, as it validates input (aliases as written)."""
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_Lenient)
    defs = raw.pop("$defs", {})
    return structural(raw, defs)
