"""Check at start-up that the controller may do everything it needs (RBAC preflight).

Each needed (verb, resource) pair is asked with a SelfSubjectAccessReview, which every
authenticated user may create. A missing permission would otherwise show up only as a
resource that silently never updates; here it stops the gateway with a message naming
the verb and the resource.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from legation.sources.kubernetes.client import KubeApi, KubeApiError, KubeConnectionError
from legation.sources.kubernetes.resources import ResourceType

log = logging.getLogger(__name__)

REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True, slots=True)
class Permission:
    """One verb on one resource (optionally a subresource), in a namespace or everywhere."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str | None = None

    def describe(self) -> str:
        """`watch mappings.getambassador.io (all namespaces)`."""
        name = f"{self.resource}.{self.group}" if self.group else self.resource
        if self.subresource:
            name += f"/{self.subresource}"
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        return f"{self.verb} {name} ({where})"


def read_permissions(rtype: ResourceType, namespace: str | None) -> list[Permission]:
    """`list` and `watch` on a resource type, where an informer will ask for them."""
    ns = namespace if rtype.namespaced else None
    return [Permission(v, rtype.group, rtype.plural, namespace=ns) for v in ("list", "watch")]


async def _allowed(api: KubeApi, need: Permission) -> bool:
    attributes = {"verb": need.verb, "group": need.group, "resource": need.resource}
    if need.subresource:
        attributes["subresource"] = need.subresource
    if need.namespace:
        attributes["namespace"] = need.namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    review = await api.post(REVIEW_PATH, body)
    return bool((review.get("status") or {}).get("allowed"))


async def missing_permissions(api: KubeApi, needs: list[Permission]) -> list[Permission] | None:
    """The permissions in `needs` the controller lacks; None when it cannot tell."""
    try:
        answers = await asyncio.gather(*(_allowed(api, need) for need in needs))
    except (KubeApiError, KubeConnectionError) as exc:
        log.warning("cannot check RBAC permissions up front (%s); continuing", exc)
        return None
    return [need for need, ok in zip(needs, answers, strict=True) if not ok]
