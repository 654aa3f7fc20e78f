"""Leader election on a `coordination.k8s.io/v1` Lease: one replica writes back.

Every replica watches and serves traffic; only the holder of the Lease writes Ingress
status, resource status and Events, so replicas never race on them. The protocol is
client-go's: the holder renews `spec.renewTime` every `retry_s`; another replica takes
the Lease over once it has seen no renewal for `lease_s` (measured on its own clock
from when it last saw the record change, so clock skew between nodes does not matter);
every write is conditional on the `resourceVersion` read, so two replicas never both
win. A holder that has not renewed for `renew_deadline_s` stops writing at once, before
anyone else can take over (`renew_deadline_s < lease_s`).

Timing (the defaults): a leader that dies is replaced within `lease_s + retry_s` of its
last renewal, plus at most `retry_s` for the follower to notice the last change: about
10 s, inside the 15 s promised. A leader that stops cleanly releases the Lease, and a
follower takes it at its next try (within `retry_s`).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError
from legation.sources.kubernetes.permissions import Permission

log = logging.getLogger(__name__)

LEASES_GROUP = "coordination.k8s.io"
LEASE_VERBS = ("get", "create", "update")


@dataclass(frozen=True)
class LeaderOptions:
    """Which Lease to hold, and how fast to renew and take over (see the module docstring)."""

    name: str = "legation-leader"
    namespace: str = "legation"
    identity: str = ""
    """Who we are in `spec.holderIdentity`; empty: `default_identity()`."""
    lease_s: float = 8.0
    renew_deadline_s: float = 5.0
    retry_s: float = 1.0


def default_identity() -> str:
    """The pod name (`POD_NAME`, from the downward API), else `hostname-pid`."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


def default_namespace() -> str:
    """`POD_NAMESPACE` (from the downward API), else `legation`."""
    return os.environ.get("POD_NAMESPACE") or "legation"


def lease_permissions(namespace: str) -> list[Permission]:
    """The verbs the elector uses on Leases in its namespace."""
    return [Permission(verb, LEASES_GROUP, "leases", namespace=namespace) for verb in LEASE_VERBS]


def micro_time(when: datetime.datetime | None = None) -> str:
    """A Kubernetes MicroTime (`2026-01-02T03:04:05.000000Z`)."""
    when = when or datetime.datetime.now(datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Holds, renews and releases the Lease; `is_leader` says whether we may write now."""

    def __init__(
        self,
        api: KubeApi,
        options: LeaderOptions,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`on_change(leading)` is called each time leadership is won or lost."""
        self.api = api
        self.options = options
        self.identity = options.identity or default_identity()
        self.on_change = on_change
        self._clock = clock
        self._leading = False
        self._renewed_at = -1e9
        """When we last renewed successfully (our clock)."""
        self._seen: tuple[str, str] | None = None
        """(holder, renewTime) of the record last seen, and when it was first seen."""
        self._seen_at = 0.0
        self.holder = ""
        """The current holder, as last read ("" unknown or none)."""
        self.transitions = 0
        self._last_error = ""

    @property
    def path(self) -> str:
        """The Lease's URL path."""
        o = self.options
        return f"/apis/{LEASES_GROUP}/v1/namespaces/{o.namespace}/leases/{o.name}"

    @property
    def is_leader(self) -> bool:
        """We hold the Lease and renewed it within the renew deadline (checked per write)."""
        fresh = self._clock() - self._renewed_at < self.options.renew_deadline_s
        return self._leading and fresh

    async def run(self) -> None:
        """Try to acquire or renew every `retry_s`, until cancelled (then release)."""
        try:
            while True:
                await self.try_once()
                await asyncio.sleep(self.options.retry_s)
        finally:
            if self._leading:
                await asyncio.shield(self.release())

    async def try_once(self) -> bool:
        """One acquire-or-renew attempt; returns whether we lead afterwards."""
        try:
            # a hung request must not hold up the next attempt past the renew deadline
            won = await asyncio.wait_for(self._attempt(), self.options.renew_deadline_s)
        except (KubeApiError, KubeConnectionError, TimeoutError) as exc:
            self._log_failure(exc)
            won = self._leading and self.is_leader  # keep it until the renew deadline
        else:
            self._last_error = ""
        self._set_leading(won)
        return won

    async def release(self) -> None:
        """Give the Lease up (stopping cleanly), so another replica takes over at once."""
        self._set_leading(False)
        try:
            lease = await self.api.get(self.path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            spec.update({"holderIdentity": "", "leaseDurationSeconds": 1})
            await self.api.put(self.path, {**lease, "spec": spec})
            log.info("leader election: released Lease %s", self._name())
        except (KubeApiError, KubeConnectionError) as exc:
            log.warning("leader election: cannot release Lease %s: %s", self._name(), exc)

    # --- one attempt ------------------------------------------------------------------
    async def _attempt(self) -> bool:
        try:
            lease = await self.api.get(self.path)
        except KubeApiError as exc:
            if exc.status != 404:
                raise
            return await self._create()
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        self.holder = holder
        record = (holder, str(spec.get("renewTime") or ""))
        now = self._clock()
        if record != self._seen:
            self._seen, self._seen_at = record, now
        duration = float(spec.get("leaseDurationSeconds") or self.options.lease_s)
        if holder and holder != self.identity and now - self._seen_at < duration:
            return False
        return await self._update(lease, spec, holder)

    def _spec(self, acquired: str, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": round(self.options.lease_s),
            "acquireTime": acquired,
            "renewTime": micro_time(),
            "leaseTransitions": transitions,
        }

    async def _create(self) -> bool:
        body = {
            "apiVersion": f"{LEASES_GROUP}/v1",
            "kind": "Lease",
            "metadata": {"name": self.options.name, "namespace": self.options.namespace},
            "spec": self._spec(micro_time(), 0),
        }
        started = self._clock()
        try:
            await self.api.post(self.path.rsplit("/", 1)[0], body)
        except KubeApiError as exc:
            if exc.status == 409:  # another replica created it first
                return False
            raise
        self._renewed(started)
        return True

    async def _update(self, lease: dict[str, Any], spec: dict[str, Any], holder: str) -> bool:
        transitions = int(spec.get("leaseTransitions") or 0)
        acquired = str(spec.get("acquireTime") or "")
        if holder != self.identity:
            transitions, acquired = transitions + 1, micro_time()
        started = self._clock()
        try:
            await self.api.put(self.path, {**lease, "spec": self._spec(acquired, transitions)})
        except KubeApiError as exc:
            if exc.status == 409:  # changed since we read it: someone else renewed or won
                return False
            raise
        self.transitions = transitions
        self._renewed(started)
        return True

    def _renewed(self, started: float) -> None:
        # The deadline counts from before the request: it may have sat in a queue.
        self._renewed_at = started
        self.holder = self.identity

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            log.info("leader election: %s leads now (Lease %s)", self.identity, self._name())
        else:
            log.warning("leader election: %s is no longer the leader", self.identity)
        if self.on_change is not None:
            self.on_change(leading)

    def _log_failure(self, exc: Exception) -> None:
        """Once per distinct error (it is retried every `retry_s`), with a hint."""
        text = str(exc) or type(exc).__name__
        if text == self._last_error:
            return
        self._last_error = text
        hint = ""
        if isinstance(exc, KubeApiError) and exc.status == 404:
            hint = (
                f" (does namespace {self.options.namespace} exist? Create it "
                "(deploy/namespace.yaml), or pass --lease-namespace or --no-leader-election)"
            )
        elif isinstance(exc, KubeApiError) and exc.status == 403:
            hint = " (needs get, create, update on leases: see deploy/rbac.yaml)"
        log.error(
            "leader election: cannot read or write Lease %s%s; unless it already leads, "
            "this replica writes no status and no Events: %s",
            self._name(),
            hint,
            text,
        )

    def _name(self) -> str:
        return f"{self.options.namespace}/{self.options.name}"
