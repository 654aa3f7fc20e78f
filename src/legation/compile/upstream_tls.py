"""TLS origination named by a Mapping's or TCPMapping's `tls`: a TLSContext, or `true`.

`tls: <name>` names a TLSContext in the resource's namespace: its `secret` becomes the
client certificate, its `ca_secret` the CA the upstream's certificate must chain to,
its `sni` the server name (default: the service's host), and its versions, ciphers and
ALPN apply. `tls: true` (v2) originates TLS with no certificate and no verification,
as `https://` does. Without a port, the service's port becomes 443, as in Emissary.
The cluster's name carries a hash of these settings, so two Mappings to one service
with different TLS get two clusters.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from legation.compile.service import ServiceAddress, cluster_prefix
from legation.compile.tls_contexts import ContextSecrets
from legation.ir.clusters import Cluster, Discovery, UpstreamTls
from legation.ir.errors import ConfigProblem
from legation.model.resource import Resource
from legation.model.tlscontext import TLSContextSpec


def _alpn(spec: TLSContextSpec) -> tuple[str, ...]:
    """Only ALPN written in the TLSContext: offering h2 by default could make the
    upstream answer in a protocol the cluster does not speak."""
    alpn = spec.alpn_protocols
    if isinstance(alpn, str):
        alpn = [p.strip() for p in alpn.split(",") if p.strip()]
    return tuple(alpn or ())


class UpstreamTlsResolver(ContextSecrets):
    """Turns `tls` values into TLS-originating clusters; remembers the secrets used."""

    def _settings(self, res: Resource[Any], name: str) -> UpstreamTls | ConfigProblem:
        found = self._contexts.by_name.get((res.namespace, name))
        if found is None:
            message = (
                f"TLSContext {name!r} (namespace {res.namespace}) does not exist or is invalid"
            )
            return res.problem("tls", message + "; left out")
        context, choice = found
        self.contexts_used.add(context.key)
        certificate = choice.certificate  # from cert_chain_file, or:
        if context.spec.secret is not None:
            secret = self._certificate(context.spec, res.namespace)
            if isinstance(secret, str):
                return res.problem("tls", f"{context.key}: client certificate: {secret}; left out")
            certificate = secret.name
        for used in (choice.client_ca, choice.certificate):
            loaded = self._lookup.loaded(used) if used is not None else None
            if loaded is not None:
                self._secrets[loaded.name] = loaded
        return UpstreamTls(
            sni=choice.sni,
            certificate=certificate,
            trusted_ca=choice.client_ca,
            min_version=choice.min_version,
            max_version=choice.max_version,
            cipher_suites=choice.cipher_suites,
            ecdh_curves=choice.ecdh_curves,
            alpn_protocols=_alpn(context.spec),
            context=context.key,
        )

    def originate(
        self, res: Resource[Any], cluster: Cluster, address: ServiceAddress
    ) -> tuple[Cluster | None, list[ConfigProblem]]:
        """`cluster` as the resource's `tls` wants it (None and an error when it cannot)."""
        value = res.spec.tls
        if value is None or value is False:
            return cluster, []
        problems = []
        settings = None
        if isinstance(value, str):
            found = self._settings(res, value)
            if isinstance(found, ConfigProblem):
                return None, [found]
            settings = found
            if cluster.service.lower().startswith("http://"):
                message = "the service says http://, but `tls` names a TLSContext: TLS is used"
                problems.append(res.problem("tls", message, notice=True))
        elif value is not True:
            return None, [res.problem("tls", "expected the name of a TLSContext, or true")]
        return _with_tls(cluster, address, settings), problems


def _with_tls(cluster: Cluster, address: ServiceAddress, tls: UpstreamTls | None) -> Cluster:
    port, name = cluster.port, cluster.name
    # an EDS cluster's port is the Service port its endpoints were asked for: kept
    if not (address.port_given or address.tls) and cluster.discovery is not Discovery.EDS:
        port = 443
        old = cluster_prefix(cluster.host, cluster.port)
        if name.startswith(old):
            name = cluster_prefix(cluster.host, port) + name[len(old) :]
    if not cluster.tls:
        name += "_tls"
    if tls is not None:
        digest = hashlib.sha1(repr(tls).encode(), usedforsecurity=False).hexdigest()[:8]
        name += f"_ctx{digest}"
    return dataclasses.replace(cluster, name=name, port=port, tls=True, upstream_tls=tls)
