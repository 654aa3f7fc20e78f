"""Resolvers: which Mappings go to a Service's address, and which straight to its endpoints.

Resolvers are named globally (as in Ambassador). Some are always there:
`kubernetes-service` (a KubernetesServiceResolver, the default) and
`kubernetes-endpoint` with its alias `endpoint` (a KubernetesEndpointResolver). A
Mapping whose resolver is a KubernetesEndpointResolver routes to an EDS cluster named
after the Service and port, so a change of endpoints changes only the EDS resource,
never routes or clusters.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from legation.compile.mapping import CompiledMapping
from legation.compile.service import is_ip
from legation.ir.clusters import Discovery
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.memo import ItemMemo, flat, present
from legation.model.resource import Resource

SERVICE_RESOLVER = "KubernetesServiceResolver"
ENDPOINT_RESOLVER = "KubernetesEndpointResolver"
CONSUL_RESOLVER = "ConsulResolver"
DEFAULT_RESOLVER = "kubernetes-service"
BUILTIN_RESOLVERS: dict[str, str] = {
    "kubernetes-service": SERVICE_RESOLVER,
    "kubernetes-endpoint": ENDPOINT_RESOLVER,
    "endpoint": ENDPOINT_RESOLVER,
}
"""Resolvers that exist without being declared, by name (`endpoint` is Emissary's alias
of `kubernetes-endpoint`)."""
ALIASES: tuple[tuple[str, str], ...] = (
    ("endpoint", "kubernetes-endpoint"),
    ("consul", "consul-endpoint"),
)
"""Pairs of names for one resolver: declaring one also defines the other, unless both
are declared (as in Emissary)."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    """An EDS cluster a Mapping needs, and which Service port fills it."""

    cluster: str
    name: str
    namespace: str
    port: int | None
    """The port written in `service`, or None when it was left out."""
    mapping: str
    """Key of the Mapping asking."""
    source: Source
    """Where the Mapping's `service` was written."""
    field: str
    """Dotted path of that `service` field."""


def resolver_kinds(
    resources: Sequence[Resource[Any]],
) -> tuple[dict[str, str], list[ConfigProblem]]:
    """Resolver name → kind, built-ins included; a name declared twice is an error."""
    kinds = dict(BUILTIN_RESOLVERS)
    declared: dict[str, Resource[Any]] = {}
    problems: list[ConfigProblem] = []
    order = sorted(resources, key=lambda r: (r.source.location, r.source.line or 0, r.key))
    for res in order:
        if res.kind == CONSUL_RESOLVER:
            problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    "ConsulResolver is not supported yet; Mappings using it are routed to "
                    "their service address",
                    severity=Severity.NOTICE,
                )
            )
        first = declared.get(res.name)
        if first is not None:
            where = first.source.describe()
            problems.append(
                ConfigProblem(res.source, res.key, f"resolver {res.name!r} already declared at "
                              f"{where} ({first.key}); skipped")
            )  # fmt: skip
            continue
        declared[res.name] = res
        kinds[res.name] = res.kind
    for a, b in ALIASES:
        if (a in declared) != (b in declared):
            kinds[b if a in declared else a] = declared[a if a in declared else b].kind
    return kinds, problems


def split_service(service: str, namespace: str) -> tuple[str, str, int | None]:
    """`[scheme://]name[.namespace][:port]` → (name, namespace, port or None)."""
    rest = service.split("://", 1)[-1].rstrip("/")
    host, _, port = rest.partition(":")
    name, _, ns = host.partition(".")
    return name, (ns.partition(".")[0] or namespace), int(port) if port else None


def _eds_name(cm: CompiledMapping, name: str, namespace: str, port: int | None) -> str:
    """`eds_<name>_<namespace>[_<port>]`, plus whatever set the original cluster apart."""
    old = cm.cluster
    base = f"cluster_{_UNSAFE.sub('_', old.host)}_{old.port}"
    suffix = old.name[len(base) :] if old.name.startswith(base) else "_" + old.name
    parts = [name, namespace] + ([str(port)] if port is not None else [])
    return "eds_" + "_".join(_UNSAFE.sub("_", p) for p in parts) + suffix


def _notice(cm: CompiledMapping, message: str, error: bool = False) -> ConfigProblem:
    res = cm.resource
    return ConfigProblem(
        res.field_source("resolver"),
        res.key,
        message,
        field=res.spec_path + "resolver",
        severity=Severity.ERROR if error else Severity.NOTICE,
    )


def resolve(
    cm: CompiledMapping, kind: str | None
) -> tuple[CompiledMapping | None, list[ConfigProblem], EndpointRequest | None]:
    """Apply the Mapping's resolver (of `kind`; None when unknown) to its upstream."""
    written = cm.resource.spec.resolver
    if kind is None:
        what = repr(written) if written is not None else "(the Module's default resolver)"
        return None, [_notice(cm, f"unknown resolver {what}; Mapping skipped", True)], None
    if kind == CONSUL_RESOLVER:
        return (
            cm,
            [_notice(cm, "ConsulResolver is not supported yet; using the service address")],
            None,
        )
    if kind != ENDPOINT_RESOLVER or cm.options.redirect is not None:
        return cm, [], None  # a redirect has no upstream whose endpoints could be resolved
    name, namespace, port = split_service(cm.resource.spec.service, cm.resource.namespace)
    if is_ip(cm.cluster.host):
        return (
            cm,
            [_notice(cm, "service is an IP address: no endpoints to resolve; using it")],
            None,
        )
    cluster_name = _eds_name(cm, name, namespace, port)
    cluster = dataclasses.replace(
        cm.cluster, name=cluster_name, host=f"{name}.{namespace}", discovery=Discovery.EDS
    )
    target = dataclasses.replace(cm.target, cluster=cluster_name)
    res = cm.resource
    request = EndpointRequest(
        cluster_name, name, namespace, port, cm.key, res.field_source("service"),
        res.spec_path + "service",
    )  # fmt: skip
    return dataclasses.replace(cm, cluster=cluster, target=target), [], request


class ResolverMemo:
    """resolve() per Mapping, reused while the Mapping and the resolvers are unchanged.

    Reusing the very same CompiledMapping objects keeps later caches (routes) warm.
    """

    def __init__(self) -> None:
        self._hits: ItemMemo[
            CompiledMapping,
            tuple[CompiledMapping | None, list[ConfigProblem], EndpointRequest | None],
        ] = ItemMemo()

    def apply(
        self,
        compiled: Sequence[CompiledMapping],
        kinds: dict[str, str],
        default: str | None = None,
    ) -> tuple[list[CompiledMapping], list[ConfigProblem], list[EndpointRequest]]:
        """Resolved Mappings (unknown resolvers dropped), their problems, and EDS requests.

        `default` is the resolver of Mappings that name none (the Module's `resolver`).
        """
        default = default or DEFAULT_RESOLVER

        def one(
            cm: CompiledMapping,
        ) -> tuple[CompiledMapping | None, list[ConfigProblem], EndpointRequest | None]:
            written = cm.resource.spec.resolver
            return resolve(cm, kinds.get(written if isinstance(written, str) else default))

        context = (tuple(sorted(kinds.items())), default)
        results = self._hits.map(compiled, one, context)
        out = present(map(operator.itemgetter(0), results))
        problems = flat(list(map(operator.itemgetter(1), results)))
        return out, problems, present(map(operator.itemgetter(2), results))
