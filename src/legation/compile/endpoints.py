"""EndpointSlices, Endpoints and Service ports → the load assignment of each EDS cluster.

The port is chosen as Kubernetes (and Ambassador) do: the Mapping names a Service
port by number; when the Service is in the configuration, that port's name (or its
`targetPort`) picks the endpoint port; without it, the endpoint port with that
number is used. With no port written, a single endpoint port is taken as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.compile.resolver import EndpointRequest
from legation.ir.endpoints import Endpoint, LoadAssignment
from legation.ir.errors import ConfigProblem, Severity
from legation.model.endpoints import EndpointsSpec
from legation.model.endpointslice import EndpointPort, EndpointSliceSpec
from legation.model.resource import Resource
from legation.model.service import ServiceSpec

_IP_TYPES = frozenset({"IPv4", "IPv6"})


@dataclass
class EndpointIndex:
    """The Kubernetes objects of a snapshot, by (namespace, Service name)."""

    slices: dict[tuple[str, str], list[Resource[EndpointSliceSpec]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    endpoints: dict[tuple[str, str], Resource[EndpointsSpec]] = field(default_factory=dict)
    services: dict[tuple[str, str], Resource[ServiceSpec]] = field(default_factory=dict)


def index_endpoints(resources: Sequence[Resource[Any]]) -> EndpointIndex:
    """Group EndpointSlices by their `kubernetes.io/service-name` label."""
    index = EndpointIndex()
    for res in resources:
        where = (res.namespace, res.name)
        if res.kind == "EndpointSlice" and res.spec.service_name:
            index.slices[(res.namespace, res.spec.service_name)].append(res)
        elif res.kind == "Endpoints":
            index.endpoints[where] = res
        elif res.kind == "Service":
            index.services[where] = res
    return index


@dataclass(frozen=True, slots=True)
class _Wanted:
    """Which endpoint port to use: by name first, then by number."""

    name: str | None = None
    number: int | None = None


def _wanted_port(port: int | None, service: ServiceSpec | None) -> _Wanted | str:
    """The endpoint port for a Service port, or why there is none."""
    if service is None:
        return _Wanted(number=port)
    ports = service.ports
    chosen = [p for p in ports if p.port == port] if port is not None else ports[:1]
    if port is None and len(ports) > 1:
        return "the Service has several ports; name one in `service` (name.namespace:port)"
    if not chosen:
        return f"the Service has no port {port}"
    sp = chosen[0]
    target = sp.targetPort
    if isinstance(target, str):
        return _Wanted(name=target)
    return _Wanted(name=sp.name, number=target if target is not None else sp.port)


def _pick(ports: Sequence[EndpointPort], wanted: _Wanted) -> int | None:
    if wanted.name is not None:
        for p in ports:
            if p.name == wanted.name:
                return p.port
    if wanted.number is not None:
        for p in ports:
            if p.port == wanted.number:
                return p.port
    if wanted.name is None and wanted.number is None and len(ports) == 1:
        return ports[0].port
    return None


def _from_slices(slices: Sequence[Resource[EndpointSliceSpec]], wanted: _Wanted) -> set[Endpoint]:
    found: set[Endpoint] = set()
    for res in slices:
        spec = res.spec
        port = _pick(spec.ports or [], wanted)
        if port is None or spec.addressType not in _IP_TYPES:
            continue
        for ep in spec.endpoints or []:
            if ep.ready:
                found.update(Endpoint(address, port) for address in ep.addresses)
    return found


def _from_endpoints(res: Resource[EndpointsSpec], wanted: _Wanted) -> set[Endpoint]:
    found: set[Endpoint] = set()
    for subset in res.spec.subsets or []:
        port = _pick(subset.ports, wanted)
        if port is not None:
            found.update(Endpoint(a.ip, port) for a in subset.addresses)
    return found


def load_assignment(
    request: EndpointRequest, index: EndpointIndex
) -> tuple[LoadAssignment, str | None]:
    """The ready endpoints for one EDS cluster, and why there are none (if so)."""
    key = (request.namespace, request.name)
    service = index.services.get(key)
    wanted = _wanted_port(request.port, service.spec if service is not None else None)
    slices = sorted(index.slices.get(key, []), key=lambda r: r.key)
    legacy = index.endpoints.get(key)
    sources = tuple(r.key for r in slices) or ((legacy.key,) if legacy is not None else ())
    reason: str | None = None
    found: set[Endpoint] = set()
    if isinstance(wanted, str):
        reason = wanted
    elif slices:  # EndpointSlices win over the legacy Endpoints (Kubernetes mirrors them)
        found = _from_slices(slices, wanted)
    elif legacy is not None:
        found = _from_endpoints(legacy, wanted)
    else:
        reason = "no EndpointSlice (or Endpoints) found for it"
    if not found and reason is None:
        reason = "it has no ready endpoint on that port"
    assignment = LoadAssignment(
        cluster=request.cluster,
        service=f"{request.name}.{request.namespace}",
        port=str(request.port) if request.port is not None else "",
        endpoints=tuple(sorted(found)),
        sources=sources,
    )
    return assignment, reason


def load_assignments(
    requests: Sequence[EndpointRequest], resources: Sequence[Resource[Any]]
) -> tuple[list[LoadAssignment], list[ConfigProblem]]:
    """One LoadAssignment per EDS cluster (sorted), and a notice for each empty one."""
    index = index_endpoints(resources)
    by_cluster: dict[str, list[EndpointRequest]] = defaultdict(list)
    for req in requests:
        by_cluster[req.cluster].append(req)
    out: list[LoadAssignment] = []
    problems: list[ConfigProblem] = []
    for name in sorted(by_cluster):
        group = by_cluster[name]
        assignment, reason = load_assignment(group[0], index)
        out.append(assignment)
        if reason is None:
            continue
        port = f" port {group[0].port}" if group[0].port is not None else ""
        for req in sorted(group, key=lambda r: r.mapping):
            problems.append(
                ConfigProblem(
                    req.source,
                    req.mapping,
                    f"Service {assignment.service}{port}: {reason}; requests get 503 until "
                    "endpoints appear",
                    field=req.field,
                    severity=Severity.NOTICE,
                )
            )
    return out, problems
