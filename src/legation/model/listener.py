"""The `Listener` kind (v2, v3alpha1): one port of the gateway, its protocols, how it
tells secure requests from insecure ones, and which Hosts it takes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from legation.model.common import StrictModel

Protocol = Literal["HTTP", "HTTPS", "HTTPPROXY", "HTTPSPROXY", "TCP", "TLS", "UDP"]
"""The named protocols, each a shorthand for a `protocolStack` (UDP: refused by
compile, but a valid value, so Emissary's manifests load)."""

StackElement = Literal["HTTP", "TLS", "PROXY", "TCP", "UDP"]

PROTOCOL_STACKS: dict[str, tuple[str, ...]] = {
    "HTTP": ("HTTP", "TCP"),
    "HTTPS": ("TLS", "HTTP", "TCP"),
    "HTTPPROXY": ("PROXY", "HTTP", "TCP"),
    "HTTPSPROXY": ("TLS", "PROXY", "HTTP", "TCP"),
    "TCP": ("TCP",),
    "TLS": ("TLS", "TCP"),
    "UDP": ("UDP",),
}
"""What each `protocol` stands for, outermost layer first (as Emissary defines them)."""


class NamespaceBinding(StrictModel):
    """`hostBinding.namespace`: Hosts from the Listener's namespace (SELF) or any (ALL)."""

    from_: Literal["SELF", "ALL", "SELECTOR"] = Field(alias="from")


class HostSelector(StrictModel):
    """`hostBinding.selector`: every label in `matchLabels` must be on the Host."""

    matchLabels: dict[str, str] | None = None
    matchExpressions: Any = None


class HostBinding(StrictModel):
    """Which Hosts the Listener takes; both parts must match when both are set."""

    namespace: NamespaceBinding | None = None
    selector: HostSelector | None = None


class ListenerSpec(StrictModel):
    """The fields of a Listener, shared by v2 and v3alpha1."""

    port: int = Field(ge=1, le=65535)
    protocol: Protocol | None = None
    """A named protocol; exactly one of `protocol` and `protocolStack`."""
    protocolStack: list[StackElement] | None = None
    """Layers, outermost first, ending in TCP (e.g. TLS, HTTP, TCP)."""
    securityModel: Literal["XFP", "SECURE", "INSECURE"]
    """XFP: secure when `X-Forwarded-Proto: https`; SECURE: always; INSECURE: never."""
    hostBinding: HostBinding
    l7Depth: int | None = Field(default=None, ge=0)
    """Trusted L7 proxies in front (Envoy's `xff_num_trusted_hops`)."""
    statsPrefix: str | None = None
    docs: Any = None
