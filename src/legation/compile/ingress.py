"""Ingress (networking.k8s.io/v1; v1beta1 read as v1) → Mappings, compiled like any other.

As in Emissary-ingress, each Ingress path becomes a Mapping (`rewrite: ""`: an
Ingress never rewrites the path), so Ingress routes share the IR, ordering,
clusters and endpoints of Mappings. The rules:

- **class**: the Ingress is legation's when its `kubernetes.io/ingress.class`
  annotation is `ambassador` or `legation`; else when `spec.ingressClassName` names an
  IngressClass whose controller is `getambassador.io/ingress-controller` (or names
  `legation` and no IngressClass says otherwise); else, without a class, when such an
  IngressClass is marked `ingressclass.kubernetes.io/is-default-class: "true"`.
- **hosts**: a rule's `host` becomes the Mapping's `hostname`; a wildcard host
  (`*.foo.com`) also gets an `:authority` match so it covers exactly one DNS label.
- **paths**: `Exact` → an exact match. `Prefix` (and `ImplementationSpecific`) match
  by path segments: `/foo` takes `/foo` and `/foo/...`, not `/foobar`, written as an
  exact `/foo` plus a prefix `/foo/` (a trailing `/` in the rule is ignored). Where
  an `Exact` rule has the same host and path, it wins.
- **backends**: `service.name` + port (number, or name looked up in the Service).
  A Service that is not in the configuration is reached by its DNS name,
  `name.namespace:port`; only a named port (or no port) needs the Service. When
  EndpointSlices (or Endpoints) for it are known, the Mapping goes straight to them
  (the `kubernetes-endpoint` resolver, EDS); otherwise to the Service's DNS name.
  `defaultBackend` catches whatever no rule matched.
- **tls**: each host of a `spec.tls` entry is served on the HTTPS port with the
  entry's Secret, like a Host (see compile/ingress_tls.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.compile.ingress_tls import IngressTls, tls_entries
from legation.ir.errors import ConfigProblem, Severity
from legation.model.endpointslice import SERVICE_NAME_LABEL
from legation.model.ingress import (
    CLASS_ANNOTATION,
    CONTROLLERS,
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_CLASS_NAME,
    PATH_TYPES,
    IngressBackend,
    IngressClassSpec,
    IngressSpec,
    annotations_of,
)
from legation.model.mapping import MappingSpec
from legation.model.resource import Resource
from legation.model.service import ServiceSpec
from legation.model.versions import AUTOMATIC_AMBASSADOR_ID

CLASS_ANNOTATION_VALUES = frozenset({"ambassador", DEFAULT_CLASS_NAME})
"""Values of `kubernetes.io/ingress.class` that select legation."""
DEFAULT_BACKEND_PRECEDENCE = -1_000_000
"""A `defaultBackend` sorts after every rule (and every ordinary Mapping)."""
ENDPOINT_RESOLVER = "kubernetes-endpoint"


@dataclass(frozen=True, slots=True)
class _Path:
    """One match an Ingress asks for, before it becomes a Mapping."""

    ingress: Resource[IngressSpec]
    where: str
    """Dotted path of the rule's path (or `spec.defaultBackend`) inside the Ingress."""
    host: str
    exact: bool
    value: str
    backend: IngressBackend
    precedence: int = 0
    exact_rule: bool = False
    """The rule's `pathType` is `Exact` (not the exact half of a `Prefix` rule)."""


@dataclass
class IngressResult:
    """The Mappings the Ingresses stand for, and the problems found on the way."""

    mappings: list[Resource[MappingSpec]] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    """Keys of the Ingresses this gateway serves (their status gets its address)."""
    tls: list[IngressTls] = field(default_factory=list)
    """The hosts of their `spec.tls` entries (HTTPS, see compile/ingress_tls.py)."""


@dataclass(frozen=True, slots=True)
class _Known:
    """The other Kubernetes objects an Ingress refers to."""

    classes: dict[str, Resource[IngressClassSpec]]
    services: dict[tuple[str, str], Resource[ServiceSpec]]
    with_endpoints: frozenset[tuple[str, str]]
    """(namespace, name) of Services whose EndpointSlices or Endpoints are known."""

    @classmethod
    def index(cls, resources: Sequence[Resource[Any]]) -> _Known:
        """Collect IngressClasses, Services and which Services have endpoints."""
        classes = {r.name: r for r in resources if r.kind == "IngressClass"}
        services = {(r.namespace, r.name): r for r in resources if r.kind == "Service"}
        endpoints = set()
        for r in resources:
            if r.kind == "Endpoints":
                endpoints.add((r.namespace, r.name))
            elif r.kind == "EndpointSlice" and r.spec.labels.get(SERVICE_NAME_LABEL):
                endpoints.add((r.namespace, r.spec.labels[SERVICE_NAME_LABEL]))
        return cls(classes, services, frozenset(endpoints))

    def ours(self, class_name: str) -> bool:
        """Whether the IngressClass `class_name` is implemented by legation."""
        found = self.classes.get(class_name)
        if found is None:
            return class_name == DEFAULT_CLASS_NAME
        return found.spec.controller in CONTROLLERS

    def default_is_ours(self) -> bool:
        """Whether an IngressClass of legation's is the cluster's default class."""
        return any(
            r.spec.controller in CONTROLLERS
            and annotations_of(r.raw.doc).get(DEFAULT_CLASS_ANNOTATION, "").lower() == "true"
            for r in self.classes.values()
        )


def _class_verdict(res: Resource[IngressSpec], known: _Known) -> str | None:
    """None when the Ingress is legation's; otherwise why it is not."""
    annotation = annotations_of(res.raw.doc).get(CLASS_ANNOTATION)
    if annotation is not None:
        if annotation.lower() in CLASS_ANNOTATION_VALUES:
            return None
        return f"its {CLASS_ANNOTATION} annotation is {annotation!r}"
    name = res.spec.ingressClassName
    if name:
        return None if known.ours(name) else f"its IngressClass {name!r} is not legation's"
    if known.default_is_ours():
        return None
    return "it names no IngressClass and legation's is not the default class"


def _problem(
    res: Resource[Any], where: str, message: str, severity: Severity = Severity.ERROR
) -> ConfigProblem:
    return ConfigProblem(
        res.source.at_line(res.raw.line_of(where)), res.key, message, field=where, severity=severity
    )


def _paths(res: Resource[IngressSpec]) -> tuple[list[_Path], list[ConfigProblem]]:
    """Every match of one Ingress, with problems for paths that cannot be used."""
    out: list[_Path] = []
    problems: list[ConfigProblem] = []
    spec = res.spec
    if spec.defaultBackend is not None:
        out.append(
            _Path(res, "spec.defaultBackend", "*", False, "/", spec.defaultBackend,
                  DEFAULT_BACKEND_PRECEDENCE)
        )  # fmt: skip
    for i, rule in enumerate(spec.rules):
        host = (rule.host or "*").lower()
        for j, p in enumerate(rule.http.paths if rule.http else []):
            where = f"spec.rules.{i}.http.paths.{j}"
            if p.pathType not in PATH_TYPES:
                problems.append(
                    _problem(res, where + ".pathType", f"unknown pathType {p.pathType!r}; "
                             f"expected one of {', '.join(PATH_TYPES)}; path skipped")
                )  # fmt: skip
                continue
            value = p.path or "/"
            if not value.startswith("/"):
                problems.append(_problem(res, where + ".path", "path must start with '/'"))
                continue
            if p.pathType == "Exact":
                out.append(_Path(res, where, host, True, value, p.backend, exact_rule=True))
                continue
            trimmed = value.rstrip("/")
            if trimmed:  # `/foo` (or `/foo/`): exactly `/foo`, and everything under `/foo/`
                out.append(_Path(res, where, host, True, trimmed, p.backend))
            out.append(_Path(res, where, host, False, trimmed + "/", p.backend))
    return out, problems


def _service(path: _Path, known: _Known) -> tuple[str, bool] | ConfigProblem:
    """`name.namespace:port` for the backend, and whether its endpoints are known."""
    res, backend = path.ingress, path.backend
    where = f"{path.where}.backend"
    if backend.service is None:
        return _problem(res, where, "only Service backends are supported; path skipped")
    svc = backend.service
    key = (res.namespace, svc.name)
    service = known.services.get(key)
    number = svc.port.number
    if service is None:
        # Without the Service, route by its DNS name; only a named port needs the Service.
        if number is not None:
            return f"{svc.name}.{res.namespace}:{number}", key in known.with_endpoints
        what = f"port {svc.port.name!r}" if svc.port.name else "a port"
        return _problem(
            res, where + ".service.port", f"Service {svc.name!r} is not in the configuration "
            f"(namespace {res.namespace!r}), so {what} cannot be looked up; give the port "
            "number; path skipped",
        )  # fmt: skip
    if svc.port.name:
        named = [p.port for p in service.spec.ports if p.name == svc.port.name]
        if not named:
            return _problem(
                res, where + ".service.port.name", f"Service {svc.name!r} has no port named "
                f"{svc.port.name!r}; path skipped",
            )  # fmt: skip
        number = named[0]
    elif number is None:
        if len(service.spec.ports) != 1:
            return _problem(res, where + ".service.port", "a port number or name is required")
        number = service.spec.ports[0].port
    elif service.spec.ports and all(p.port != number for p in service.spec.ports):
        return _problem(
            res, where + ".service.port.number", f"Service {svc.name!r} has no port "
            f"{number}; path skipped",
        )  # fmt: skip
    return f"{svc.name}.{res.namespace}:{number}", key in known.with_endpoints


def _hostname_fields(host: str) -> dict[str, Any]:
    """Mapping fields for a rule's host: a wildcard covers exactly one DNS label."""
    if host == "*":
        return {}
    if host.startswith("*."):
        suffix = re.escape(host[1:])
        return {"hostname": host, "regex_headers": {":authority": f"^[^.:]+{suffix}(:[0-9]+)?$"}}
    return {"hostname": host}


def _mapping(path: _Path, service: str, eds: bool) -> Resource[MappingSpec]:
    """The Mapping standing for one Ingress match."""
    res = path.ingress
    body: dict[str, Any] = {
        "prefix": path.value,
        "prefix_exact": path.exact,
        "service": service,
        "rewrite": "",
        "precedence": path.precedence,
        **_hostname_fields(path.host),
    }
    if eds:
        body["resolver"] = ENDPOINT_RESOLVER
    kind = "exact" if path.exact else "prefix"
    return Resource(
        kind="Mapping",
        name=res.name,
        namespace=res.namespace,
        api_version=res.api_version,
        ambassador_id=(AUTOMATIC_AMBASSADOR_ID,),
        spec=MappingSpec.model_validate(body),
        raw=res.raw,
        spec_path=path.where + ".",
        key=f"{res.key}:{path.where.removeprefix('spec.')}:{kind}",
    )


def ingress_mappings(resources: Sequence[Resource[Any]]) -> IngressResult:
    """The Mappings for every Ingress of this gateway, sorted by key."""
    known = _Known.index(resources)
    result = IngressResult()
    paths: list[_Path] = []
    for res in sorted((r for r in resources if r.kind == "Ingress"), key=lambda r: r.key):
        why_not = _class_verdict(res, known)
        if why_not is not None:
            result.problems.append(
                _problem(res, "spec", f"not for legation ({why_not}); skipped", Severity.NOTICE)
            )
            continue
        found, problems = _paths(res)
        result.accepted.append(res.key)
        result.problems.extend(problems)
        paths.extend(found)
        result.tls.extend(tls_entries(res))
    exact_rules = {(p.host, p.value) for p in paths if p.exact_rule}
    for path in paths:
        if path.exact and not path.exact_rule and (path.host, path.value) in exact_rules:
            continue  # an Exact rule for the same host and path wins
        service = _service(path, known)
        if isinstance(service, ConfigProblem):
            if service not in result.problems:
                result.problems.append(service)
            continue
        result.mappings.append(_mapping(path, *service))
    result.mappings.sort(key=lambda m: m.key)
    return result
