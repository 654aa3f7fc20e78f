"""Resolver kinds: how a Mapping's `service` becomes upstream addresses.

`KubernetesServiceResolver` (the default) sends traffic to the Service's address;
`KubernetesEndpointResolver` sends it straight to the Service's endpoints (EDS);
`ConsulResolver` is read but not supported yet.
"""

from __future__ import annotations

from typing import Any

from legation.model.common import StrictModel


class KubernetesServiceResolverSpec(StrictModel):
    """A KubernetesServiceResolver has no settings of its own."""

    docs: Any = None


class KubernetesEndpointResolverSpec(StrictModel):
    """A KubernetesEndpointResolver has no settings of its own."""

    docs: Any = None


class ConsulResolverSpec(StrictModel):
    """A ConsulResolver: loads so manifests work; legation does not resolve through Consul."""

    address: str | None = None
    datacenter: str | None = None
    docs: Any = None


RESOLVER_KINDS: frozenset[str] = frozenset(
    {"KubernetesServiceResolver", "KubernetesEndpointResolver", "ConsulResolver"}
)
"""Kinds that name a resolver a Mapping can use."""
