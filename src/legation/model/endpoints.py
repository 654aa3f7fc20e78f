"""Kubernetes `Endpoints` (v1): the older form of a Service's endpoint list."""

from __future__ import annotations

from pydantic import Field

from legation.model.endpointslice import EndpointPort, KubeModel


class EndpointAddress(KubeModel):
    """One address in a subset."""

    ip: str


class EndpointSubset(KubeModel):
    """Addresses that share a set of ports; `notReadyAddresses` get no traffic."""

    addresses: list[EndpointAddress] = Field(default_factory=list)
    notReadyAddresses: list[EndpointAddress] = Field(default_factory=list)
    ports: list[EndpointPort] = Field(default_factory=list)


class EndpointsSpec(KubeModel):
    """What legation reads from an Endpoints object; its name is the Service's name."""

    subsets: list[EndpointSubset] | None = None
