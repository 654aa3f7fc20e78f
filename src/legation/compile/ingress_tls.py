"""Ingress `spec.tls` → TLS-only Hosts: each listed host gets an SNI chain with the Secret.

An entry `{hosts: [a, b], secretName: s}` of a legation Ingress makes, for each host,
a `CompiledHost` with the certificate of Secret `s` (in the Ingress's namespace), so it
goes through the same HTTPS listener, SNI chains and virtual hosts as a Host resource.
Such a Host is *TLS-only*: it adds the host on the HTTPS port and leaves cleartext
routing as it was (an Ingress asks for no redirect, and its other rules keep serving
on the HTTP port). An entry without `hosts` covers every host (`*`). A Host resource
that claims the same hostname keeps it. A bad entry (no Secret, missing key, bad PEM,
key not matching the certificate, bad hostname) is an error on the Ingress, naming
the field; the other entries and Ingresses serve on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from legation.compile.hosts import CompiledHost, InsecureAction, hostname_error
from legation.compile.tls_secrets import SecretLookup
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.secrets import Secret
from legation.model.ingress import IngressSpec
from legation.model.resource import Resource


@dataclass(frozen=True, slots=True)
class IngressTls:
    """One host of one `spec.tls` entry of a legation Ingress."""

    ingress: Resource[IngressSpec]
    index: int
    """Position of the entry in `spec.tls`."""
    hostname: str
    """Lower-case; `*` when the entry lists no hosts."""
    secret_name: str | None


@dataclass
class IngressTlsResult:
    """The TLS-only Hosts, the secrets they use, and the problems found."""

    hosts: list[CompiledHost] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def tls_entries(res: Resource[IngressSpec]) -> list[IngressTls]:
    """Every (entry, host) of an Ingress's `spec.tls`, in order."""
    return [
        IngressTls(res, i, (host or "*").strip().lower(), entry.secretName)
        for i, entry in enumerate(res.spec.tls)
        for host in (entry.hosts or ["*"])
    ]


def _problem(
    entry: IngressTls, name: str, message: str, severity: Severity = Severity.ERROR
) -> ConfigProblem:
    res, where = entry.ingress, f"spec.tls.{entry.index}.{name}"
    source = res.source.at_line(res.raw.line_of(where))
    return ConfigProblem(source, res.key, message, field=where, severity=severity)


def _one(entry: IngressTls, lookup: SecretLookup) -> CompiledHost | ConfigProblem:
    res = entry.ingress
    error = hostname_error(entry.hostname)
    if error is not None:
        return _problem(entry, "hosts", f"{error}; this host gets no TLS")
    if not entry.secret_name:
        message = "no secretName: TLS is not terminated for these hosts (SNI passthrough "
        return _problem(entry, "hosts", message + "is not supported)", Severity.NOTICE)
    found = lookup.certificate(res.namespace, entry.secret_name)
    if isinstance(found, str):
        return _problem(entry, "secretName", f"{found}; HTTPS is not served for {entry.hostname}")
    return CompiledHost(
        key=f"{res.key}:tls.{entry.index}:{entry.hostname}",
        name=res.name,
        hostname=entry.hostname,
        secret=found.name,
        action=InsecureAction.ROUTE,
        selector=None,
        source=res.source.at_line(res.raw.line_of(f"spec.tls.{entry.index}")),
        tls_only=True,
    )


def ingress_tls_hosts(
    entries: Sequence[IngressTls], claimed: Sequence[CompiledHost], lookup: SecretLookup
) -> IngressTlsResult:
    """TLS-only Hosts for `entries` (in Ingress key order), after the `claimed` Hosts."""
    result = IngressTlsResult()
    owners = {h.hostname: h.key for h in claimed}
    for entry in sorted(entries, key=lambda e: (e.ingress.key, e.index)):
        compiled = _one(entry, lookup)
        if isinstance(compiled, ConfigProblem):
            result.problems.append(compiled)
            continue
        owner = owners.setdefault(compiled.hostname, compiled.key)
        if owner == compiled.key:
            result.hosts.append(compiled)
            continue
        if owner.startswith(entry.ingress.key + ":"):
            continue  # the same host twice in one Ingress: the first entry serves it
        message = f"host {compiled.hostname!r} is already served by {owner}; this entry is ignored"
        result.problems.append(_problem(entry, "hosts", message))
    used = {h.secret for h in result.hosts}
    result.secrets = [s for s in lookup.used() if s.name in used]
    return result
