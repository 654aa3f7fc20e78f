"""IR secrets → Envoy SDS `Secret`s, and TLS contexts that name them.

Listeners refer to certificates by name (`sds_config: ads`), never inline, so a new
certificate is one SDS push and the listener is not touched. `redact_secret_data` is
the only way a Secret is shown (golden files, `legation translate`): no key bytes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2, tls_pb2
from envoy.type.matcher.v3 import string_pb2

from legation.envoy.config_source import ads_source
from legation.ir.clusters import UpstreamTls
from legation.ir.listeners import DownstreamTls
from legation.ir.secrets import Secret, SecretKind

SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"
"""The system's CA bundle (Debian's path; the image is Debian)."""

TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls"
"""Name of the TLS transport socket in a filter chain or cluster."""


def translate_secret(secret: Secret) -> Any:
    """A `tls_certificate` (chain + key) or a `validation_context` (trusted CAs)."""
    if secret.kind is SecretKind.CERTIFICATE:
        return secret_pb2.Secret(
            name=secret.name,
            tls_certificate=common_pb2.TlsCertificate(
                certificate_chain=base_pb2.DataSource(inline_bytes=secret.certificate_chain),
                private_key=base_pb2.DataSource(inline_bytes=secret.private_key),
            ),
        )
    validation = common_pb2.CertificateValidationContext(
        trusted_ca=base_pb2.DataSource(inline_bytes=secret.certificate_chain)
    )
    if secret.crl:  # in the same SDS secret: a new CRL is one push, like a new CA
        validation.crl.inline_bytes = secret.crl
    return secret_pb2.Secret(name=secret.name, validation_context=validation)


def _placeholder(source: dict[str, Any], what: str) -> dict[str, str]:
    size = sum(len(str(v)) for v in source.values())
    return {"inline_bytes": f"<{what}, {size} base64 characters, redacted>"}


def redact_secret_data(data: dict[str, Any]) -> dict[str, Any]:
    """A Secret's plain data (proto3 JSON) with every key and certificate byte replaced."""
    cert = data.get("tls_certificate")
    if isinstance(cert, dict):
        for name, what in (("certificate_chain", "certificate chain"), ("private_key", "key")):
            if isinstance(cert.get(name), dict):
                cert[name] = _placeholder(cert[name], what)
    generic = data.get("generic_secret")
    if isinstance(generic, dict) and isinstance(generic.get("secret"), dict):
        generic["secret"] = _placeholder(generic["secret"], "secret")
    validation = data.get("validation_context")
    if isinstance(validation, dict):
        for name, what in (("trusted_ca", "CA bundle"), ("crl", "CRL")):
            if isinstance(validation.get(name), dict):
                validation[name] = _placeholder(validation[name], what)
    return data


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _sds(name: str) -> Any:
    return secret_pb2.SdsSecretConfig(name=name, sds_config=ads_source())


def _common_context(
    certificates: tuple[str, ...],
    alpn: tuple[str, ...],
    tls: DownstreamTls | UpstreamTls,
    trusted_ca: str | None,
) -> Any:
    """Certificates and the CA bundle named over SDS, ALPN and protocol parameters."""
    common = tls_pb2.CommonTlsContext(
        tls_certificate_sds_secret_configs=[_sds(name) for name in certificates],
        alpn_protocols=list(alpn),
    )
    if trusted_ca is not None:
        common.validation_context_sds_secret_config.CopyFrom(_sds(trusted_ca))
    params = common.tls_params
    protocol = common_pb2.TlsParameters.TlsProtocol
    if tls.min_version is not None:
        params.tls_minimum_protocol_version = protocol.Value(tls.min_version)
    if tls.max_version is not None:
        params.tls_maximum_protocol_version = protocol.Value(tls.max_version)
    params.cipher_suites.extend(tls.cipher_suites)
    params.ecdh_curves.extend(tls.ecdh_curves)
    if params.ByteSize() == 0:
        common.ClearField("tls_params")  # reading it above marked it present
    return common


def downstream_tls_context(tls: DownstreamTls) -> Any:
    """The `DownstreamTlsContext` of a terminating filter chain: certificates over SDS.

    With a client CA the client's certificate is asked for and checked (mTLS); it is
    only required when `require_client_certificate` says so.
    """
    common = _common_context(tls.certificates, tls.alpn_protocols, tls, tls.client_ca)
    context = tls_pb2.DownstreamTlsContext(common_tls_context=common)
    if tls.require_client_certificate:
        context.require_client_certificate.value = True
    return context


def upstream_tls_context(host: str, tls: UpstreamTls | None) -> Any:
    """The `UpstreamTlsContext` of a cluster that originates TLS; SNI is `host` unless
    the TLSContext names another."""
    if tls is None:
        return tls_pb2.UpstreamTlsContext(sni=host)
    certificates = (tls.certificate,) if tls.certificate is not None else ()
    common = _common_context(certificates, tls.alpn_protocols, tls, tls.trusted_ca)
    if tls.system_ca and tls.trusted_ca is None:
        common.validation_context.trusted_ca.filename = SYSTEM_CA_FILE
    if tls.verify_san is not None:
        kinds = common_pb2.SubjectAltNameMatcher
        matcher = kinds(
            san_type=kinds.IP_ADDRESS if _is_ip(tls.verify_san) else kinds.DNS,
            matcher=string_pb2.StringMatcher(exact=tls.verify_san),
        )
        if tls.trusted_ca is not None:  # the CA comes over SDS: add the name check beside it
            combined = common.combined_validation_context
            combined.validation_context_sds_secret_config.CopyFrom(
                common.validation_context_sds_secret_config
            )
            common.ClearField("validation_context_sds_secret_config")
            combined.default_validation_context.match_typed_subject_alt_names.append(matcher)
        else:
            common.validation_context.match_typed_subject_alt_names.append(matcher)
    context = tls_pb2.UpstreamTlsContext(common_tls_context=common, sni=tls.sni or host)
    if tls.allow_renegotiation:
        context.allow_renegotiation = True
    return context
