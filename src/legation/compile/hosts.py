"""Hosts: hostname, certificate and cleartext policy, checked one by one.

A bad Host (unknown action, bad hostname, unusable certificate, a hostname another
Host already claims) is an error on that Host and is left out; the others serve on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from legation.compile.tls_secrets import SecretLookup
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source
from legation.ir.secrets import Secret
from legation.model.host import HOST_NOT_YET_IMPLEMENTED, HostSpec
from legation.model.resource import Resource

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class InsecureAction(StrEnum):
    """What a cleartext request for a Host gets."""

    REDIRECT = "Redirect"
    """A 301 to the same URL with `https`."""
    ROUTE = "Route"
    """Routed as over TLS."""
    REJECT = "Reject"
    """Not routed (404), except the ACME challenge path."""


@dataclass(frozen=True, slots=True)
class CompiledHost:
    """One valid Host."""

    key: str
    name: str
    hostname: str
    """Lower-case DNS glob; `*` for every host."""
    secret: str | None
    """IR secret name of its certificate when it terminates TLS."""
    action: InsecureAction
    selector: tuple[tuple[str, str], ...] | None
    """`mappingSelector.matchLabels`, sorted; None when unset."""
    source: Source


@dataclass
class HostResult:
    """Valid Hosts (in source order), the secrets they use, and the problems found."""

    hosts: list[CompiledHost] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def _problem(
    res: Resource[HostSpec], name: str, message: str, notice: bool = False
) -> ConfigProblem:
    return ConfigProblem(
        res.field_source(name),
        res.key,
        message,
        field=res.spec_path + name,
        severity=Severity.NOTICE if notice else Severity.ERROR,
    )


def hostname_error(hostname: str) -> str | None:
    """Why `hostname` is not a valid Host glob (`*` only as a whole first or last
    label), or None."""
    if hostname == "*":
        return None
    labels = hostname.split(".")
    for i, label in enumerate(labels):
        if label == "*" and i in (0, len(labels) - 1):
            continue
        if not _LABEL.match(label):
            return (
                f"{hostname!r} is not a DNS name or glob (`*` only as the whole first or "
                "last label)"
            )
    return None


def _action(res: Resource[HostSpec], tls: bool) -> InsecureAction | ConfigProblem:
    policy = res.spec.requestPolicy
    wanted = policy.insecure.action if policy and policy.insecure else None
    if wanted is None:
        return InsecureAction.REDIRECT if tls else InsecureAction.ROUTE
    for action in InsecureAction:
        if wanted.lower() == action.value.lower():
            return action
    choices = ", ".join(a.value for a in InsecureAction)
    return _problem(res, "requestPolicy.insecure.action", f"{wanted!r} is not one of {choices}")


def _notices(res: Resource[HostSpec]) -> list[ConfigProblem]:
    spec = res.spec
    out = [
        _problem(res, name, "accepted but not implemented yet; it has no effect", True)
        for name in HOST_NOT_YET_IMPLEMENTED
        if getattr(spec, name) is not None
    ]
    acme = spec.acmeProvider
    if acme is not None and not (isinstance(acme, dict) and acme.get("authority") == "none"):
        out.append(_problem(res, "acmeProvider", "ACME is not supported; ignored", True))
    insecure = spec.requestPolicy.insecure if spec.requestPolicy else None
    if insecure is not None and insecure.additionalPort is not None:
        message = "not implemented yet: cleartext is served on the HTTP port (--http-port)"
        out.append(_problem(res, "requestPolicy.insecure.additionalPort", message, True))
    if spec.mappingSelector and spec.mappingSelector.matchExpressions is not None:
        message = "not implemented yet; only matchLabels select Mappings"
        out.append(_problem(res, "mappingSelector.matchExpressions", message, True))
    return out


def _compile_one(res: Resource[HostSpec], lookup: SecretLookup) -> CompiledHost | ConfigProblem:
    spec = res.spec
    hostname = (spec.hostname or "*").lower()
    error = hostname_error(hostname)
    if error is not None:
        return _problem(res, "hostname", error)
    secret = None
    if spec.tlsSecret is not None:
        namespace = spec.tlsSecret.namespace or res.namespace
        found = lookup.certificate(namespace, spec.tlsSecret.name)
        if isinstance(found, str):
            return _problem(res, "tlsSecret", f"{found}; the Host is left out")
        secret = found.name
    action = _action(res, secret is not None)
    if isinstance(action, ConfigProblem):
        return action
    labels = spec.mappingSelector.matchLabels if spec.mappingSelector else None
    selector = tuple(sorted(labels.items())) if labels is not None else None
    return CompiledHost(res.key, res.name, hostname, secret, action, selector, res.source)


def _by_source(res: Resource[Any]) -> tuple[str, int, int, str]:
    return (res.source.location, res.source.line or 0, res.source.document or 0, res.key)


def compile_hosts(
    hosts: Sequence[Resource[HostSpec]], resources: Sequence[Resource[Any]]
) -> HostResult:
    """Check every Host; the first Host (by source) to claim a hostname keeps it."""
    result = HostResult()
    lookup = SecretLookup(resources)
    claimed: dict[str, str] = {}
    for res in sorted(hosts, key=_by_source):
        result.problems.extend(_notices(res))
        compiled = _compile_one(res, lookup)
        if isinstance(compiled, ConfigProblem):
            result.problems.append(compiled)
            continue
        other = claimed.setdefault(compiled.hostname, res.key)
        if other != res.key:
            message = f"hostname {compiled.hostname!r} is already claimed by {other}; left out"
            result.problems.append(_problem(res, "hostname", message))
            continue
        result.hosts.append(compiled)
    used = {h.secret for h in result.hosts}
    result.secrets = [s for s in lookup.used() if s.name in used]
    return result
