"""`KubernetesSource`: informers on every watched kind, turned into debounced Snapshots.

Each object becomes a `RawObject` located at `namespace/name`; an object whose
`resourceVersion` has not changed keeps its RawObject, so the pipeline's per-object
caches make a change to one Mapping among thousands cost one parse and one compile.
The source also writes back: Events for configuration errors, the `Accepted` condition
of getambassador.io resources, and Ingress status; with several replicas only the holder
of the leader Lease does (leader.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.sources.base import SourceError
from legation.sources.kubernetes.backoff import Backoff
from legation.sources.kubernetes.client import (
    KubeApi,
    KubeApiError,
    KubeConnectionError,
    cancel_quietly,
    connect,
)
from legation.sources.kubernetes.discovery import discover_ambassador_types, missing_kinds
from legation.sources.kubernetes.events import EventRecorder, ObjectRef, events_for
from legation.sources.kubernetes.informer import (
    EventType,
    Informer,
    InformerEvent,
    InformerOptions,
)
from legation.sources.kubernetes.ingress_status import IngressStatusWriter
from legation.sources.kubernetes.leader import (
    LeaderElector,
    LeaderOptions,
    default_identity,
    default_namespace,
    lease_permissions,
)
from legation.sources.kubernetes.limiter_configmap import LimiterConfigMap
from legation.sources.kubernetes.options import KubernetesOptions
from legation.sources.kubernetes.permissions import (
    Permission,
    missing_permissions,
    read_permissions,
)
from legation.sources.kubernetes.resource_status import ResourceStatusWriter, errors_by_uid
from legation.sources.kubernetes.resources import (
    AMBASSADOR_GROUP,
    AMBASSADOR_KINDS,
    BUILTIN_TYPES,
    EVENTS,
    INGRESS_CLASSES,
    INGRESSES,
    SECRETS,
    ResourceType,
    ambassador_type,
    resource_version,
)
from legation.sources.kubernetes.secret_refs import all_secret_references
from legation.sources.kubernetes.secret_watch import SecretWatches
from legation.sources.snapshot import Snapshot

log = logging.getLogger(__name__)

T = TypeVar("T")

_RawIndex = dict[tuple[str, str], tuple[str, RawObject, ObjectRef]]
"""(kind, key) → (resourceVersion, RawObject, ObjectRef) of a snapshot's objects."""

SYNC_LOG_INTERVAL_S = 10.0
SECRET_SYNC_TIMEOUT_S = 5.0
LIMITER_RETRY_S = 1.0
"""How soon a failed write of the limiter ConfigMap is tried again."""
"""How long a snapshot waits for a newly referenced Secret's first list."""
STATUS_RESYNC_S = 60.0
"""How often resource status is compared again without any change."""
REFERRING_KINDS = frozenset({"Host", "TLSContext", "Ingress", "Service", "Filter"})
"""Kinds whose objects can name Secrets (Services through their annotation)."""


def _ref(obj: dict[str, Any], rtype: ResourceType) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(
        api_version=str(obj.get("apiVersion") or rtype.api_version),
        kind=str(obj.get("kind") or rtype.kind),
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        uid=str(meta.get("uid") or ""),
        resource_version=resource_version(obj),
    )


def _config_view(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what never changes the configuration: its status and version."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def status_only(event: InformerEvent) -> bool:
    """Whether a change touched only the status (e.g. the `Accepted` condition we wrote)."""
    previous = event.previous
    if event.type is not EventType.MODIFIED or previous is None:
        return False
    return _config_view(previous) == _config_view(event.object)


def _location(ref: ObjectRef) -> str:
    return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name


class KubernetesSource:
    """Watches an API server and hands out Snapshots (see the module docstring)."""

    def __init__(self, options: KubernetesOptions, api: KubeApi | None = None) -> None:
        """Nothing happens until `initial()`; `api` replaces the real client in tests."""
        self.options = options
        self._api = api
        self.informers: dict[str, Informer] = {}
        """Keyed by kind."""
        self.missing_crds: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._dirty = asyncio.Event()
        self._report_wakeup = asyncio.Event()
        self._status_wakeup = asyncio.Event()
        self._conditions_wakeup = asyncio.Event()
        self._built: tuple[_RawIndex, dict[str, list[ObjectRef]]] | None = None
        """The objects and refs of the snapshot whose build was reported last: resource
        status pairs problems with exactly the objects they were found in."""
        self.elector: LeaderElector | None = None
        """The leader election, when on (set once connected)."""
        self._problems: Sequence[ConfigProblem] = ()
        self._limiter_files: Mapping[str, str] | None = None
        self._limiter_wakeup = asyncio.Event()
        self._raw: _RawIndex = {}
        self._refs: dict[str, list[ObjectRef]] = {}
        self.secrets: SecretWatches | None = None
        """The by-name Secret informers (set once connected)."""
        self._secret_refs_stale = True
        self.snapshots = 0

    # --- ConfigSource --------------------------------------------------------------
    @property
    def description(self) -> str:
        """`kubernetes URL (scope, labels)`."""
        server = self._api.server if self._api is not None else "(not connected)"
        scope = (
            f"namespace {self.options.namespace}" if self.options.namespace else "all namespaces"
        )
        if self.options.label_selector:
            scope += f", labels {self.options.label_selector}"
        return f"kubernetes {server} ({scope})"

    @property
    def api(self) -> KubeApi:
        """The connected client."""
        if self._api is None:
            raise RuntimeError("KubernetesSource is not started")
        return self._api

    async def initial(self) -> Snapshot:
        """Connect, check permissions, start the informers and wait until all have listed."""
        if self._api is None:
            try:
                self._api = await connect(self.options.kubeconfig)
            except ValueError as exc:
                raise SourceError(str(exc)) from exc
        await self._preflight()
        found = await self._retrying(lambda: discover_ambassador_types(self.api), "discover CRDs")
        for rtype in BUILTIN_TYPES:
            self._start_informer(rtype)
        for rtype in found.values():
            self._start_informer(rtype)
        self.missing_crds = missing_kinds(found)
        if self.missing_crds:
            log.warning(
                "Ambassador CRDs not installed for %s: those kinds are not watched "
                "(looking again every %.0f s)",
                ", ".join(self.missing_crds),
                self.options.rediscover_s,
            )
            self._spawn(self._rediscover(), "rediscover-crds")
        await self._wait_synced()
        self.secrets = SecretWatches(self.api, self.options.namespace, self._on_secret)
        await self._sync_secrets()
        self._start_writers()
        self._dirty.clear()
        return self.snapshot()

    async def updates(self) -> AsyncIterator[Snapshot]:
        """A snapshot after each batch of changes (debounced, see `KubernetesOptions`)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            deadline = loop.time() + self.options.debounce_ms / 1000
            while True:  # hold off while changes keep coming, up to the deadline
                self._dirty.clear()
                wait = min(self.options.quiet_ms / 1000, deadline - loop.time())
                if wait <= 0:
                    break
                try:
                    await asyncio.wait_for(self._dirty.wait(), wait)
                except TimeoutError:
                    break
            self._dirty.clear()
            await self._sync_secrets()
            yield self.snapshot()

    def report(self, problems: Sequence[ConfigProblem]) -> None:
        """Queue the latest build's problems for the Event and status writers."""
        self._problems = problems
        # the gateway builds one snapshot at a time and reports before asking for the
        # next, so the objects of the last snapshot are those these problems are about
        self._built = (self._raw, self._refs)
        self._report_wakeup.set()
        self._conditions_wakeup.set()

    def leading(self) -> bool:
        """Whether this replica may write back now (always, without leader election)."""
        return self.elector is None or self.elector.is_leader

    def role(self) -> str:
        """`leader`, `follower`, or `single` (no leader election), for the diagnostics."""
        if self.elector is None:
            return "single"
        return "leader" if self.elector.is_leader else "follower"

    def publish_limiter(self, files: Mapping[str, str]) -> None:
        """Queue the limiter's documents for the ConfigMap writer (if one is asked for)."""
        if self.options.limiter_configmap and files != self._limiter_files:
            self._limiter_files = dict(files)
            self._limiter_wakeup.set()

    async def close(self) -> None:
        """Stop every informer and writer, and close the connection."""
        for task in self._tasks:
            await cancel_quietly(task)
        self._tasks.clear()
        if self.secrets is not None:
            await self.secrets.close()
        if self._api is not None:
            await self._api.close()

    # --- snapshots -------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Every watched object now, reusing the RawObject of each unchanged one."""
        objects: list[RawObject] = []
        refs: dict[str, list[ObjectRef]] = {}
        fresh: dict[tuple[str, str], tuple[str, RawObject, ObjectRef]] = {}
        for kind, key, obj in self._watched_objects():
            rtype = SECRETS if kind == SECRETS.kind else self.informers[kind].rtype
            rv = resource_version(obj)
            ident = (kind, key)
            hit = self._raw.get(ident)
            if hit is None or hit[0] != rv or not rv:
                ref = _ref(obj, rtype)
                hit = (rv, RawObject(obj, Source(_location(ref))), ref)
            fresh[ident] = hit
            objects.append(hit[1])
            refs.setdefault(hit[1].source.location, []).append(hit[2])
        self._raw, self._refs = fresh, refs
        self.snapshots += 1
        problems = (
            tuple(
                ConfigProblem(
                    Source("kubernetes"),
                    None,
                    f"CRD {ambassador_type(kind, 'v3alpha1').qualified} is not installed: "
                    f"{kind} resources are not watched",
                    severity=Severity.NOTICE,
                )
                for kind in self.missing_crds
            )
            + self._secret_problems()
        )
        return Snapshot(tuple(objects), problems, origin=self.description)

    def _watched_objects(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(kind, key, object) of every cached object, Secrets (watched by name) included."""
        out = [
            (kind, key, self.informers[kind].cache[key])
            for kind in sorted(self.informers)
            for key in sorted(self.informers[kind].cache)
        ]
        if self.secrets is not None:
            out.extend((SECRETS.kind, key, obj) for key, obj in self.secrets.objects())
        return out

    def _secret_problems(self) -> tuple[ConfigProblem, ...]:
        """Named Secrets that cannot be read, or lie outside the watched namespace."""
        if self.secrets is None:
            return ()
        unreadable = [
            ConfigProblem(Source(f"{ns}/{name}"), None, f"cannot read Secret {ns}/{name}: {err}")
            for (ns, name), err in self.secrets.failing()
        ]
        outside = [
            ConfigProblem(
                Source(f"{ns}/{name}"),
                None,
                f"Secret {ns}/{name} is outside the watched namespace "
                f"{self.options.namespace}: it is not read",
            )
            for ns, name in sorted(self.secrets.out_of_scope)
        ]
        return tuple(unreadable + outside)

    # --- Secrets, by name --------------------------------------------------------------
    def _referring_objects(self) -> list[dict[str, Any]]:
        return [
            obj
            for kind, informer in self.informers.items()
            if kind in REFERRING_KINDS
            for obj in informer.cache.values()
        ]

    async def _sync_secrets(self) -> None:
        """Watch exactly the Secrets named now; wait (briefly) for new ones' first list."""
        if self.secrets is None or not self._secret_refs_stale:
            return
        self._secret_refs_stale = False
        started = await self.secrets.sync(all_secret_references(self._referring_objects()))
        pending = await self.secrets.wait_synced(started, SECRET_SYNC_TIMEOUT_S)
        for informer in pending:
            log.warning(
                "Secret %s/%s not listed yet%s",
                informer.options.namespace,
                (informer.options.field_selector or "").removeprefix("metadata.name="),
                f": {informer.last_error}" if informer.last_error else "",
            )
        self._dirty.clear()  # the new Secrets' ADDED events are in this snapshot

    def _on_secret(self, event: InformerEvent) -> None:
        log.debug("Secret %s %s", event.key, event.type.value)
        self._dirty.set()

    # --- informers -------------------------------------------------------------------
    def _start_informer(self, rtype: ResourceType) -> None:
        options = InformerOptions(
            namespace=self.options.namespace,
            label_selector=self.options.label_selector,
            backoff=Backoff(),
        )
        informer = Informer(self.api, rtype, options, handler=lambda e: self._on_event(rtype, e))
        self.informers[rtype.kind] = informer
        self._spawn(informer.run(), f"informer-{rtype.qualified}")

    def _on_event(self, rtype: ResourceType, event: InformerEvent) -> None:
        log.debug("%s %s %s", rtype.kind, event.key, event.type.value)
        if rtype.group == AMBASSADOR_GROUP and status_only(event):
            return  # our own status writes must not trigger rebuilds (10,000 of them)
        self._dirty.set()
        if rtype.kind in REFERRING_KINDS:
            self._secret_refs_stale = True
        if rtype in (INGRESSES, INGRESS_CLASSES):
            self._status_wakeup.set()

    async def _wait_synced(self) -> None:
        """Wait until every informer has listed once, saying which ones are still waiting."""
        while True:
            pending = [i for i in self.informers.values() if not i.synced.is_set()]
            if not pending:
                return
            waits = [asyncio.ensure_future(i.synced.wait()) for i in pending]
            done, rest = await asyncio.wait(waits, timeout=SYNC_LOG_INTERVAL_S)
            for waiter in rest:
                waiter.cancel()
            if not done:
                for informer in pending:
                    log.warning(
                        "still waiting for the first list of %s%s",
                        informer.rtype.qualified,
                        f": {informer.last_error}" if informer.last_error else "",
                    )

    async def _rediscover(self) -> None:
        """Look for missing CRDs now and then; watch each kind as soon as its CRD appears."""
        while self.missing_crds:
            await asyncio.sleep(self.options.rediscover_s)
            try:
                found = await discover_ambassador_types(self.api)
            except (KubeApiError, KubeConnectionError) as exc:
                log.warning("cannot discover Ambassador CRDs: %s", exc)
                continue
            for kind, rtype in sorted(found.items()):
                if kind not in self.informers:
                    log.info("CRD %s is installed now: watching %s", rtype.qualified, kind)
                    self._start_informer(rtype)
            self.missing_crds = missing_kinds(found)
            self._dirty.set()  # the missing-CRD notices changed

    # --- permissions -------------------------------------------------------------------
    def needed_permissions(self) -> list[Permission]:
        """Every (verb, resource) the source will use, with the options it has."""
        namespace = self.options.namespace
        types = [*BUILTIN_TYPES, *(ambassador_type(k, "v3alpha1") for k in AMBASSADOR_KINDS)]
        needs = [p for rtype in types for p in read_permissions(rtype, namespace)]
        if self.options.events:
            needs.append(Permission("create", EVENTS.group, EVENTS.plural, namespace=namespace))
        if self.options.ingress_status_address:
            needs.append(
                Permission("patch", INGRESSES.group, INGRESSES.plural, "status", namespace)
            )
        if self.options.resource_status:
            needs.extend(
                Permission("patch", AMBASSADOR_GROUP, plural, "status", namespace)
                for plural in AMBASSADOR_KINDS.values()
            )
        if self.options.leader_election:
            needs.extend(lease_permissions(self._lease_namespace()))
        return needs

    async def _preflight(self) -> None:
        """Stop with a clear message when a needed permission is missing."""
        needs = self.needed_permissions()
        missing = await self._retrying(
            lambda: missing_permissions(self.api, needs), "check RBAC permissions"
        )
        if not missing:
            return
        for need in missing:
            log.error("RBAC: missing permission: %s", need.describe())
        listed = "; ".join(need.describe() for need in missing)
        raise SourceError(
            f"the Kubernetes identity in use lacks {len(missing)} permission(s) legation "
            f"needs: {listed} (grant them with deploy/rbac.yaml)"
        )

    async def _retrying(self, call: Callable[[], Awaitable[T]], what: str) -> T:
        """Retry `call` with backoff while the API server cannot be reached."""
        backoff = Backoff()
        while True:
            try:
                return await call()
            except KubeConnectionError as exc:
                delay = backoff.next_delay()
                log.warning("cannot %s yet (%s); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)
            except KubeApiError as exc:
                if exc.status in (401, 403):
                    raise SourceError(f"cannot {what}: {exc}") from exc
                delay = backoff.next_delay()
                log.warning("cannot %s yet (%s); retrying in %.1f s", what, exc, delay)
                await asyncio.sleep(delay)

    # --- write-back --------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _limiter_loop(self, configmap: LimiterConfigMap) -> None:
        """Write the latest documents; on failure, log once and try again in a second."""
        failing = False
        while True:
            await self._limiter_wakeup.wait()
            self._limiter_wakeup.clear()
            files = self._limiter_files
            if files is None or not self.leading():
                continue
            try:
                if await configmap.sync(self.api, files):
                    log.info("limiter ConfigMap %s: %d domain(s)", configmap.path, len(files))
                failing = False
            except (KubeApiError, KubeConnectionError) as exc:
                if not failing:
                    log.error("cannot write the limiter ConfigMap: %s (retrying)", exc)
                failing = True
                await asyncio.sleep(LIMITER_RETRY_S)
                self._limiter_wakeup.set()

    def _start_writers(self) -> None:
        """Start the leader election (when on) and the write-back loops."""
        options = self.options
        identity = default_identity()
        # Each replica writes under its own field manager, so managedFields tell who wrote.
        manager = f"legation-{identity}"
        if options.leader_election:
            self.elector = LeaderElector(
                self.api,
                LeaderOptions(options.lease_name, self._lease_namespace(), identity),
                on_change=self._leadership_changed,
            )
            self._spawn(self.elector.run(), "leader-election")
        if options.events:
            recorder = EventRecorder(self.api, identity, may_write=self.leading)
            self._spawn(self._report_loop(recorder), "k8s-events")
        if options.resource_status:
            conditions = ResourceStatusWriter(self.api, self.leading, manager)
            self._spawn(self._conditions_loop(conditions), "resource-status")
        if options.ingress_status_address:
            writer = IngressStatusWriter(
                self.api, options.ingress_status_address, self.leading, manager
            )
            self._spawn(self._status_loop(writer), "ingress-status")
            self._status_wakeup.set()
        if options.limiter_configmap:
            # written by the leader only, like status: replicas between two builds
            # would otherwise take turns rewriting it
            configmap = LimiterConfigMap(options.limiter_configmap)
            self._spawn(self._limiter_loop(configmap), "limiter-configmap")

    def _lease_namespace(self) -> str:
        return self.options.lease_namespace or default_namespace()

    def _leadership_changed(self, leading: bool) -> None:
        """A new leader catches up on everything at once; a lost lead needs nothing:
        each writer asks `leading()` before every request."""
        if leading:
            self._report_wakeup.set()
            self._conditions_wakeup.set()
            self._status_wakeup.set()
            self._limiter_wakeup.set()

    async def _conditions_loop(self, writer: ResourceStatusWriter) -> None:
        while True:
            # after each build, on winning the lead, and now and then: a write that
            # failed (API server briefly away) is retried without waiting for a change
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._conditions_wakeup.wait(), STATUS_RESYNC_S)
            self._conditions_wakeup.clear()
            if not self.leading() or self._built is None:  # nothing built yet: no verdict
                continue
            raw, refs = self._built
            await writer.sync(self._status_objects(raw), errors_by_uid(self._problems, refs))

    def _status_objects(self, built: _RawIndex) -> list[dict[str, Any]]:
        """The built getambassador.io objects (generation and UID as compiled), with the
        status and resourceVersion the informer holds now (status changes do not make
        snapshots, see `_on_event`)."""
        out = []
        for (kind, key), (_, raw, _) in built.items():
            informer = self.informers.get(kind)
            if kind not in AMBASSADOR_KINDS or informer is None:
                continue
            live = informer.cache.get(key)
            meta = dict(raw.doc.get("metadata") or {})
            if live is None or (live.get("metadata") or {}).get("uid") != meta.get("uid"):
                continue  # deleted (or replaced) since the build
            meta["resourceVersion"] = resource_version(live)
            out.append({**raw.doc, "metadata": meta, "status": live.get("status") or {}})
        return out

    async def _report_loop(self, recorder: EventRecorder) -> None:
        while True:
            await self._report_wakeup.wait()
            self._report_wakeup.clear()
            await recorder.record(events_for(self._problems, self._refs))

    async def _status_loop(self, writer: IngressStatusWriter) -> None:
        while True:
            await self._status_wakeup.wait()
            self._status_wakeup.clear()
            ingresses = self.informers.get(INGRESSES.kind)
            classes = self.informers.get(INGRESS_CLASSES.kind)
            if ingresses is None:
                continue
            by_name = dict(classes.cache) if classes is not None else {}
            await writer.sync(list(ingresses.cache.values()), by_name)
