"""TLSContexts (and a Host's inline `tls`) → the TLS parameters of a Host's chain.

A TLSContext alone never terminates TLS: a Host does, and takes its settings from the
TLSContext it names (`tlsContext`), from its inline `tls`, or from a TLSContext whose
`hosts` list its hostname (and whose `secret`, if set, is the Host's `tlsSecret`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.model.resource import Resource
from legation.model.tlscontext import TLS_NOT_YET_IMPLEMENTED, TLSContextSpec, TLSSettings

VERSIONS = {"v1.0": "TLSv1_0", "v1.1": "TLSv1_1", "v1.2": "TLSv1_2", "v1.3": "TLSv1_3"}
"""Ambassador's version names → Envoy's `TlsParameters.TlsProtocol` names."""

DEFAULT_ALPN = ("h2", "http/1.1")
"""Offered when nothing says otherwise, so HTTP/2 and gRPC work over TLS."""


@dataclass(frozen=True, slots=True)
class TlsChoice:
    """The TLS parameters of one Host (hashable: chains are grouped by it)."""

    min_version: str | None = None
    """Envoy's name, e.g. `TLSv1_2`; None keeps Envoy's default."""
    max_version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    ecdh_curves: tuple[str, ...] = ()
    alpn_protocols: tuple[str, ...] = DEFAULT_ALPN
    context: str | None = None
    """Key of the TLSContext (or of the Host, for inline `tls`) it came from; None for
    the defaults."""


DEFAULT_TLS = TlsChoice()


def tls_choice(settings: TLSSettings, context: str | None = None) -> TlsChoice | tuple[str, str]:
    """The parameters `settings` ask for, or (field, message) for the first bad one."""
    versions = []
    for name in ("min_tls_version", "max_tls_version"):
        value = getattr(settings, name)
        if value is not None and value not in VERSIONS:
            return name, f"{value!r} is not one of {', '.join(VERSIONS)}"
        versions.append(VERSIONS[value] if value is not None else None)
    low, high = versions
    if low is not None and high is not None and low > high:
        return "min_tls_version", "is above max_tls_version"
    alpn = settings.alpn_protocols
    if isinstance(alpn, str):
        alpn = [p.strip() for p in alpn.split(",") if p.strip()]
    return TlsChoice(
        min_version=low,
        max_version=high,
        cipher_suites=tuple(settings.cipher_suites or ()),
        ecdh_curves=tuple(settings.ecdh_curves or ()),
        alpn_protocols=tuple(alpn) if alpn else DEFAULT_ALPN,
        context=context,
    )


def settings_notices(
    res: Resource[Any], settings: TLSSettings, prefix: str = ""
) -> list[ConfigProblem]:
    """A notice for each TLS field that loads but has no effect yet."""
    return [
        ConfigProblem(
            res.field_source(prefix + name),
            res.key,
            "accepted but not implemented yet; it has no effect",
            field=res.spec_path + prefix + name,
            severity=Severity.NOTICE,
        )
        for name in TLS_NOT_YET_IMPLEMENTED
        if getattr(settings, name) is not None
    ]


@dataclass
class TlsContexts:
    """Valid TLSContexts by (namespace, name), and the problems of the others."""

    by_name: dict[tuple[str, str], tuple[Resource[TLSContextSpec], TlsChoice]] = field(
        default_factory=dict
    )
    problems: list[ConfigProblem] = field(default_factory=list)

    def for_hostname(self, hostname: str, secret: str | None) -> TlsChoice | None:
        """The first TLSContext (by key) listing `hostname` whose secret is `secret`."""
        for res, choice in sorted(self.by_name.values(), key=lambda rc: rc[0].key):
            hosts = [h.lower() for h in res.spec.hosts or ()]
            if hostname in hosts and res.spec.secret in (None, secret):
                return choice
        return None

    def unused(self, used: set[str]) -> list[ConfigProblem]:
        """A notice for each valid TLSContext no Host took its settings from."""
        message = "no Host uses this TLSContext; a TLSContext alone does not terminate TLS"
        return [
            ConfigProblem(res.source, res.key, message, severity=Severity.NOTICE)
            for res, _ in self.by_name.values()
            if res.key not in used
        ]


def compile_tls_contexts(resources: Sequence[Resource[TLSContextSpec]]) -> TlsContexts:
    """Check every TLSContext; a bad one is an error on its field and is left out."""
    out = TlsContexts()
    for res in sorted(resources, key=lambda r: r.key):
        out.problems.extend(settings_notices(res, res.spec))
        choice = tls_choice(res.spec, res.key)
        if isinstance(choice, tuple):
            name, message = choice
            out.problems.append(
                ConfigProblem(res.field_source(name), res.key, message, field=res.spec_path + name)
            )
            continue
        out.by_name[(res.namespace, res.name)] = (res, choice)
    return out
