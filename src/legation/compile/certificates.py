"""PEM certificate chains and keys → IR secrets, checked the way Envoy would load them.

Pure (parsing only). Problems are described without quoting any key material.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtensionOID

from legation.ir.secrets import EXPIRY_WARNING_DAYS, CertificateInfo, Secret, SecretKind

_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)
"""What Envoy serves: RSA and ECDSA keys."""


class CertificateError(ValueError):
    """A certificate or key that Envoy could not use; the message names what is wrong."""


def _certificates(pem: bytes, what: str) -> list[x509.Certificate]:
    if b"-----BEGIN" not in pem:
        raise CertificateError(f"{what} is not PEM (no -----BEGIN line)")
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CertificateError(f"{what} is not a valid PEM certificate ({exc})") from None
    if not certs:
        raise CertificateError(f"{what} holds no certificate")
    return certs


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return ()
    value = san.value
    assert isinstance(value, x509.SubjectAlternativeName)
    dns = value.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in value.get_values_for_type(x509.IPAddress)]
    return tuple(dns + ips)


def certificate_info(cert: x509.Certificate) -> CertificateInfo:
    """Subject, issuer, SANs, validity and fingerprint: what may be shown."""
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=_names(cert),
        not_before=cert.not_valid_before_utc.astimezone(UTC).isoformat(),
        not_after=cert.not_valid_after_utc.astimezone(UTC).isoformat(),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )


def _load_key(pem: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if b"-----BEGIN" not in pem:
        raise CertificateError("the private key is not PEM (no -----BEGIN line)")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        # never echo the library's message: it may quote the key's bytes
        raise CertificateError(
            "the private key is not a valid unencrypted PEM private key"
        ) from None
    if not isinstance(key, _KEY_TYPES):
        raise CertificateError("the private key is neither RSA nor ECDSA, which Envoy needs")
    return key


def _spki(public: CertificatePublicKeyTypes) -> bytes:
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _content_hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()[:16]


def certificate_secret(name: str, source: str, chain: bytes, key: bytes) -> Secret:
    """A certificate secret, once the chain parses and the key matches its first cert."""
    certs = _certificates(chain, "the certificate")
    private = _load_key(key)
    if _spki(private.public_key()) != _spki(certs[0].public_key()):
        raise CertificateError("the private key does not match the certificate")
    return Secret(
        name=name,
        kind=SecretKind.CERTIFICATE,
        content_hash=_content_hash(chain, key),
        certificate=certificate_info(certs[0]),
        source=source,
        certificate_chain=chain,
        private_key=key,
    )


def pair_matches(chain: bytes, key: bytes) -> bool:
    """Whether `key` is the usable private key of the first certificate of `chain`."""
    try:
        certificate_secret("", "", chain, key)
    except CertificateError:
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    except x509.ExtensionNotFound:
        return False
    value = constraints.value
    assert isinstance(value, x509.BasicConstraints)
    return value.ca


def ca_bundle_secret(name: str, source: str, bundle: bytes) -> Secret:
    """A CA bundle secret, once every certificate in it parses and is a CA
    (basicConstraints CA:TRUE, without which no verifier trusts it as an issuer)."""
    certs = _certificates(bundle, "the CA bundle")
    for i, cert in enumerate(certs):
        if not _is_ca(cert):
            raise CertificateError(
                f"certificate {i + 1} of the CA bundle ({cert.subject.rfc4514_string()}) is "
                "not a CA certificate (basicConstraints CA:TRUE missing)"
            )
    return Secret(
        name=name,
        kind=SecretKind.CA_BUNDLE,
        content_hash=_content_hash(bundle),
        certificate=certificate_info(certs[0]),
        source=source,
        certificate_chain=bundle,
    )


def with_crl(ca: Secret, name: str, source: str, crl: bytes) -> Secret:
    """The CA bundle `ca` with revocation lists: one validation-context secret.

    Each CRL must parse and be issued by a CA of the bundle: Envoy checks a client's
    certificate against the CRL of its issuer, so a CRL from another CA revokes nothing.
    """
    if b"-----BEGIN" not in crl:
        raise CertificateError("the CRL is not PEM (no -----BEGIN line)")
    try:
        parsed = x509.load_pem_x509_crl(crl)
    except ValueError as exc:
        raise CertificateError(f"the CRL is not a valid PEM CRL ({exc})") from None
    issuers = {c.subject for c in _certificates(ca.certificate_chain, "the CA bundle")}
    if parsed.issuer not in issuers:
        raise CertificateError(
            f"the CRL is issued by {parsed.issuer.rfc4514_string()}, which is not a CA of "
            "the CA bundle"
        )
    return Secret(
        name=name,
        kind=SecretKind.CA_BUNDLE,
        content_hash=_content_hash(ca.certificate_chain, crl),
        certificate=ca.certificate,
        source=f"{ca.source}, {source}",
        certificate_chain=ca.certificate_chain,
        crl=crl,
    )


def expiry_warning(secret: Secret, now: datetime) -> str | None:
    """A warning for a certificate that has expired or expires within 14 days, or None.

    Expired certificates are still served (as Emissary does): clients decide.
    """
    cert = secret.certificate
    not_after = datetime.fromisoformat(cert.not_after)
    what = f"certificate {cert.subject} ({secret.source})"
    if not_after <= now:
        return f"{what} expired on {cert.not_after}; it is still served"
    left = not_after - now
    if left < timedelta(days=EXPIRY_WARNING_DAYS):
        return f"{what} expires on {cert.not_after}, in {left.days} day(s)"
    return None
