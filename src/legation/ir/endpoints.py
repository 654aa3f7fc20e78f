"""Endpoint assignments: the addresses behind an EDS cluster, sent separately (EDS)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    """One ready address of a Service's endpoints."""

    address: str
    port: int


@dataclass(frozen=True, slots=True)
class LoadAssignment:
    """Every ready endpoint of one cluster; an endpoint change changes only this."""

    cluster: str
    """Name of the EDS cluster the endpoints belong to."""
    service: str
    """`name.namespace` of the Kubernetes Service the endpoints were read from."""
    port: str
    """The Service port the Mapping asked for (a number or a name; empty for the default)."""
    endpoints: tuple[Endpoint, ...] = ()
    """Sorted; empty when no ready endpoint is known (requests get 503)."""
    sources: tuple[str, ...] = ()
    """Keys of the EndpointSlices (or Endpoints) the addresses came from, sorted."""
