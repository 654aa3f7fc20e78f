"""Kubernetes `Service` (v1) ports: how a Service port maps to its endpoints' ports."""

from __future__ import annotations

from pydantic import Field

from legation.model.endpointslice import KubeModel


class ServicePort(KubeModel):
    """One port of a Service; `targetPort` is a number or the name of an endpoint port."""

    name: str = ""
    port: int = Field(ge=1, le=65535)
    targetPort: int | str | None = None


class ServiceSpec(KubeModel):
    """The part of a Service's spec legation uses: its ports."""

    ports: list[ServicePort] = Field(default_factory=list)
