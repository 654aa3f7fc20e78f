"""Test certificates: a CA and leaf certificates it signs, generated with `cryptography`."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Leaf:
    """A certificate (PEM) with its private key (PEM), signed by a `TestCA`."""

    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TestCA:
    """A self-signed CA; `issue()` makes server certificates for DNS names."""

    __test__ = False  # not a pytest test class

    def __init__(self, common_name: str = "legation test CA") -> None:
        """Generate the CA key and certificate (valid from an hour ago for ten days)."""
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self, *dns_names: str, days: float = 5, not_after: datetime.datetime | None = None
    ) -> Leaf:
        """A certificate for `dns_names` (the first is also the subject CN), valid from an
        hour ago for `days` days (or until `not_after`, which may be in the past)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        end = not_after or now + datetime.timedelta(days=days)
        start = min(now, end) - datetime.timedelta(hours=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(dns_names[0]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        return Leaf(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def revocation_list(self, *revoked: Leaf) -> bytes:
        """A CRL (PEM) signed by this CA that revokes the certificates `revoked`."""
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.cert.subject)
            .last_update(now - datetime.timedelta(minutes=5))
            .next_update(now + datetime.timedelta(days=1))
        )
        for leaf in revoked:
            serial = x509.load_pem_x509_certificate(leaf.cert_pem).serial_number
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(now - datetime.timedelta(minutes=1))
                .build()
            )
            builder = builder.add_revoked_certificate(entry)
        crl = builder.sign(self._key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM)
