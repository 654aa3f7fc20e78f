"""Watch only the Secrets the configuration names: one by-name informer per Secret.

There is no cluster-wide list of Secrets. Each referenced Secret gets its own informer,
listing and watching `/api/v1/namespaces/NS/secrets?fieldSelector=metadata.name=NAME`,
so the API server sends nothing about any other Secret. The API server authorizes such
a request as `list`/`watch` of that one named Secret, so an RBAC rule with
`resourceNames` is enough for it. When a reference goes away, so does its informer
(and the Secret leaves the snapshot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from legation.sources.kubernetes.backoff import Backoff
from legation.sources.kubernetes.client import KubeApi, cancel_quietly
from legation.sources.kubernetes.informer import (
    EventType,
    Informer,
    InformerEvent,
    InformerOptions,
)
from legation.sources.kubernetes.resources import SECRETS
from legation.sources.kubernetes.secret_refs import SecretRef

log = logging.getLogger(__name__)

IGNORED_SECRET_TYPES = frozenset(
    {
        "kubernetes.io/service-account-token",
        "kubernetes.io/dockercfg",
        "kubernetes.io/dockerconfigjson",
        "bootstrap.kubernetes.io/token",
        "helm.sh/release.v1",
    }
)
"""Secrets that never hold gateway configuration, even when named."""


def wanted_secret(obj: dict[str, Any]) -> bool:
    """Whether a Secret may hold gateway configuration (certificates, keys, CAs)."""
    return obj.get("type") not in IGNORED_SECRET_TYPES


class SecretWatches:
    """The by-name Secret informers of one source (see the module docstring)."""

    def __init__(
        self,
        api: KubeApi,
        namespace: str | None,
        handler: Callable[[InformerEvent], None],
    ) -> None:
        """`namespace` limits references to one namespace (None: any); `handler` gets
        every change of a watched Secret, and a DELETED when one stops being watched."""
        self.api = api
        self.namespace = namespace
        self.handler = handler
        self.informers: dict[SecretRef, Informer] = {}
        self.out_of_scope: set[SecretRef] = set()
        """References to Secrets outside the watched namespace (never read)."""
        self._tasks: dict[SecretRef, asyncio.Task[None]] = {}

    def _start(self, ref: SecretRef) -> Informer:
        namespace, name = ref
        options = InformerOptions(
            namespace=namespace, field_selector=f"metadata.name={name}", backoff=Backoff()
        )
        informer = Informer(self.api, SECRETS, options, handler=self.handler, accept=wanted_secret)
        self.informers[ref] = informer
        self._tasks[ref] = asyncio.create_task(informer.run(), name=f"secret-{namespace}/{name}")
        log.debug("watching Secret %s/%s", namespace, name)
        return informer

    async def sync(self, wanted: Iterable[SecretRef]) -> list[Informer]:
        """Watch exactly the `wanted` Secrets; returns the informers started now."""
        refs = set(wanted)
        if self.namespace is not None:
            self.out_of_scope = {r for r in refs if r[0] != self.namespace}
            refs -= self.out_of_scope
        for ref in sorted(set(self.informers) - refs):
            await cancel_quietly(self._tasks.pop(ref))
            gone = self.informers.pop(ref)
            for key, obj in gone.cache.items():
                self.handler(InformerEvent(EventType.DELETED, key, obj))
            log.debug("no longer watching Secret %s/%s", *ref)
        return [self._start(ref) for ref in sorted(refs - set(self.informers))]

    async def wait_synced(self, informers: Iterable[Informer], timeout: float) -> list[Informer]:
        """Wait up to `timeout` s for `informers` to list once; returns those still waiting."""
        pending = [i for i in informers if not i.synced.is_set()]
        if pending:
            waits = [asyncio.ensure_future(i.synced.wait()) for i in pending]
            _, rest = await asyncio.wait(waits, timeout=timeout)
            for waiter in rest:
                waiter.cancel()
        return [i for i in pending if not i.synced.is_set()]

    def objects(self) -> list[tuple[str, dict[str, Any]]]:
        """(`namespace/name`, object) of every watched Secret that exists, sorted."""
        found = [item for i in self.informers.values() for item in i.cache.items()]
        return sorted(found, key=lambda item: item[0])

    def failing(self) -> list[tuple[SecretRef, str]]:
        """Watched Secrets whose informer cannot list or watch, with the error."""
        return [(ref, i.last_error) for ref, i in sorted(self.informers.items()) if i.last_error]

    async def close(self) -> None:
        """Stop every informer."""
        for task in self._tasks.values():
            await cancel_quietly(task)
        self._tasks.clear()
        self.informers.clear()
