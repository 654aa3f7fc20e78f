"""Per-stream xDS bookkeeping: what was sent, ACKed and NACKed, as frozen snapshots.

Records are per connection (``stream_id``), not per node id: a second stream that
claims the same node id gets a record of its own and cannot overwrite the first's.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

StreamKind = Literal["sotw", "delta"]
"""Which ADS flavour a node's stream uses: state of the world or incremental (delta)."""


@dataclass(frozen=True)
class NackInfo:
    """The last response of one type that Envoy rejected."""

    version: str
    """The version we sent and Envoy rejected."""
    nonce: str
    """The nonce of the rejected response."""
    message: str
    """Envoy's explanation (``error_detail.message``)."""
    timestamp: float
    """When the NACK arrived (``time.time()``)."""


@dataclass(frozen=True)
class TypeStatus:
    """What one node holds of one resource type."""

    type_url: str
    """The xDS type URL."""
    wildcard: bool
    """True when the node asked for every resource of this type."""
    names: tuple[str, ...]
    """Resource names the node subscribed to explicitly (sorted)."""
    sent_version: str | None
    """Version of the last response sent, or None."""
    sent_nonce: str | None
    """Nonce of the last response sent, or None."""
    acked_version: str | None
    """Last version the node ACKed (its config in force), or None."""
    desired_version: str | None
    """Version the node should hold for the current cache content (None: nothing to hold)."""
    nack: NackInfo | None
    """The last NACK of this type, or None if never rejected."""

    @property
    def in_sync(self) -> bool:
        """True when the node has ACKed exactly what the cache wants it to hold."""
        return self.acked_version == self.desired_version


@dataclass(frozen=True)
class NodeStatus:
    """A read-only snapshot of one xDS stream's state (one Envoy connection)."""

    node_id: str
    """``node.id`` from the first request."""
    connected: bool
    """True while its stream is open."""
    stream_kind: StreamKind
    """``"sotw"`` or ``"delta"``."""
    snapshot_version: str | None
    """Global cache version the stream last planned against."""
    connected_at: float
    """When the current (or last) stream opened (``time.time()``)."""
    types: Mapping[str, TypeStatus] = field(default_factory=dict)
    """Per type URL: what was sent, ACKed and NACKed."""
    stream_id: int = 0
    """Unique per stream within this process (connections are told apart by it)."""

    def in_sync(self, version: str) -> bool:
        """True when this node has ACKed global ``version`` for every type it subscribed to."""
        return self.snapshot_version == version and all(t.in_sync for t in self.types.values())


@dataclass
class TypeRecord:
    """Mutable per-type record kept by a stream; frozen into :class:`TypeStatus`."""

    type_url: str
    wildcard: bool = False
    names: set[str] = field(default_factory=set)
    sent_version: str | None = None
    sent_nonce: str | None = None
    acked_version: str | None = None
    desired_version: str | None = None
    nack: NackInfo | None = None

    def freeze(self) -> TypeStatus:
        """Return an immutable snapshot."""
        return TypeStatus(
            type_url=self.type_url,
            wildcard=self.wildcard,
            names=tuple(sorted(self.names)),
            sent_version=self.sent_version,
            sent_nonce=self.sent_nonce,
            acked_version=self.acked_version,
            desired_version=self.desired_version,
            nack=self.nack,
        )


@dataclass
class NodeRecord:
    """Mutable per-stream record of one node; frozen into :class:`NodeStatus`."""

    node_id: str
    stream_kind: StreamKind
    connected: bool = True
    snapshot_version: str | None = None
    connected_at: float = field(default_factory=time.time)
    types: dict[str, TypeRecord] = field(default_factory=dict)
    stream_id: int = 0

    def type(self, type_url: str) -> TypeRecord:
        """Return (creating if needed) the record for ``type_url``."""
        record = self.types.get(type_url)
        if record is None:
            record = self.types[type_url] = TypeRecord(type_url)
        return record

    def freeze(self) -> NodeStatus:
        """Return an immutable snapshot."""
        return NodeStatus(
            node_id=self.node_id,
            stream_id=self.stream_id,
            connected=self.connected,
            stream_kind=self.stream_kind,
            snapshot_version=self.snapshot_version,
            connected_at=self.connected_at,
            types={url: t.freeze() for url, t in sorted(self.types.items())},
        )
