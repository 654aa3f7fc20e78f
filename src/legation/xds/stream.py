"""The loop shared by state-of-the-world and delta ADS streams.

One stream serves one Envoy. A reader task queues its requests; the loop applies them
(subscriptions, ACK/NACK), then asks the flavour-specific planner for the next response.
Responses go out one type at a time in ``PUSH_ORDER``; after each, the loop waits (up to
``ack_timeout``) for Envoy's ACK or NACK before sending the next type, so clusters exist
before the routes that refer to them. Envoy holds a CDS (LDS) ACK until the clusters
(listeners) warm, so EDS (RDS) may go out meanwhile; an updated EDS cluster gets its
ClusterLoadAssignment again, since it cannot warm without one. Removing clusters is held
back until every other type is up to date, and secrets after them (make-before-break).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from envoy.config.cluster.v3 import cluster_pb2

from legation.xds.cache import Entry, Snapshot, XdsCache, hash_versions
from legation.xds.status import NackInfo, NodeRecord, StreamKind, TypeRecord
from legation.xds.types import (
    CLUSTER,
    ENDPOINT,
    HELD_REMOVALS,
    NODE_TOKEN_KEY,
    PUSH_ORDER,
    WARMING_DEPENDENCIES,
    short_name,
)

log = logging.getLogger("legation.xds")

Writer = Callable[[Any], Awaitable[None]]
"""Sends one response on the gRPC stream (``context.write``)."""


@dataclass
class Step:
    """One response ready to send, and what to remember once it is sent."""

    type_url: str
    """Type of the response."""
    version: str
    """Version the response carries (what Envoy holds after accepting it)."""
    response: Any
    """A DiscoveryResponse or DeltaDiscoveryResponse without its nonce."""
    on_sent: Callable[[str], None]
    """Called with the nonce once the response is written."""
    updated: tuple[Entry, ...] = ()
    """Resources that replace a different version Envoy held (they re-warm)."""


class StreamRefused(Exception):
    """The stream's first request did not present the run's token."""


@dataclass
class _Awaiting:
    """The response whose ACK/NACK we wait for before sending the next one."""

    type_url: str
    nonce: str
    deadline: float


class Stream(abc.ABC):
    """Base of one ADS stream: request queue, wake-ups, ACK bookkeeping and push order."""

    kind: ClassVar[StreamKind]

    def __init__(self, cache: XdsCache, ack_timeout: float = 2.0) -> None:
        """Serve resources from ``cache``; wait at most ``ack_timeout`` s per ACK."""
        self._cache = cache
        self._ack_timeout = ack_timeout
        self._wakeup = asyncio.Event()
        self._requests: deque[Any] = deque()
        self._closed = False
        self._nonce = 0
        self._awaiting: dict[str, _Awaiting] = {}
        self.record: NodeRecord | None = None
        """This stream's node record (None until the first request arrives)."""

    async def run(self, requests: AsyncIterator[Any], write: Writer) -> None:
        """Serve until Envoy closes the stream (or the task is cancelled)."""
        reader = asyncio.create_task(self._read(requests))
        self._cache.add_listener(self._wakeup.set)
        try:
            await self._loop(write)
        finally:
            self._cache.remove_listener(self._wakeup.set)
            reader.cancel()
            if self.record is not None:
                self._cache.unregister_node(self.record)
                log.info("xDS %s stream from %s closed", self.kind, self.record.node_id)

    async def _read(self, requests: AsyncIterator[Any]) -> None:
        """Queue every request and wake the loop; note the end of the stream."""
        try:
            async for request in requests:
                self._requests.append(request)
                self._wakeup.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the peer went away; the loop ends the stream
            log.debug("xDS %s stream read ended: %r", self.kind, exc)
        finally:
            self._closed = True
            self._wakeup.set()

    async def _loop(self, write: Writer) -> None:
        """Apply requests, send the next planned response, sleep until something happens."""
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            while self._requests:
                request = self._requests.popleft()
                if self.record is None:
                    self.record = self._register(request)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("xDS: request from %s: %s", self.record.node_id, describe(request))
                self.handle(request)
            if self._closed:
                return
            if self.record is None:
                await self._wakeup.wait()
                continue
            snapshot = self._cache.snapshot()
            self._update_desired(self.record, snapshot)
            now = loop.time()
            self._expire(now)
            step = self._plan(self.record, snapshot)
            if step is not None:
                await self._send(step, write, now)
                continue
            deadlines = [a.deadline for a in self._awaiting.values()]
            timeout = min(deadlines) - now if deadlines else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    def _register(self, request: Any) -> NodeRecord:
        """Admit the stream by its first request's token; raise StreamRefused if not."""
        node_id = str(request.node.id) or "unknown"
        if not self._cache.admits(node_token(request.node)):
            raise StreamRefused(f"xDS stream from node {node_id!r} without this run's token")
        record = self._cache.register_node(node_id, self.kind)
        log.info("xDS %s stream %d from %s opened", self.kind, record.stream_id, node_id)
        return record

    def _expire(self, now: float) -> None:
        """Stop waiting for ACKs that are overdue."""
        assert self.record is not None
        for type_url, awaiting in list(self._awaiting.items()):
            if now >= awaiting.deadline:
                log.warning(
                    "xDS: no ACK from %s for %s nonce %s within %.1fs; going on",
                    self.record.node_id,
                    short_name(type_url),
                    awaiting.nonce,
                    self._ack_timeout,
                )
                del self._awaiting[type_url]

    async def _send(self, step: Step, write: Writer, now: float) -> None:
        """Stamp a fresh nonce on ``step``, write it and remember it as awaiting an ACK."""
        assert self.record is not None
        self._nonce += 1
        nonce = str(self._nonce)
        step.response.nonce = nonce
        await write(step.response)
        step.on_sent(nonce)
        record = self.record.type(step.type_url)
        record.sent_version = step.version
        record.sent_nonce = nonce
        self._cache.record_push(step.type_url)
        self._awaiting[step.type_url] = _Awaiting(step.type_url, nonce, now + self._ack_timeout)
        if step.type_url == CLUSTER and step.updated:
            names = _eds_names(step.updated)
            if names:
                self.resend(ENDPOINT, names)
        log.debug(
            "xDS: sent %s version %s nonce %s to %s",
            short_name(step.type_url),
            step.version,
            nonce,
            self.record.node_id,
        )

    def _allowed(self, type_url: str) -> bool:
        """May ``type_url`` be sent now? Not while its own or an unrelated ACK is due.

        While a CDS (LDS) response warms, Envoy holds its ACK until the EDS (RDS) it
        needs arrives, so those may go out meanwhile.
        """
        return all(
            type_url != pending and type_url in WARMING_DEPENDENCIES.get(pending, ())
            for pending in self._awaiting
        )

    def _plan(self, node: NodeRecord, snapshot: Snapshot) -> Step | None:
        """Pick the next response: types in push order, cluster then secret removals last.

        A type with work that must wait for an ACK blocks every later type (except the
        warming dependencies of what is pending), so order is kept across updates.
        """
        extra = sorted(t for t in node.types if t not in PUSH_ORDER)
        warming = {t for pending in self._awaiting for t in WARMING_DEPENDENCIES.get(pending, ())}
        blocked = False
        for type_url in (*PUSH_ORDER, *extra):
            record = node.types.get(type_url)
            if record is None or (blocked and type_url not in warming):
                continue
            held = type_url in HELD_REMOVALS
            step = self.build(type_url, record, snapshot, hold_removals=held)
            if step is None:
                continue
            if self._allowed(type_url):
                return step
            blocked = True
        if blocked:
            return None
        for type_url in HELD_REMOVALS:
            record = node.types.get(type_url)
            if record is None:
                continue
            if not self._allowed(type_url):
                return None
            step = self.build(type_url, record, snapshot, hold_removals=False)
            if step is not None:
                return step
        return None

    def _update_desired(self, node: NodeRecord, snapshot: Snapshot) -> None:
        """Record, per subscribed type, the version the node should end up holding."""
        node.snapshot_version = snapshot.version
        for type_url, record in node.types.items():
            record.desired_version = self.desired_version(type_url, record, snapshot)

    def ack_or_nack(self, record: TypeRecord, request: Any) -> bool:
        """Book an ACK or NACK for the current nonce of ``record``; True for a NACK."""
        assert self.record is not None
        nonce = str(request.response_nonce)
        awaiting = self._awaiting.get(record.type_url)
        if awaiting is not None and awaiting.nonce == nonce:
            del self._awaiting[record.type_url]
        if request.HasField("error_detail"):
            message = str(request.error_detail.message)
            record.nack = NackInfo(record.sent_version or "", nonce, message, time.time())
            self._cache.record_nack(record.type_url)
            log.warning(
                "xDS: %s rejected %s version %s: %s",
                self.record.node_id,
                short_name(record.type_url),
                record.sent_version,
                message,
            )
            return True
        record.acked_version = record.sent_version
        self._cache.record_ack(record.type_url)
        return False

    @abc.abstractmethod
    def resend(self, type_url: str, names: set[str]) -> None:
        """Send ``names`` of ``type_url`` again at the next opportunity, even if unchanged."""

    @abc.abstractmethod
    def handle(self, request: Any) -> None:
        """Apply one request: subscriptions, ACK or NACK."""

    @abc.abstractmethod
    def build(
        self, type_url: str, record: TypeRecord, snapshot: Snapshot, *, hold_removals: bool
    ) -> Step | None:
        """Return the response this type needs now, or None if the node is up to date."""

    @abc.abstractmethod
    def desired_version(self, type_url: str, record: TypeRecord, snapshot: Snapshot) -> str | None:
        """Return the version the node should hold for ``type_url`` (None: nothing)."""


def select(record: TypeRecord, snapshot: Snapshot) -> tuple[Mapping[str, Entry], str]:
    """Return the entries ``record`` subscribes to (sorted by name; do not mutate) and
    their version."""
    resources = snapshot.get(record.type_url)
    if record.wildcard:
        return resources.entries, resources.version
    chosen = {n: resources.entries[n] for n in sorted(record.names) if n in resources.entries}
    return chosen, hash_versions((n, e.version) for n, e in chosen.items())


def node_token(node: Any) -> str:
    """The token an xDS client's ``node`` presents in its metadata ("" when none)."""
    value = node.metadata.fields.get(NODE_TOKEN_KEY)
    return str(value.string_value) if value is not None else ""


def describe(request: Any) -> str:
    """One-line summary of a (Delta)DiscoveryRequest for debug logs."""
    parts = [short_name(str(request.type_url))]
    for field, value in request.ListFields():
        if field.name in ("node", "type_url"):
            continue
        text = str(value).replace("\n", " ").strip()
        parts.append(f"{field.name}={text[:200]}")
    return " ".join(parts)


def _eds_names(clusters: tuple[Entry, ...]) -> set[str]:
    """EDS resource names of the EDS clusters among ``clusters``."""
    names: set[str] = set()
    for entry in clusters:
        cluster = cluster_pb2.Cluster.FromString(entry.any.value)
        if cluster.WhichOneof("cluster_discovery_type") == "type" and (
            cluster.type == cluster_pb2.Cluster.EDS
        ):
            names.add(cluster.eds_cluster_config.service_name or cluster.name)
    return names
