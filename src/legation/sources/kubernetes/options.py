"""Settings of the Kubernetes source (kept free of heavy imports, for the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KubernetesOptions:
    """Where to find the API server, what to watch, and what to write back."""

    kubeconfig: Path | None = None
    """A kubeconfig file; None: in-cluster settings inside a pod, else the default kubeconfig."""
    namespace: str | None = None
    """Watch one namespace; None watches all of them."""
    label_selector: str | None = None
    """Only configuration objects (Ambassador resources, Services, Ingresses) matching this."""
    ingress_status_address: str | None = "127.0.0.1"
    """Written to `status.loadBalancer.ingress` of legation's Ingresses; None or "" disables."""
    events: bool = True
    """Report configuration errors as Kubernetes Events on the resources at fault."""
    debounce_ms: int = 50
    """At most this long is spent batching a burst of changes into one snapshot."""
    quiet_ms: int = 10
    """A batch ends early once no change has arrived for this long."""
    rediscover_s: float = 30.0
    """How often to look again for Ambassador CRDs that were not installed."""
    limiter_configmap: str | None = None
    """`namespace/name` of a ConfigMap to keep the rate limiter's documents in (for an
    envoyproxy/ratelimit Deployment that mounts it); None: not written."""
    resource_status: bool = True
    """Write an `Accepted` condition into the status of every getambassador.io resource."""
    leader_election: bool = True
    """Write back (status, Events) only while holding the Lease; off: always write."""
    lease_name: str = "legation-leader"
    lease_namespace: str | None = None
    """The Lease's namespace; None: `POD_NAMESPACE`, else `legation`."""
