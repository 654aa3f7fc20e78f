"""State-of-the-world ADS (``StreamAggregatedResources``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from envoy.service.discovery.v3 import discovery_pb2

from legation.xds.cache import Entry, Snapshot, hash_versions
from legation.xds.status import StreamKind, TypeRecord
from legation.xds.stream import Step, Stream, select
from legation.xds.types import WILDCARD_TYPES


class SotwStream(Stream):
    """One state-of-the-world stream.

    LDS and CDS responses carry every resource; EDS and RDS carry the requested names
    that exist. A request whose nonce is not the latest for its type is stale and
    ignored. A NACKed version is not sent again; the next cache change is.
    """

    kind: ClassVar[StreamKind] = "sotw"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """See :class:`Stream`."""
        super().__init__(*args, **kwargs)
        self._sent: dict[str, Mapping[str, Entry]] = {}
        self._force: dict[str, set[str]] = {}
        self._answered: dict[str, str] = {}

    def resend(self, type_url: str, names: set[str]) -> None:
        """Send ``type_url`` again if any of ``names`` is in the response, even unchanged."""
        self._force.setdefault(type_url, set()).update(names)

    def handle(self, request: Any) -> None:
        """Apply a DiscoveryRequest: ACK/NACK, then the (complete) list of names."""
        assert self.record is not None
        type_url = str(request.type_url)
        record = self.record.type(type_url)
        if request.response_nonce and record.sent_nonce is not None:
            if request.response_nonce != record.sent_nonce:
                return  # stale: a newer response is on its way, Envoy will answer that
            if self._answered.get(type_url) == request.response_nonce:
                # asked again after answering this nonce: a new watch (e.g. a cluster
                # re-warming) waits for a response even if nothing changed
                self.resend(type_url, set(request.resource_names))
            else:
                self._answered[type_url] = str(request.response_nonce)
                self.ack_or_nack(record, request)
        names = set(request.resource_names)
        record.wildcard = "*" in names or (not names and type_url in WILDCARD_TYPES)
        record.names = names - {"*"}

    def desired_version(self, type_url: str, record: TypeRecord, snapshot: Snapshot) -> str | None:
        """Version of the subscribed subset; None if there is nothing to hold yet."""
        chosen, version = select(record, snapshot)
        if not chosen and not record.wildcard and type_url not in self._sent:
            return None
        return version

    def build(
        self, type_url: str, record: TypeRecord, snapshot: Snapshot, *, hold_removals: bool
    ) -> Step | None:
        """Return a full response for this type if its content differs from what was sent."""
        chosen, version = select(record, snapshot)
        force = self._force.get(type_url)
        forced = bool(force) and any(n in chosen for n in force or ())
        if version == record.sent_version and not forced:
            return None  # Envoy was sent exactly this content (so no removal is pending)
        sent = self._sent.get(type_url)
        if hold_removals and sent:
            kept = {n: e for n, e in sent.items() if n not in chosen}
            if kept:
                chosen = dict(sorted({**chosen, **kept}.items()))
                version = hash_versions((n, e.version) for n, e in chosen.items())
        if sent is None and not chosen and not record.wildcard:
            return None  # nothing of what Envoy asked for exists yet
        if version == record.sent_version and not forced:
            return None
        if record.nack is not None and version == record.nack.version:
            return None  # Envoy rejected exactly this; wait for the next change
        response = discovery_pb2.DiscoveryResponse(version_info=version, type_url=type_url)
        response.resources.extend(e.any for e in chosen.values())

        def on_sent(nonce: str) -> None:
            self._sent[type_url] = chosen
            self._force.pop(type_url, None)

        previous = sent or {}
        updated = tuple(
            e for n, e in chosen.items() if n in previous and previous[n].version != e.version
        )
        return Step(type_url, version, response, on_sent, updated)
