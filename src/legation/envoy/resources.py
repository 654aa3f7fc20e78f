"""The translator's output: Envoy resources by kind and name."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pool, json_format, message_factory

from legation.envoy.secret import redact_secret_data


def unpack(message: Any) -> Any:
    """The concrete message inside an `Any` (the translator packs large resources)."""
    if message.DESCRIPTOR.full_name != "google.protobuf.Any":
        return message
    name = message.type_url.rsplit("/", 1)[-1]
    cls = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(name))
    inner = cls()
    message.Unpack(inner)
    return inner


_JSON_OBJECTS = frozenset({"google.protobuf.Struct", "google.protobuf.Value"})


def _sort_all(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sort_all(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sort_all(v) for v in value]
    return value


def _sort_maps(value: Any, descriptor: Any) -> Any:
    """Sort the keys of map fields and Structs, whose iteration order varies by process.

    Fields of ordinary messages keep their declaration order (readable golden files).
    """
    if descriptor.full_name in _JSON_OBJECTS:
        return _sort_all(value)
    if not isinstance(value, dict):
        return value
    if descriptor.full_name == "google.protobuf.Any" and "@type" in value:
        name = str(value["@type"]).rsplit("/", 1)[-1]
        try:
            descriptor = descriptor_pool.Default().FindMessageTypeByName(name)
        except KeyError:
            return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key)
        if field is None or field.message_type is None:
            out[key] = item
        elif field.message_type.GetOptions().map_entry:
            inner = field.message_type.fields_by_name["value"].message_type
            out[key] = {
                k: _sort_maps(item[k], inner) if inner is not None else item[k]
                for k in sorted(item)
            }
        elif isinstance(item, list):
            out[key] = [_sort_maps(v, field.message_type) for v in item]
        else:
            out[key] = _sort_maps(item, field.message_type)
    return out


def message_to_data(message: Any) -> dict[str, Any]:
    """A message as plain dicts and lists (proto3 JSON mapping, proto field names).

    Deterministic: map keys are sorted, message fields come in declaration order.
    """
    message = unpack(message)
    data: dict[str, Any] = json.loads(
        json_format.MessageToJson(message, preserving_proto_field_name=True, sort_keys=False)
    )
    sorted_data: dict[str, Any] = _sort_maps(data, message.DESCRIPTOR)
    return sorted_data


def type_url(message: Any) -> str:
    """The `type.googleapis.com/...` URL of a protobuf message."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Any":
        return str(message.type_url)
    return f"type.googleapis.com/{message.DESCRIPTOR.full_name}"


class ByTypeUrl(dict[str, dict[str, Any]]):
    """Resources by xDS type URL → name, and the content `versions` (same keys) of
    those whose version the translator already knows: the xDS cache takes them instead
    of hashing their bytes (a route configuration of 10,000 routes is 10 MB)."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[str, dict[str, str]] = {}


@dataclass(frozen=True)
class XdsResources:
    """Envoy resources keyed by name, each collection sorted by name."""

    listeners: dict[str, Any] = field(default_factory=dict)
    routes: dict[str, Any] = field(default_factory=dict)
    clusters: dict[str, Any] = field(default_factory=dict)
    endpoints: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    route_versions: dict[str, str] = field(default_factory=dict, compare=False)
    """Content versions of some `routes` (by name), found by the translator from the
    digests of their parts. Not part of the content: equal resources may lack them."""

    def by_type_url(self) -> ByTypeUrl:
        """The same resources keyed by xDS type URL, for the xDS cache (with the
        versions already known)."""
        out = ByTypeUrl()
        for collection in (
            self.secrets,
            self.clusters,
            self.endpoints,
            self.listeners,
            self.routes,
        ):
            for name, message in collection.items():
                out.setdefault(type_url(message), {})[name] = message
                version = self.route_versions.get(name) if collection is self.routes else None
                if version is not None:
                    out.versions.setdefault(type_url(message), {})[name] = version
        return out

    def to_data(self) -> dict[str, list[dict[str, Any]]]:
        """Plain data (proto3 JSON mapping) for YAML/JSON output and golden files.

        Secrets show placeholders instead of key and certificate bytes.
        """

        def dump(collection: dict[str, Any]) -> list[dict[str, Any]]:
            return [message_to_data(collection[name]) for name in sorted(collection)]

        return {
            "listeners": dump(self.listeners),
            "routes": dump(self.routes),
            "clusters": dump(self.clusters),
            "endpoints": dump(self.endpoints),
            "secrets": [redact_secret_data(d) for d in dump(self.secrets)],
        }
