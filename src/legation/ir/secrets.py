"""Secrets: certificates with their keys, and CA bundles, served to Envoy over SDS.

A secret's name is stable for its source (a Kubernetes Secret `namespace/name`), so
replacing the certificate changes only the secret's content (and its xDS version):
Envoy gets one SDS push and the listeners that name it stay as they are. Key bytes are
kept out of `repr` and out of every serialised view (`to_data` shows a placeholder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from legation.ir.serialize import REDACTED

EXPIRY_WARNING_DAYS = 14
"""Certificates expiring sooner than this get a warning (notices, diagnostics)."""


class SecretKind(StrEnum):
    """What a secret holds."""

    CERTIFICATE = "certificate"
    """A certificate chain and its private key (a server or client identity)."""
    CA_BUNDLE = "ca_bundle"
    """Trusted CA certificates (to validate the other side)."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What may be shown about a certificate (never its key): for diagnostics."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    """DNS names (and IP addresses) of the subjectAltName extension."""
    not_before: str
    """ISO 8601, UTC."""
    not_after: str
    """ISO 8601, UTC."""
    fingerprint_sha256: str
    """SHA-256 of the leaf certificate's DER bytes, hex."""


@dataclass(frozen=True, slots=True)
class Secret:
    """One SDS secret: a certificate chain and key, or a CA bundle."""

    name: str
    """The SDS resource name, stable for its source (e.g. `default/example-tls`)."""
    kind: SecretKind
    content_hash: str
    """SHA-256 (first 16 hex digits) of the PEM content: changes exactly when it does."""
    certificate: CertificateInfo
    """The leaf certificate (for a CA bundle: its first certificate)."""
    source: str
    """The resource it came from, `Secret/name.namespace`."""
    certificate_chain: bytes = field(
        default=b"", repr=False, metadata={REDACTED: "<certificate chain, PEM>"}
    )
    """PEM certificates: the chain (leaf first), or the CA bundle."""
    private_key: bytes = field(default=b"", repr=False, metadata={REDACTED: "<private key>"})
    """PEM private key (certificates only). Never logged, printed or shown."""
    crl: bytes = field(default=b"", repr=False, metadata={REDACTED: "<CRL, PEM>"})
    """PEM certificate revocation lists checked with a CA bundle (`crl_secret`)."""
