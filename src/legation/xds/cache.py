"""Versioned xDS resources (the desired state) and per-stream delivery status. No gRPC here.

Only streams that present the cache's token (set by the runtime, carried in Envoy's
bootstrap node metadata) are admitted, so no other local process can read the
configuration or count as "our Envoy" for readiness and quarantine.

The cache is used from one asyncio event loop: :meth:`XdsCache.set_resources` notifies
the streams through plain callbacks, which set their wake-up events.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import any_pb2

from legation.xds.status import NodeRecord, NodeStatus, StreamKind
from legation.xds.types import PUSH_ORDER

__all__ = ["Entry", "NodeStatus", "Snapshot", "TypeSnapshot", "XdsCache", "hash_versions"]

_MAX_DISCONNECTED_NODES = 256


def _digest(data: bytes) -> str:
    """Return a short (16 hex digits) content hash."""
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def hash_versions(items: Iterable[tuple[str, str]]) -> str:
    """Return a short hash of (name, version) pairs, in the order given (sort them first)."""
    h = hashlib.blake2b(digest_size=8)
    for name, version in items:
        h.update(name.encode())
        h.update(b"\0")
        h.update(version.encode())
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One resource, serialized once: its name, content version and packed ``Any``."""

    name: str
    """Resource name."""
    version: str
    """Content hash of the deterministic serialization."""
    any: Any
    """``google.protobuf.Any`` holding the serialized resource; never mutate it."""


@dataclass(frozen=True)
class TypeSnapshot:
    """All resources of one type at one cache version."""

    type_url: str
    """The xDS type URL."""
    version: str
    """Hash of the sorted (name, resource version) pairs."""
    entries: Mapping[str, Entry]
    """Resources by name."""


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of the whole desired state."""

    version: str
    """Global version: hash of the sorted (type URL, type version) pairs."""
    types: Mapping[str, TypeSnapshot]
    """Per type URL; always includes every type in ``PUSH_ORDER``."""

    def get(self, type_url: str) -> TypeSnapshot:
        """Return the resources of ``type_url`` (empty if the type is unknown)."""
        found = self.types.get(type_url)
        return found if found is not None else _empty_type(type_url)


def _empty_type(type_url: str) -> TypeSnapshot:
    """Return an empty TypeSnapshot."""
    return TypeSnapshot(type_url, hash_versions(()), {})


def _serialize(type_url: str, name: str, message: Any) -> bytes:
    """Serialize ``message`` deterministically; an ``Any`` of the right type is taken as is."""
    if isinstance(message, any_pb2.Any):
        if message.type_url != type_url:
            raise ValueError(f"{name}: Any holds {message.type_url}, expected {type_url}")
        return bytes(message.value)
    full_name = "type.googleapis.com/" + message.DESCRIPTOR.full_name
    if full_name != type_url:
        raise ValueError(f"{name}: message is {full_name}, expected {type_url}")
    return bytes(message.SerializeToString(deterministic=True))


def _entry(type_url: str, name: str, message: Any, version: str | None) -> Entry:
    """A new Entry; `version`, when known, spares serializing and hashing the message."""
    if version is not None and isinstance(message, any_pb2.Any):
        if message.type_url != type_url:
            raise ValueError(f"{name}: Any holds {message.type_url}, expected {type_url}")
        return Entry(name, version, message)  # the caller's Any, not a copy of its bytes
    data = _serialize(type_url, name, message)
    return Entry(name, version or _digest(data), any_pb2.Any(type_url=type_url, value=data))


def _build_type(
    type_url: str,
    resources: Mapping[str, Any],
    previous: TypeSnapshot,
    versions: Mapping[str, str] | None = None,
) -> TypeSnapshot:
    """Hash each resource, reusing the previous ``Entry`` (and its ``Any``) when unchanged.

    ``versions``: content versions the caller already knows, by name (not hashed again).
    """
    entries: dict[str, Entry] = {}
    known = versions or {}
    for name in sorted(resources):
        version = known.get(name)
        old = previous.entries.get(name)
        if version is not None and old is not None and old.version == version:
            entries[name] = old
            continue
        entry = _entry(type_url, name, resources[name], version)
        entries[name] = old if old is not None and old.version == entry.version else entry
    version = hash_versions((name, e.version) for name, e in entries.items())
    if version == previous.version:
        return previous
    return TypeSnapshot(type_url, version, entries)


def _build_snapshot(types: Mapping[str, TypeSnapshot]) -> Snapshot:
    """Compute the global version over all types."""
    ordered = dict(sorted(types.items()))
    return Snapshot(hash_versions((url, t.version) for url, t in ordered.items()), ordered)


class XdsCache:
    """The desired xDS state plus what every connected Envoy has received and accepted."""

    def __init__(self, token: str | None = None) -> None:
        """Start empty: every type in ``PUSH_ORDER`` with no resources.

        With a ``token``, only streams presenting it are admitted (:meth:`admits`);
        without one, every stream is.
        """
        self._snapshot = _build_snapshot({url: _empty_type(url) for url in PUSH_ORDER})
        self._listeners: list[Callable[[], None]] = []
        self._token = token
        self._stream_ids = itertools.count(1)
        self._nodes: dict[int, NodeRecord] = {}
        self.pushes: dict[str, int] = {}
        """Responses sent, by type URL."""
        self.acks: dict[str, int] = {}
        """ACKs received, by type URL."""
        self.nacks: dict[str, int] = {}
        """NACKs received, by type URL."""

    # -- desired state -------------------------------------------------------------

    @property
    def version(self) -> str:
        """The current global version."""
        return self._snapshot.version

    def snapshot(self) -> Snapshot:
        """Return the current immutable snapshot."""
        return self._snapshot

    def set_resources(self, resources: Mapping[str, Mapping[str, Any]]) -> str:
        """Replace the whole desired state and return the new global version.

        ``resources`` maps type URL → resource name → protobuf message (or a packed
        ``Any``). Types left out become empty. Identical content is a no-op: the same
        version is returned and no stream is woken. When ``resources`` has a
        ``versions`` attribute (type URL → name → content version, as the translator's
        ``by_type_url()`` gives), those resources are taken at that version, not hashed.
        """
        return self.publish(self.prepare(resources))

    def prepare(self, resources: Mapping[str, Mapping[str, Any]]) -> Snapshot:
        """Serialize and hash ``resources`` against the current snapshot, without
        publishing them.

        Reads only the (immutable) current snapshot, so it may run in a worker thread
        while the event loop serves streams; :meth:`publish` then swaps it in.
        """
        old = self._snapshot
        known: Mapping[str, Mapping[str, str]] = getattr(resources, "versions", {})
        types: dict[str, TypeSnapshot] = {}
        for url in sorted(set(PUSH_ORDER) | set(resources)):
            types[url] = _build_type(url, resources.get(url, {}), old.get(url), known.get(url))
        return _build_snapshot(types)

    def publish(self, new: Snapshot) -> str:
        """Make a prepared snapshot the desired state, wake the streams, return its version.

        Call from the event loop that serves the streams. An unchanged version is a no-op.
        """
        if new.version == self._snapshot.version:
            return new.version
        self._snapshot = new
        for listener in list(self._listeners):
            listener()
        return new.version

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the caller of set_resources) after each change."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    # -- node bookkeeping ----------------------------------------------------------

    def admits(self, token: str) -> bool:
        """May a stream presenting ``token`` be served (and counted)?"""
        # bytes: compare_digest refuses non-ASCII str, and the token comes from anyone
        return self._token is None or hmac.compare_digest(token.encode(), self._token.encode())

    def register_node(self, node_id: str, kind: StreamKind) -> NodeRecord:
        """Record a new stream for ``node_id``, with a record of its own.

        Closed streams of the same node id are forgotten (an Envoy that reconnects
        replaces its old record); open ones are kept apart, never overwritten.
        """
        for stream_id, old in list(self._nodes.items()):
            if old.node_id == node_id and not old.connected:
                del self._nodes[stream_id]
        record = NodeRecord(node_id, kind, stream_id=next(self._stream_ids))
        self._nodes[record.stream_id] = record
        self._prune()
        return record

    def unregister_node(self, record: NodeRecord) -> None:
        """Mark the stream behind ``record`` as closed."""
        record.connected = False

    def _prune(self) -> None:
        """Forget the oldest disconnected nodes beyond a fixed bound."""
        gone = [n for n, r in self._nodes.items() if not r.connected]
        for stream_id in gone[: max(0, len(gone) - _MAX_DISCONNECTED_NODES)]:
            del self._nodes[stream_id]

    def nodes(self) -> list[NodeStatus]:
        """Return a frozen status per known stream, sorted by node id then stream."""
        records = sorted(self._nodes.values(), key=lambda r: (r.node_id, r.stream_id))
        return [r.freeze() for r in records]

    def acked_everywhere(self, version: str | None = None) -> bool:
        """True when at least one node is connected and every connected node has ACKed
        ``version`` (default: the current version) of each type it subscribed to."""
        wanted = version if version is not None else self.version
        connected = [r for r in self._nodes.values() if r.connected]
        return bool(connected) and all(r.freeze().in_sync(wanted) for r in connected)

    def record_push(self, type_url: str) -> None:
        """Count one response sent."""
        self.pushes[type_url] = self.pushes.get(type_url, 0) + 1

    def record_ack(self, type_url: str) -> None:
        """Count one ACK."""
        self.acks[type_url] = self.acks.get(type_url, 0) + 1

    def record_nack(self, type_url: str) -> None:
        """Count one NACK."""
        self.nacks[type_url] = self.nacks.get(type_url, 0) + 1

    def counters(self) -> dict[str, dict[str, int]]:
        """Return copies of the push/ack/nack counters, keyed by type URL."""
        return {"pushes": dict(self.pushes), "acks": dict(self.acks), "nacks": dict(self.nacks)}
