"""The `Host` kind (v2, v3alpha1): one domain, its certificate and its cleartext policy."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from legation.model.common import StrictModel
from legation.model.ratelimit import LocalRateLimitSpec
from legation.model.tlscontext import TLSSettings


class SecretReference(StrictModel):
    """`tlsSecret`: a Kubernetes Secret of type kubernetes.io/tls; namespace defaults to
    the Host's."""

    name: str = Field(min_length=1)
    namespace: str | None = None


class InsecurePolicy(StrictModel):
    """What cleartext requests for the Host get."""

    action: str | None = None
    """Redirect (default when the Host has TLS), Route (default without) or Reject."""
    additionalPort: int | None = None


class RequestPolicy(StrictModel):
    """`requestPolicy`: only `insecure` is defined."""

    insecure: InsecurePolicy | None = None


class LabelSelector(StrictModel):
    """`mappingSelector`: every label in `matchLabels` must be on the Mapping."""

    matchLabels: dict[str, str] | None = None
    matchExpressions: Any = None


class ContextReference(StrictModel):
    """`tlsContext`: the TLSContext (in the Host's namespace) with the Host's settings."""

    name: str = Field(min_length=1)


class HostSpec(StrictModel):
    """The fields of a Host, shared by v2 and v3alpha1."""

    hostname: str | None = None
    """DNS glob (`*` only as the first or last label); unset means `*`."""
    tlsSecret: SecretReference | None = None
    requestPolicy: RequestPolicy | None = None
    mappingSelector: LabelSelector | None = None
    tlsContext: ContextReference | None = None
    tls: TLSSettings | None = None
    """TLSContext fields written inline (not together with `tlsContext`)."""
    local_rate_limit: LocalRateLimitSpec | None = None
    """legation's own: one token bucket per Envoy shared by every route of this Host
    (a Mapping's own `local_rate_limit` replaces it on that route)."""
    # accepted, not implemented yet (see HOST_NOT_YET_IMPLEMENTED)
    selector: Any = None
    acmeProvider: Any = None
    previewUrl: Any = None
    docs: Any = None


HOST_NOT_YET_IMPLEMENTED: tuple[str, ...] = ("selector", "previewUrl")
"""Host fields that load but have no effect yet; each use gets a notice."""
