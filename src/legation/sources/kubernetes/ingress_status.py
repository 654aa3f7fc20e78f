"""Write the gateway's address into `status.loadBalancer.ingress` of the Ingresses it serves.

An Ingress is legation's when its `ingressClassName` is `legation` (or names an
IngressClass whose controller is legation's or Ambassador's), when it carries the
annotation `kubernetes.io/ingress.class: ambassador` (or `legation`), or when it names
no class and the default IngressClass is ours. Status is patched only when it differs.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError
from legation.sources.kubernetes.resources import INGRESSES, object_key, resource_version

log = logging.getLogger(__name__)

INGRESS_CLASS = "legation"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
ANNOTATION_CLASSES = frozenset({"ambassador", "legation"})
CONTROLLERS = frozenset({"getambassador.io/ingress-controller", "legation.io/ingress-controller"})
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _ours(ingress_class: Mapping[str, Any] | None) -> bool:
    spec = (ingress_class or {}).get("spec") or {}
    return spec.get("controller") in CONTROLLERS


def is_ours(ingress: Mapping[str, Any], classes: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether legation serves this Ingress (see the module docstring)."""
    annotations = _meta(ingress).get("annotations") or {}
    annotated = annotations.get(CLASS_ANNOTATION)
    if annotated is not None:
        return annotated in ANNOTATION_CLASSES
    class_name = (ingress.get("spec") or {}).get("ingressClassName")
    if class_name:
        return class_name == INGRESS_CLASS or _ours(classes.get(class_name))
    defaults = [
        c
        for c in classes.values()
        if (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    return any(_ours(c) for c in defaults)


def status_entry(address: str) -> dict[str, str]:
    """`{"ip": ...}` for an IP address, `{"hostname": ...}` otherwise."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return {"hostname": address}
    return {"ip": address}


def needs_update(ingress: Mapping[str, Any], address: str) -> bool:
    """Whether the Ingress's load-balancer status is not exactly our address."""
    status = ingress.get("status") or {}
    current = (status.get("loadBalancer") or {}).get("ingress") or []
    return bool(current != [status_entry(address)])


class IngressStatusWriter:
    """Patches the status of legation's Ingresses to `address` when it differs."""

    def __init__(
        self,
        api: KubeApi,
        address: str,
        may_write: Callable[[], bool] = lambda: True,
        field_manager: str = "legation",
    ) -> None:
        """Write `address` (an IP or a host name); `may_write()` is asked before each write."""
        self.api = api
        self.address = address
        self.may_write = may_write
        self.field_manager = field_manager[:128]
        self.patched = 0
        self._tried: dict[str, str] = {}
        """key → resourceVersion last patched (or failed), so one version is tried once."""

    async def sync(
        self, ingresses: Iterable[Mapping[str, Any]], classes: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Bring every Ingress of ours up to date."""
        seen: dict[str, str] = {}
        for ingress in ingresses:
            key, rv = object_key(dict(ingress)), resource_version(dict(ingress))
            if not is_ours(ingress, classes) or not needs_update(ingress, self.address):
                continue
            seen[key] = rv
            if self._tried.get(key) == rv:
                continue
            if not self.may_write():  # not the leader (any more): the next one writes
                return
            await self._patch(ingress)
        self._tried = seen

    async def _patch(self, ingress: Mapping[str, Any]) -> None:
        meta = _meta(ingress)
        name, namespace = str(meta.get("name")), str(meta.get("namespace") or "default")
        body = {"status": {"loadBalancer": {"ingress": [status_entry(self.address)]}}}
        path = INGRESSES.path(namespace, name) + "/status"
        try:
            await self.api.patch(path, body, params=[("fieldManager", self.field_manager)])
            self.patched += 1
            log.info("Ingress %s/%s: status address set to %s", namespace, name, self.address)
        except KubeApiError as exc:
            level = logging.ERROR if exc.status == 403 else logging.WARNING
            hint = (
                " (needs verb 'patch' on 'ingresses/status', see deploy/rbac.yaml)"
                if exc.status == 403
                else ""
            )
            log.log(level, "cannot set status of Ingress %s/%s%s: %s", namespace, name, hint, exc)
        except KubeConnectionError as exc:
            log.warning("cannot set status of Ingress %s/%s: %s", namespace, name, exc)
