"""Route tables that do not slow down: a virtual host's routes as an Envoy matcher tree.

Envoy tries a virtual host's `routes` one by one, so with thousands of prefix routes
every request pays for thousands of comparisons. `VirtualHost.matcher` with a
`prefix_match_map` on `:path` finds the longest matching key in a trie instead.

The tree must choose exactly what the ordered list chooses. For a request, the longest
trie key K that prefixes its path is found; every route that could match the request
then has a value that prefixes K (prefix and exact routes) or is not in the trie at all
(regex and case-insensitive routes). So the action of key K is the list of those
candidates, in the original order, and Envoy evaluates each candidate's full match as
it would in the list. Routes that cannot be keys also form the `on_no_match` list.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envoy.config.route.v3 import route_components_pb2
from envoy.type.matcher.v3 import http_inputs_pb2

from legation.ir.routes import PathKind, Route

TRIE_MIN_ROUTES = 64
"""Below this many routes a plain list is as fast and easier to read."""
TRIE_MAX_UNKEYED = 32
"""Above this many regex / case-insensitive routes, each trie action would repeat them
all; the plain list is then used instead."""


@dataclass(frozen=True)
class TreePlan:
    """Which routes each trie key tries, in order, and the list for no key at all."""

    keyed: dict[str, tuple[Route, ...]]
    fallback: tuple[Route, ...]


_LITERAL = operator.attrgetter("literal_path")


def _by_key(routes: Sequence[Route]) -> tuple[dict[str, list[Route]], list[Route]]:
    """Routes grouped by trie key, and the routes that cannot be keys."""
    by_key: dict[str, list[Route]] = {}
    unkeyed: list[Route] = []
    for route in routes:
        path = route.match.path
        if path.kind is PathKind.REGEX or not path.case_sensitive:
            unkeyed.append(route)
        elif path.value in by_key:
            by_key[path.value].append(route)
        else:
            by_key[path.value] = [route]
    return by_key, unkeyed


def plan_tree(routes: Sequence[Route]) -> TreePlan:
    """Candidate lists per key; `routes` must already be in match order."""
    by_key, unkeyed = _by_key(routes)
    position: dict[int, int] = {}
    keyed: dict[str, tuple[Route, ...]] = {}
    stack: list[str] = []  # keys that prefix the current key, shortest first
    for key in sorted(by_key):
        while stack and not key.startswith(stack[-1]):
            stack.pop()
        if stack or unkeyed:
            if not position:
                position.update((id(r), i) for i, r in enumerate(routes))
            candidates = [r for k in stack for r in by_key[k]] + by_key[key] + unkeyed
            candidates.sort(key=lambda r: position[id(r)])
            keyed[key] = tuple(candidates)
        else:
            keyed[key] = tuple(by_key[key])
        stack.append(key)
    return TreePlan(keyed, tuple(unkeyed))


def use_tree(routes: Sequence[Route]) -> bool:
    """Whether a virtual host is better served by a matcher tree than by a list."""
    if len(routes) < TRIE_MIN_ROUTES:
        return False
    unkeyed: int = len(routes) - sum(map(_LITERAL, routes))
    return unkeyed <= TRIE_MAX_UNKEYED


def choose(plan: TreePlan, path: str) -> tuple[Route, ...]:
    """The candidate list Envoy evaluates for a `:path` (used by tests and diagnostics)."""
    best = None
    for key in plan.keyed:
        if path.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return plan.keyed[best] if best is not None else plan.fallback


# --- serialization: assembled from cached route bytes -------------------------------
# Field numbers: xds/type/matcher/v3/matcher.proto, xds/core/v3/extension.proto,
# envoy/config/route/v3/route_components.proto, google/protobuf/any.proto.
_MATCHER_TREE, _MATCHER_ON_NO_MATCH = 2, 3
_ON_MATCH_ACTION = 2
_TREE_INPUT, _TREE_PREFIX_MAP = 1, 3
_MAP_ENTRIES, _ENTRY_KEY, _ENTRY_VALUE = 1, 1, 2
_TEC_NAME, _TEC_TYPED_CONFIG = 1, 2
_ANY_TYPE_URL, _ANY_VALUE = 1, 2
_ROUTE_LIST_ROUTES = 1
_ROUTE_LIST_URL = (
    b"type.googleapis.com/" + route_components_pb2.RouteList.DESCRIPTOR.full_name.encode()
)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_SMALL_VARINTS = [_encode_varint(i) for i in range(1 << 14)]


def _varint(value: int) -> bytes:
    return _SMALL_VARINTS[value] if value < 16384 else _encode_varint(value)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field: tag, length, payload."""
    return _SMALL_VARINTS[number << 3 | 2] + _varint(len(payload)) + payload


def _input_bytes() -> bytes:
    header_input = http_inputs_pb2.HttpRequestHeaderMatchInput(header_name=":path")
    url = b"type.googleapis.com/" + header_input.DESCRIPTOR.full_name.encode()
    any_bytes = field(_ANY_TYPE_URL, url) + field(
        _ANY_VALUE, header_input.SerializeToString(deterministic=True)
    )
    return field(_TEC_NAME, b"request-headers") + field(_TEC_TYPED_CONFIG, any_bytes)


_INPUT = _input_bytes()


def route_list_action(routes: Sequence[Route], route_bytes: Callable[[Route], bytes]) -> bytes:
    """An OnMatch whose action is a RouteList of `routes` (a tree's `on_no_match`)."""
    route_list = b"".join(field(_ROUTE_LIST_ROUTES, route_bytes(r)) for r in routes)
    any_bytes = field(_ANY_TYPE_URL, _ROUTE_LIST_URL) + field(_ANY_VALUE, route_list)
    action = field(_TEC_NAME, b"routes") + field(_TEC_TYPED_CONFIG, any_bytes)
    return field(_ON_MATCH_ACTION, action)


def entry_bytes(key: str, routes: Sequence[Route], route_bytes: Callable[[Route], bytes]) -> bytes:
    """One serialized `prefix_match_map` entry: the key and its RouteList action."""
    action = route_list_action(routes, route_bytes)
    return field(_MAP_ENTRIES, field(_ENTRY_KEY, key.encode()) + field(_ENTRY_VALUE, action))


class Chunks:
    """A serialized message as byte strings joined once, at the end, and its length.

    A route configuration of 10,000 routes is about 10 MB; nesting its virtual hosts and
    matcher trees as joined bytes copied all of it once per level. Chunks nest by
    reference: only the small tag-and-length headers are new bytes.
    """

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        """Append serialized bytes (whole fields) as they are."""
        self.parts.append(data)
        self.size += len(data)

    def add_message(self, number: int, inner: Chunks) -> None:
        """Append `inner` as the length-delimited field `number`, without joining it."""
        head = _SMALL_VARINTS[number << 3 | 2] + _varint(inner.size)
        self.parts.append(head)
        self.parts.extend(inner.parts)
        self.size += len(head) + inner.size

    def join(self) -> bytes:
        """The message's bytes."""
        return b"".join(self.parts)


def tree_chunks(entries: Sequence[bytes], entries_size: int, fallback: bytes) -> Chunks:
    """The serialized `xds.type.matcher.v3.Matcher` from entries in key order
    (`entries_size`: their total length) and the `route_list_action` of the routes
    that cannot be keys (empty: none)."""
    prefix_map = Chunks()
    prefix_map.parts.extend(entries)
    prefix_map.size = entries_size
    tree = Chunks()
    tree.add(field(_TREE_INPUT, _INPUT))
    tree.add_message(_TREE_PREFIX_MAP, prefix_map)
    out = Chunks()
    out.add_message(_MATCHER_TREE, tree)
    if fallback:
        out.add(field(_MATCHER_ON_NO_MATCH, fallback))
    return out


def tree_bytes(
    entries: Sequence[bytes], fallback: Sequence[Route], route_bytes: Callable[[Route], bytes]
) -> bytes:
    """The serialized `xds.type.matcher.v3.Matcher` from entries in key order."""
    action = route_list_action(fallback, route_bytes) if fallback else b""
    return tree_chunks(entries, sum(map(len, entries)), action).join()
