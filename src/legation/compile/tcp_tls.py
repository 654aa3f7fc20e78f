"""TLS termination for TCPMappings with a `host`: the certificate for that SNI.

As in Emissary, a TCPMapping's `host` is the SNI its filter chain matches, and the chain
terminates TLS with a certificate for that name: a Host's (with a `tlsSecret`, its
TLSContext's settings too) or a TLSContext's whose `hosts` list the name (and whose
`secret` is set). legation takes the most specific: a Host for exactly that name, then
a TLSContext listing it, then a wildcard Host matching it (longest first), then a `*`
Host. (Emissary takes the first Host by hostname, so `*` before exact names.) Without
any, TLS is passed through to the service unchanged (Emissary refuses the TCPMapping).
The TCPMapping's own `tls` is about the other side: TLS to the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from legation.compile.hosts import CompiledHost
from legation.compile.tls_contexts import (
    DEFAULT_ALPN,
    ContextSecrets,
    TlsChoice,
    TlsContexts,
    secret_ref,
)
from legation.compile.tls_listener import chain_tls
from legation.compile.tls_secrets import SecretLookup
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.listeners import DownstreamTls
from legation.ir.secrets import Secret


@dataclass(frozen=True, slots=True)
class Termination:
    """How a TCP chain terminates TLS, and which resource gave the certificate."""

    tls: DownstreamTls
    provider: str
    """Key of the Host or TLSContext whose certificate is used."""


def downstream(secret: str, choice: TlsChoice) -> DownstreamTls:
    """The chain's TLS: ALPN only when written (other than the HTTP default), since a
    raw TCP service speaks neither h2 nor http/1.1 on a client's behalf."""
    alpn = () if choice.alpn_protocols == DEFAULT_ALPN else choice.alpn_protocols
    return chain_tls(secret, choice, alpn)


class TcpTermination(ContextSecrets):
    """Finds the certificate for a TCPMapping's SNI; remembers the secrets it used."""

    def __init__(
        self, hosts: Sequence[CompiledHost], contexts: TlsContexts, lookup: SecretLookup
    ) -> None:
        """Look among the valid `hosts` and `contexts`, loading secrets from `lookup`."""
        super().__init__(contexts, lookup)
        self._hosts = [h for h in hosts if h.secret is not None]

    def for_sni(self, sni: str) -> Termination | str | None:
        """The termination for `sni`, None without a certificate, or what is wrong."""
        exact = [h for h in self._hosts if h.hostname == sni]
        if exact:
            return _from_host(exact[0])
        found = self._from_context(sni)
        if found is not None:
            return found
        globs = [h for h in self._hosts if h.hostname != sni and fnmatchcase(sni, h.hostname)]
        globs.sort(key=lambda h: (h.hostname == "*", -len(h.hostname), h.hostname))
        return _from_host(globs[0]) if globs else None

    def _from_context(self, sni: str) -> Termination | str | None:
        for res, choice in sorted(self._contexts.by_name.values(), key=lambda rc: rc[0].key):
            spec = res.spec
            if spec.secret is None or sni not in [h.lower() for h in spec.hosts or ()]:
                continue
            self.contexts_used.add(res.key)
            secret = self._certificate(spec, res.namespace)
            if isinstance(secret, str):
                return f"{res.key}: {secret}"
            if spec.ca_secret is not None and choice.client_ca is not None:
                ca = self._lookup.ca_bundle(
                    *secret_ref(spec.ca_secret, res.namespace, spec.secret_namespacing)
                )
                if isinstance(ca, Secret):
                    self._secrets[ca.name] = ca
            return Termination(downstream(secret.name, choice), res.key)
        return None


def _from_host(host: CompiledHost) -> Termination:
    assert host.secret is not None
    return Termination(downstream(host.secret, host.tls), host.key)


def sni_conflicts(
    port: int,
    hosts: Sequence[CompiledHost],
    owners: Mapping[tuple[int, str], tuple[str, str | None]],
) -> tuple[list[CompiledHost], list[ConfigProblem]]:
    """The Hosts that keep their TLS chain on `port`, and a problem for each that loses
    it to a TCPMapping with its very hostname as `host` (the TCPMapping wins, as in
    Emissary). Only a notice when the TCPMapping terminates with this Host's certificate:
    that is a way to give a TCPMapping its certificate."""
    kept, problems = [], []
    for host in hosts:
        owner = owners.get((port, host.hostname)) if host.secret is not None else None
        if owner is None:
            kept.append(host)
            continue
        mapping, provider = owner
        message = (
            f"TLS for {host.hostname!r} on port {port} goes to {mapping} (its `host`), "
            "so this Host's routes are not served over TLS there"
        )
        notice = provider == host.key
        if notice:
            message += "; the TCPMapping terminates TLS with this Host's certificate"
        severity = Severity.NOTICE if notice else Severity.ERROR
        problems.append(ConfigProblem(host.source, host.key, message, severity=severity))
    return kept, problems
