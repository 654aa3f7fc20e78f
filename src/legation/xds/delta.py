"""Incremental ADS (``DeltaAggregatedResources``)."""

from __future__ import annotations

from typing import Any, ClassVar

from envoy.service.discovery.v3 import discovery_pb2

from legation.xds.cache import Snapshot, hash_versions
from legation.xds.status import StreamKind, TypeRecord
from legation.xds.stream import Step, Stream, select
from legation.xds.types import WILDCARD_TYPES


class DeltaStream(Stream):
    """One delta stream.

    Tracks, per type, the version of each resource Envoy holds (seeded from
    ``initial_resource_versions`` on reconnect) and sends only what differs, plus
    ``removed_resources``. A NACK restores the versions Envoy still holds; the rejected
    content is not sent again until the cache changes.
    """

    kind: ClassVar[StreamKind] = "delta"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """See :class:`Stream`."""
        super().__init__(*args, **kwargs)
        self._known: dict[str, dict[str, str]] = {}
        self._undo: dict[str, tuple[str, dict[str, str | None]]] = {}
        # per type: the subset version Envoy is known to hold completely (fast path)
        self._clean: dict[str, str] = {}

    def resend(self, type_url: str, names: set[str]) -> None:
        """Forget that Envoy holds ``names``, so they are sent again."""
        known = self._known.get(type_url, {})
        for name in names:
            known.pop(name, None)
        self._clean.pop(type_url, None)

    def handle(self, request: Any) -> None:
        """Apply a DeltaDiscoveryRequest: first-time setup, ACK/NACK, (un)subscriptions."""
        assert self.record is not None
        type_url = str(request.type_url)
        self._clean.pop(type_url, None)
        first = type_url not in self.record.types
        record = self.record.type(type_url)
        subscribe = list(request.resource_names_subscribe)
        if first:
            self._known[type_url] = dict(request.initial_resource_versions)
            record.wildcard = type_url in WILDCARD_TYPES and not subscribe
        known = self._known.setdefault(type_url, {})
        nonce = str(request.response_nonce)
        if nonce and nonce == record.sent_nonce and self.ack_or_nack(record, request):
            undo_nonce, previous = self._undo.pop(type_url, ("", {}))
            if undo_nonce == nonce:
                for name, version in previous.items():
                    if version is None:
                        known.pop(name, None)
                    else:
                        known[name] = version
        for name in subscribe:
            if name == "*":
                record.wildcard = True
            else:
                record.names.add(name)
                if not first:
                    known.pop(name, None)  # asked for explicitly: send it even if unchanged
        for name in request.resource_names_unsubscribe:
            if name == "*":
                record.wildcard = False
            else:
                record.names.discard(name)
                known.pop(name, None)

    def desired_version(self, type_url: str, record: TypeRecord, snapshot: Snapshot) -> str | None:
        """Version of the subscribed subset; None if there is nothing to hold yet."""
        chosen, version = select(record, snapshot)
        if not chosen and not record.wildcard and record.sent_nonce is None:
            return None
        return version

    def build(
        self, type_url: str, record: TypeRecord, snapshot: Snapshot, *, hold_removals: bool
    ) -> Step | None:
        """Return the added/changed resources and removals for this type, or None."""
        chosen, version = select(record, snapshot)
        if self._clean.get(type_url) == version:
            return None
        full_version = version
        known = self._known.setdefault(type_url, {})
        changed = [e for n, e in chosen.items() if known.get(n) != e.version]
        stale = sorted(n for n in known if n not in chosen)
        removed = [] if hold_removals else stale
        if hold_removals and stale:
            after = {**known, **{e.name: e.version for e in changed}}
            version = hash_versions(sorted(after.items()))
        complete = not stale or not hold_removals  # Envoy holds exactly ``chosen`` after
        # a wildcard subscription gets a first answer, even an empty one
        first_wildcard = record.wildcard and record.sent_nonce is None
        if not changed and not removed and not first_wildcard:
            if record.sent_nonce is None and chosen and complete:
                record.acked_version = version  # Envoy already holds it (reconnect)
            if complete:
                self._clean[type_url] = full_version
            return None
        if record.nack is not None and version == record.nack.version:
            if complete:
                self._clean[type_url] = full_version
            return None
        response = discovery_pb2.DeltaDiscoveryResponse(
            system_version_info=version, type_url=type_url
        )
        for entry in changed:
            resource = response.resources.add()
            resource.name = entry.name
            resource.version = entry.version
            resource.resource.CopyFrom(entry.any)
        response.removed_resources.extend(removed)

        def on_sent(nonce: str) -> None:
            previous: dict[str, str | None] = {e.name: known.get(e.name) for e in changed}
            previous.update({n: known.get(n) for n in removed})
            self._undo[type_url] = (nonce, previous)
            known.update({e.name: e.version for e in changed})
            for name in removed:
                known.pop(name, None)
            if complete:
                self._clean[type_url] = full_version

        updated = tuple(e for e in changed if known.get(e.name) is not None)
        return Step(type_url, version, response, on_sent, updated)
