"""What the diagnostics show of each certificate: never key bytes."""

from __future__ import annotations

import datetime
from typing import Any

from legation.ir.gateway import Gateway
from legation.ir.secrets import EXPIRY_WARNING_DAYS


def certificates(gateway: Gateway, now: datetime.datetime | None = None) -> list[dict[str, Any]]:
    """What the diagnostics show of each secret: never key bytes, only the certificate's
    subject, SANs, issuer, validity and fingerprint, and whether it expires soon."""
    now = now or datetime.datetime.now(datetime.UTC)
    out = []
    for secret in gateway.secrets:
        cert = secret.certificate
        left = datetime.datetime.fromisoformat(cert.not_after) - now
        out.append(
            {
                "name": secret.name,
                "kind": secret.kind.value,
                "source": secret.source,
                "subject": cert.subject,
                "issuer": cert.issuer,
                "sans": list(cert.sans),
                "not_before": cert.not_before,
                "not_after": cert.not_after,
                "fingerprint_sha256": cert.fingerprint_sha256,
                "expires_in_days": left.days,
                "expiring_soon": left < datetime.timedelta(days=EXPIRY_WARNING_DAYS),
            }
        )
    return out
