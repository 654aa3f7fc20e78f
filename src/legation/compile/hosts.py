"""Hosts: hostname, certificate and cleartext policy, checked one by one.

A bad Host (unknown action, bad hostname, unusable certificate, a hostname another
Host already claims) is an error on that Host and is left out; the others serve on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from legation.compile.route_options import local_rate_limit
from legation.compile.tls_contexts import (
    DEFAULT_TLS,
    TlsChoice,
    TlsContexts,
    compile_tls_contexts,
    expiry_notices,
    settings_notices,
    tls_choice,
)
from legation.compile.tls_secrets import SecretLookup
from legation.ir.errors import ConfigProblem
from legation.ir.provenance import Source
from legation.ir.ratelimit import LocalRateLimit
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
    tls: TlsChoice = DEFAULT_TLS
    """TLS parameters (from its TLSContext or inline `tls`) when it terminates TLS."""
    tls_only: bool = False
    """Made from an Ingress's `spec.tls` (compile/ingress_tls.py): it is served on the
    HTTPS port only and leaves cleartext routing as it would be without it."""
    local_rate_limit: LocalRateLimit | None = None
    """One token bucket per Envoy for all of the Host's routes."""


@dataclass
class HostResult:
    """Valid Hosts (in source order), the secrets they use, and the problems found."""

    hosts: list[CompiledHost] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)
    contexts: TlsContexts = field(default_factory=TlsContexts)
    """The valid TLSContexts."""
    contexts_used: set[str] = field(default_factory=set)
    """Keys of the TLSContexts some Host (or `contexts_used` given) took settings from."""


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
    return res.problem("requestPolicy.insecure.action", f"{wanted!r} is not one of {choices}")


def _notices(res: Resource[HostSpec]) -> list[ConfigProblem]:
    spec = res.spec
    out = [
        res.problem(name, "accepted but not implemented yet; it has no effect", notice=True)
        for name in HOST_NOT_YET_IMPLEMENTED
        if getattr(spec, name) is not None
    ]
    acme = spec.acmeProvider
    if acme is not None and not (isinstance(acme, dict) and acme.get("authority") == "none"):
        out.append(res.problem("acmeProvider", "ACME is not supported; ignored", notice=True))
    insecure = spec.requestPolicy.insecure if spec.requestPolicy else None
    if insecure is not None and insecure.additionalPort is not None:
        message = "not implemented yet: cleartext is served on the HTTP port (--http-port)"
        out.append(res.problem("requestPolicy.insecure.additionalPort", message, notice=True))
    if spec.tls is not None:
        out.extend(settings_notices(res, spec.tls, "tls."))
    if spec.mappingSelector and spec.mappingSelector.matchExpressions is not None:
        message = "not implemented yet; only matchLabels select Mappings"
        out.append(res.problem("mappingSelector.matchExpressions", message, notice=True))
    return out


def _tls(
    res: Resource[HostSpec], hostname: str, contexts: TlsContexts, lookup: SecretLookup
) -> TlsChoice | ConfigProblem:
    """The Host's TLS parameters: its `tlsContext`, its inline `tls`, a TLSContext
    listing its hostname, or the defaults."""
    spec = res.spec
    secret = spec.tlsSecret.name if spec.tlsSecret else None
    if spec.tlsContext is not None and spec.tls is not None:
        return res.problem("tls", "set either tlsContext or tls, not both")
    if spec.tlsContext is not None:
        found = contexts.by_name.get((res.namespace, spec.tlsContext.name))
        if found is None:
            message = f"TLSContext {spec.tlsContext.name!r} (namespace {res.namespace}) "
            return res.problem("tlsContext", message + "does not exist or is invalid")
        context, choice = found
        if context.spec.secret not in (None, secret):
            message = (
                f"{context.key} names Secret {context.spec.secret!r}, but the Host's "
                f"tlsSecret is {secret!r}; they must be the same"
            )
            return res.problem("tlsContext", message)
        return choice
    if spec.tls is not None:
        inline = tls_choice(
            spec.tls, res.key, res.namespace, lookup
        )  # its own chain: named after the Host
        if isinstance(inline, tuple):
            return res.problem(f"tls.{inline[0]}", inline[1])
        return inline
    return contexts.for_hostname(hostname, secret) or DEFAULT_TLS


def _compile_one(
    res: Resource[HostSpec],
    lookup: SecretLookup,
    contexts: TlsContexts,
    notices: list[ConfigProblem],
) -> CompiledHost | ConfigProblem:
    spec = res.spec
    hostname = (spec.hostname or "*").lower()
    error = hostname_error(hostname)
    if error is not None:
        return res.problem("hostname", error)
    secret = None
    if spec.tlsSecret is not None:
        namespace = spec.tlsSecret.namespace or res.namespace
        found = lookup.certificate(namespace, spec.tlsSecret.name)
        if isinstance(found, str):
            return res.problem("tlsSecret", f"{found}; the Host is left out")
        secret = found.name
    tls = _tls(res, hostname, contexts, lookup)
    if isinstance(tls, ConfigProblem):
        return tls
    if tls.certificate is not None and secret is None:
        secret = tls.certificate  # its TLSContext names certificate files
    elif tls.certificate is not None and tls.certificate != secret:
        message = (
            f"{tls.context} serves the certificate of its cert_chain_file, but the Host's "
            "tlsSecret names another; set one of them"
        )
        return res.problem("tls" if spec.tls is not None else "tlsContext", message)
    action = _action(res, secret is not None)
    if isinstance(action, ConfigProblem):
        return action
    if secret is None:
        tls = DEFAULT_TLS  # no TLS to tune (`_notices` says so)
    elif tls.redirect_cleartext_from is not None and action is not InsecureAction.REDIRECT:
        # the Host says what its cleartext requests get; a TLSContext does not override it
        message = (
            f"{action.value} wins over redirect_cleartext_from of {tls.context}: "
            "cleartext requests for this Host are not redirected"
        )
        notices.append(res.problem("requestPolicy.insecure.action", message, notice=True))
    labels = spec.mappingSelector.matchLabels if spec.mappingSelector else None
    selector = tuple(sorted(labels.items())) if labels is not None else None
    return CompiledHost(
        res.key, res.name, hostname, secret, action, selector, res.source, tls,
        local_rate_limit=local_rate_limit(spec.local_rate_limit),
    )  # fmt: skip


def _by_source(res: Resource[Any]) -> tuple[str, int, int, str]:
    return (res.source.location, res.source.line or 0, res.source.document or 0, res.key)


def _named(res: Resource[HostSpec], host: CompiledHost) -> list[tuple[str, str | None]]:
    """(field, IR secret) of the certificates the Host itself names, for expiry warnings
    (those of a TLSContext are warned about on the TLSContext)."""
    named: list[tuple[str, str | None]] = []
    if res.spec.tlsSecret is not None:
        named.append(("tlsSecret", host.secret))
    if res.spec.tls is not None:
        ca = "tls.cacert_chain_file" if res.spec.tls.cacert_chain_file else "tls.ca_secret"
        named += [("tls.cert_chain_file", host.tls.certificate), (ca, host.tls.client_ca)]
    return named


def _no_tls_notice(res: Resource[HostSpec], host: CompiledHost) -> list[ConfigProblem]:
    spec = res.spec
    if host.secret is not None or (spec.tls is None and spec.tlsContext is None):
        return []
    name = "tls" if spec.tls is not None else "tlsContext"
    message = (
        "has no effect without tlsSecret (or certificate files in the TLSContext): "
        "this Host does not terminate TLS"
    )
    return [res.problem(name, message, notice=True)]


def compile_hosts(
    hosts: Sequence[Resource[HostSpec]],
    resources: Sequence[Resource[Any]],
    contexts_used: frozenset[str] = frozenset(),
    files: Mapping[str, bytes | str] | None = None,
    now: datetime | None = None,
    report_unused: bool = True,
) -> HostResult:
    """Check every Host; the first Host (by source) to claim a hostname keeps it.

    `contexts_used` are TLSContexts used elsewhere (by Mappings): not reported unused.
    `files` hold the certificate files named; with `now`, certificates that expired or
    expire within 14 days get a warning notice on the resource naming them.
    Without `report_unused` the caller reports the unused ones (`result.contexts_used`
    says which were used), once it knows every other user.
    """
    result = HostResult()
    lookup = SecretLookup(resources, files)
    tls_contexts = [r for r in resources if r.kind == "TLSContext"]
    contexts = compile_tls_contexts(tls_contexts, lookup, now)
    result.problems.extend(contexts.problems)
    claimed: dict[str, str] = {}
    for res in sorted(hosts, key=_by_source):
        result.problems.extend(_notices(res))
        compiled = _compile_one(res, lookup, contexts, result.problems)
        if isinstance(compiled, ConfigProblem):
            result.problems.append(compiled)
            continue
        result.problems.extend(_no_tls_notice(res, compiled))
        result.problems.extend(expiry_notices(res, _named(res, compiled), lookup, now))
        other = claimed.setdefault(compiled.hostname, res.key)
        if other != res.key:
            message = f"hostname {compiled.hostname!r} is already claimed by {other}; left out"
            result.problems.append(res.problem("hostname", message))
            continue
        result.hosts.append(compiled)
    used_contexts = {h.tls.context for h in result.hosts if h.tls.context and h.secret}
    result.contexts, result.contexts_used = contexts, used_contexts | contexts_used
    if report_unused:
        result.problems.extend(contexts.unused(result.contexts_used))
    used = {h.secret for h in result.hosts} | {h.tls.client_ca for h in result.hosts}
    result.secrets = [s for s in lookup.used() if s.name in used]
    return result
