"""A small informer: keep a local copy of one resource type in sync with the API server.

It lists the resource, then watches from the list's `resourceVersion` (with bookmarks, so
a quiet resource still moves its version forward). When the watch's version has been
compacted away (`410 Gone`), it lists again and diffs the new list against its cache, so
objects deleted while it was not watching are still reported as deleted. Errors are
retried with exponential backoff and jitter; a permission error is logged as such,
naming the verb and the resource, because it will not go away by itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from legation.sources.kubernetes.backoff import Backoff
from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError
from legation.sources.kubernetes.resources import ResourceType, object_key, resource_version

log = logging.getLogger(__name__)

Object = dict[str, Any]


class EventType(StrEnum):
    """What happened to an object."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"


@dataclass(frozen=True, slots=True)
class InformerEvent:
    """One change to the cache: the object after it (or, when deleted, its last state)."""

    type: EventType
    key: str
    """`namespace/name` (or `name` for cluster-scoped objects)."""
    object: Object
    previous: Object | None = None
    """For MODIFIED: the object before the change (to tell what changed)."""


def diff_lists(
    cache: Mapping[str, Object], items: Iterable[Object]
) -> tuple[dict[str, Object], list[InformerEvent]]:
    """The cache a full list makes, and the events that lead from `cache` to it.

    Objects whose `resourceVersion` is unchanged produce no event (and keep the cached
    dict, so consumers can reuse work keyed on it); objects missing from the list are
    DELETED with their last known state. Events come sorted by key.
    """
    fresh: dict[str, Object] = {}
    events: list[InformerEvent] = []
    for obj in items:
        key = object_key(obj)
        old = cache.get(key)
        if old is not None and resource_version(old) == resource_version(obj):
            fresh[key] = old
            continue
        fresh[key] = obj
        kind = EventType.ADDED if old is None else EventType.MODIFIED
        events.append(InformerEvent(kind, key, obj, old))
    events.extend(
        InformerEvent(EventType.DELETED, key, old) for key, old in cache.items() if key not in fresh
    )
    events.sort(key=lambda e: e.key)
    return fresh, events


class WatchExpired(Exception):
    """The watch's resourceVersion is too old (410 Gone): the informer must list again."""


def _tidy(obj: Object, rtype: ResourceType) -> Object:
    """Drop `managedFields` (large, never read) and fill in `apiVersion`/`kind`, which list
    items of built-in kinds leave out."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        meta.pop("managedFields", None)
    obj.setdefault("apiVersion", rtype.api_version)
    obj.setdefault("kind", rtype.kind)
    return obj


@dataclass
class InformerOptions:
    """Where and how an informer watches."""

    namespace: str | None = None
    """Watch one namespace; None for all (cluster-scoped kinds ignore it)."""
    label_selector: str | None = None
    field_selector: str | None = None
    """E.g. `metadata.name=X`: watch one object by name (see secret_watch.py)."""
    page_size: int = 500
    watch_timeout_s: float = 300.0
    """Server-side watch duration (randomised up to twice this, as client-go does)."""
    backoff: Backoff = field(default_factory=Backoff)


class Informer:
    """List-then-watch one resource type into `cache`, calling `handler` for every change."""

    def __init__(
        self,
        api: KubeApi,
        rtype: ResourceType,
        options: InformerOptions | None = None,
        handler: Callable[[InformerEvent], None] | None = None,
        accept: Callable[[Object], bool] | None = None,
    ) -> None:
        """`accept` filters objects (those it rejects are treated as absent)."""
        self.api = api
        self.rtype = rtype
        self.options = options or InformerOptions()
        self.handler = handler
        self.accept = accept
        self.cache: dict[str, Object] = {}
        self.resource_version = ""
        self.synced = asyncio.Event()
        self.lists = 0
        """How many full lists ran (the first one included)."""
        self.last_error: str | None = None

    # --- what it is watching -----------------------------------------------------
    @property
    def scope(self) -> str:
        """`in namespace X` or `in all namespaces`, for messages."""
        if self.rtype.namespaced and self.options.namespace:
            where = f"in namespace {self.options.namespace}"
            if self.options.field_selector:
                where += f" ({self.options.field_selector})"
            return where
        return "cluster-wide" if not self.rtype.namespaced else "in all namespaces"

    def _params(self) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = []
        if self.options.label_selector and self.rtype.selectable:
            params.append(("labelSelector", self.options.label_selector))
        if self.options.field_selector:
            params.append(("fieldSelector", self.options.field_selector))
        return params

    def _path(self) -> str:
        return self.rtype.path(self.options.namespace if self.rtype.namespaced else None)

    # --- cache updates -------------------------------------------------------------
    def _emit(self, events: Iterable[InformerEvent]) -> None:
        if self.handler is None:
            return
        for event in events:
            self.handler(event)

    def replace(self, items: Iterable[Object], resource_version: str) -> list[InformerEvent]:
        """Take a full list as the new truth; emits (and returns) what changed."""
        accepted = (_tidy(obj, self.rtype) for obj in items)
        if self.accept is not None:
            accepted = (obj for obj in accepted if self.accept(obj))
        self.cache, events = diff_lists(self.cache, accepted)
        self.resource_version = resource_version
        self.lists += 1
        self._emit(events)
        return events

    def apply(self, event_type: str, obj: Object) -> InformerEvent | None:
        """Apply one watch event to the cache; emits (and returns) the change, if any."""
        obj = _tidy(obj, self.rtype)
        rv = resource_version(obj)
        if rv:
            self.resource_version = rv
        key = object_key(obj)
        present = key in self.cache
        if event_type == "DELETED" or (self.accept is not None and not self.accept(obj)):
            if not present:
                return None
            event = InformerEvent(EventType.DELETED, key, self.cache.pop(key))
        else:
            previous = self.cache.get(key)
            self.cache[key] = obj
            kind = EventType.MODIFIED if present else EventType.ADDED
            event = InformerEvent(kind, key, obj, previous)
        self._emit([event])
        return event

    # --- talking to the API server ---------------------------------------------------
    async def list_once(self) -> list[InformerEvent]:
        """List every object (page by page) and replace the cache with the result."""
        items: list[Object] = []
        params = [*self._params(), ("limit", str(self.options.page_size))]
        token = ""
        version = ""
        while True:
            page_params = [*params, ("continue", token)] if token else params
            try:
                page = await self.api.get(self._path(), page_params)
            except KubeApiError as exc:
                if exc.status == 404 and self.rtype.group:
                    log.warning(
                        "%s/%s is not served (its CRD was removed?): treating it as empty",
                        self.rtype.qualified,
                        self.rtype.version,
                    )
                    return self.replace([], self.resource_version)
                if exc.status == 410 and token:  # the continue token expired: start over
                    items, token = [], ""
                    continue
                raise
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            version = str(meta.get("resourceVersion") or version)
            token = str(meta.get("continue") or "")
            if not token:
                break
        return self.replace(items, version)

    async def watch_once(self) -> None:
        """Watch from `resource_version` until the server ends the watch."""
        timeout = self.options.watch_timeout_s * (1.0 + random.random())
        params = [
            *self._params(),
            ("watch", "1"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", self.resource_version),
            ("timeoutSeconds", str(int(timeout))),
        ]
        try:
            async for event in self.api.watch(self._path(), params, timeout + 30.0):
                kind = event.get("type")
                obj = event.get("object") or {}
                if kind == "ERROR":
                    if int(obj.get("code") or 0) == 410:
                        raise WatchExpired(str(obj.get("message") or "410 Gone"))
                    raise KubeApiError.from_status(obj, "WATCH", self._path())
                if kind == "BOOKMARK":
                    rv = resource_version(obj)
                    self.resource_version = rv or self.resource_version
                    continue
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    self.apply(str(kind), obj)
                self.options.backoff.reset()
        except KubeApiError as exc:
            if exc.status == 410:
                raise WatchExpired(exc.message) from exc
            raise

    async def run(self) -> None:
        """List and watch forever (until cancelled), recovering from every error."""
        verb = "list"
        while True:
            try:
                if not self.resource_version or not self.synced.is_set():
                    verb = "list"
                    await self.list_once()
                    self.synced.set()
                    self.last_error = None
                verb = "watch"
                await self.watch_once()
                self.last_error = None
                continue  # the server closed the watch: resume from the last version
            except WatchExpired as exc:
                log.info("watch of %s expired (%s): listing again", self.rtype.qualified, exc)
                self.resource_version = ""
                continue
            except KubeApiError as exc:
                self.last_error = self._describe(exc, verb)
                level = logging.ERROR if exc.status in (401, 403) else logging.WARNING
                log.log(level, "%s", self.last_error)
                if verb == "watch" and exc.status not in (401, 403):
                    self.resource_version = ""  # the server rejected the watch: start over
            except (KubeConnectionError, ValueError) as exc:
                self.last_error = f"cannot {verb} {self.rtype.qualified} {self.scope}: {exc}"
                log.warning("%s", self.last_error)
            delay = self.options.backoff.next_delay()
            log.debug("retrying %s of %s in %.2f s", verb, self.rtype.qualified, delay)
            await asyncio.sleep(delay)

    def _describe(self, exc: KubeApiError, verb: str) -> str:
        if exc.status == 403:
            return (
                f"RBAC: forbidden to {verb} {self.rtype.qualified} {self.scope}: the "
                f"controller's ServiceAccount needs verb {verb!r} on resource "
                f"{self.rtype.qualified!r} (see deploy/rbac.yaml): {exc.message}"
            )
        if exc.status == 401:
            return f"unauthorized to {verb} {self.rtype.qualified}: check the token ({exc.message})"
        return f"cannot {verb} {self.rtype.qualified} {self.scope}: {exc}"
