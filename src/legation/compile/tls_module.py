"""The `tls` Module (Ambassador 0.x/1.x) → a Host for `*` and the TLSContext it uses.

As in Emissary: `server` (enabled unless `enabled: false`) terminates TLS for every
host with its `secret` (default `ambassador-certs`), `alpn_protocols` and
`redirect_cleartext_from` (the Host's cleartext requests are redirected); `client`
adds client certificates checked against its `secret` (default `ambassador-cacert`),
required when `cert_required`. `server.cert_chain_file` / `private_key_file` and
`client.cacert_chain_file` name PEM files instead of the Secrets. Other keys
(origination contexts) get a notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from legation.ir.errors import ConfigProblem, Severity
from legation.model.host import HostSpec
from legation.model.resource import Resource
from legation.model.tls_module import LegacyTlsClient, LegacyTlsServer, TlsModuleSpec
from legation.model.tlscontext import TLSContextSpec

CONTEXT_NAME = "tls-module-server"
"""Name of the TLSContext made from the Module's `server` block."""


@dataclass
class TlsModuleResult:
    """The Host and TLSContext made from the `tls` Module, and its notices."""

    resources: list[Resource[Any]] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def _notice(res: Resource[TlsModuleSpec], name: str, message: str) -> ConfigProblem:
    path = res.spec_path + "config." + name
    return ConfigProblem(
        res.field_source("config." + name), res.key, message, field=path, severity=Severity.NOTICE
    )


def _context_spec(server: LegacyTlsServer, client: LegacyTlsClient | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"hosts": ["*"]}
    if server.cert_chain_file is not None or server.private_key_file is not None:
        spec["cert_chain_file"] = server.cert_chain_file
        spec["private_key_file"] = server.private_key_file
    else:
        spec["secret"] = server.secret or "ambassador-certs"
    if server.alpn_protocols:
        spec["alpn_protocols"] = server.alpn_protocols
    if server.redirect_cleartext_from is not None:
        spec["redirect_cleartext_from"] = server.redirect_cleartext_from
    if client is not None and client.enabled:
        if client.cacert_chain_file is not None:
            spec["cacert_chain_file"] = client.cacert_chain_file
        else:
            spec["ca_secret"] = client.secret or "ambassador-cacert"
        if client.cert_required is not None:
            spec["cert_required"] = client.cert_required
    return spec


def _made(res: Resource[TlsModuleSpec], kind: str, name: str, spec: Any) -> Resource[Any]:
    return Resource(
        kind=kind,
        name=name,
        namespace=res.namespace,
        api_version=res.api_version,
        ambassador_id=res.ambassador_id,
        spec=spec,
        raw=res.raw,
        spec_path=res.spec_path + "config.server.",
        key=f"{res.key}:server:{kind}",
    )


def tls_module_resources(modules: Sequence[Resource[Any]]) -> TlsModuleResult:
    """The Host and TLSContext of every `tls` Module's enabled `server` block."""
    out = TlsModuleResult()
    for res in sorted(
        (m for m in modules if isinstance(m.spec, TlsModuleSpec)), key=lambda r: r.key
    ):
        config = res.spec.config
        for name in sorted(config.model_extra or {}):
            out.problems.append(
                _notice(
                    res,
                    name,
                    "origination contexts of the tls Module are not supported; use a "
                    "TLSContext and a Mapping's `tls`",
                )
            )
        server = config.server
        if server is None or not server.enabled:
            continue
        spec = _context_spec(server, config.client)
        host_spec: dict[str, Any] = {"hostname": "*", "tlsContext": {"name": CONTEXT_NAME}}
        if "secret" in spec:  # with files, the TLSContext carries the certificate
            host_spec["tlsSecret"] = {"name": spec["secret"]}
        host = HostSpec.model_validate(host_spec)
        out.resources.append(
            _made(res, "TLSContext", CONTEXT_NAME, TLSContextSpec.model_validate(spec))
        )
        out.resources.append(_made(res, "Host", f"{res.name}-server", host))
    return out
