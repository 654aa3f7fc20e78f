"""The `TLSContext` kind: TLS settings for the Hosts whose hostnames it lists.

The same fields may also be written inline as a Host's `tls`.
"""

from __future__ import annotations

from typing import Any

from legation.model.common import StrictModel


class TLSSettings(StrictModel):
    """The TLS parameters legation applies (shared by TLSContext and Host `tls`)."""

    min_tls_version: str | None = None
    """`v1.0` to `v1.3`."""
    max_tls_version: str | None = None
    cipher_suites: list[str] | None = None
    """BoringSSL cipher names (apply to TLS 1.2 and below)."""
    ecdh_curves: list[str] | None = None
    alpn_protocols: str | list[str] | None = None
    """Comma-separated (`h2,http/1.1`) or a list; default `h2,http/1.1`."""
    ca_secret: Any = None
    """Secret with the CA certificates (`ca.crt`, else `tls.crt`) that client
    certificates (mTLS) or, for a Mapping's `tls`, the upstream's certificate must
    chain to."""
    cert_required: Any = None
    """With `ca_secret`: refuse clients without a valid certificate (false: asked for,
    optional)."""
    sni: Any = None
    """Server name sent to an upstream (a Mapping's `tls`); default: the service host."""
    secret_namespacing: Any = None
    """False: a `.` in a Secret name is part of the name, not `name.namespace`."""
    redirect_cleartext_from: Any = None
    """A cleartext port whose requests for the Hosts using these settings are
    redirected to HTTPS (a port number, or a string of digits)."""
    cert_chain_file: Any = None
    """Path of a PEM certificate chain on the gateway's disk (instead of a Secret);
    watched: replacing the file rotates the certificate."""
    private_key_file: Any = None
    """Path of the PEM private key of `cert_chain_file`."""
    cacert_chain_file: Any = None
    """Path of a PEM CA bundle (instead of `ca_secret`)."""
    crl_secret: Any = None
    """Secret with a certificate revocation list (`crl.pem`) for the CA's certificates."""
    # accepted, not implemented yet (see TLS_NOT_YET_IMPLEMENTED)
    v3CRLSecret: Any = None


class TLSContextSpec(TLSSettings):
    """A TLSContext: `hosts` it applies to, the `secret` it must share with them."""

    hosts: list[str] | None = None
    """Hostnames of the Hosts it applies to (each Host must also use `secret`)."""
    secret: str | None = None
    """Name of the Secret holding the certificate (the Host's `tlsSecret`)."""


TLS_NOT_YET_IMPLEMENTED: tuple[str, ...] = ("v3CRLSecret",)
"""TLS fields that load but have no effect yet; each use gets a notice."""
