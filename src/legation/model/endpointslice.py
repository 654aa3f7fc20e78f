"""Kubernetes `EndpointSlice` (discovery.k8s.io/v1): where a Service's pods answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
"""The label naming the Service an EndpointSlice belongs to."""


class KubeModel(BaseModel):
    """Base for Kubernetes object models: fields legation does not use are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class EndpointConditions(KubeModel):
    """An endpoint's conditions; `ready` left out means ready."""

    ready: bool | None = None


class SliceEndpoint(KubeModel):
    """One endpoint of a slice: its addresses (usually one) and whether it is ready."""

    addresses: list[str] = Field(min_length=1)
    conditions: EndpointConditions = Field(default_factory=EndpointConditions)

    @property
    def ready(self) -> bool:
        """Ready unless the condition says otherwise (Kubernetes' rule)."""
        return self.conditions.ready is not False


class EndpointPort(KubeModel):
    """A port every endpoint of the slice (or subset) listens on."""

    name: str = ""
    port: int = Field(ge=1, le=65535)
    protocol: str = "TCP"


class EndpointSliceSpec(KubeModel):
    """What legation reads from an EndpointSlice (top-level fields plus labels)."""

    addressType: str = "IPv4"
    endpoints: list[SliceEndpoint] | None = None
    ports: list[EndpointPort] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    """`metadata.labels`, copied in so the Service can be found."""

    @property
    def service_name(self) -> str | None:
        """The Service this slice belongs to, from its `kubernetes.io/service-name` label."""
        return self.labels.get(SERVICE_NAME_LABEL)
