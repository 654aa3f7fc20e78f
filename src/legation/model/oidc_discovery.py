"""An OpenID provider's discovery document, as far as an OAuth2 Filter needs it.

An OAuth2 Filter that names only its issuer (`authorizationURL`) takes the provider's
endpoints from `<issuer>/.well-known/openid-configuration`. The document is fetched at
the edge (sources/oidc_discovery.py) and handed to compile in the snapshot
(`Snapshot.discovery`), so compile stays pure. This module is the pure part both
sides share: which raw Filters need a document, where it is, and what a valid one is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DISCOVERY_PATH = "/.well-known/openid-configuration"

ENDPOINT_FIELDS = ("authorizationEndpoint", "tokenEndpoint")
"""The Filter's own endpoint fields: with both given, no discovery is needed."""


@dataclass(frozen=True, slots=True)
class OidcDiscovery:
    """The endpoints a valid discovery document gives."""

    authorization_endpoint: str
    token_endpoint: str
    end_session_endpoint: str | None = None
    stale: str | None = None
    """Why the latest re-fetch failed, when this is the last good document kept."""


Discovered = Mapping[str, OidcDiscovery | str]
"""Issuer URL (as the Filter writes it) → its document, or why there is none."""


def discovery_url(issuer: str) -> str:
    """Where the issuer's discovery document is (OIDC Discovery 1.0, section 4)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def issuer_needing_discovery(doc: Mapping[str, Any]) -> str | None:
    """The issuer whose document a raw object needs: an OAuth2 Filter with an http(s)
    `authorizationURL` that lacks `authorizationEndpoint` or `tokenEndpoint`."""
    if doc.get("kind") != "Filter":
        return None
    spec = doc.get("spec")
    if not isinstance(spec, dict) or spec.get("JWT") is not None:
        return None
    oauth2 = spec.get("OAuth2")
    if not isinstance(oauth2, dict):
        return None
    issuer = oauth2.get("authorizationURL")
    if not isinstance(issuer, str) or not issuer.startswith(("http://", "https://")):
        return None
    if all(oauth2.get(name) for name in ENDPOINT_FIELDS):
        return None
    return issuer


def issuers_needing_discovery(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every issuer some of `docs` need a discovery document of, sorted, once each."""
    return sorted({i for d in docs if (i := issuer_needing_discovery(d)) is not None})


def parse_discovery(issuer: str, body: bytes) -> OidcDiscovery | str:
    """The endpoints of a discovery document, or what is wrong with it.

    Its `issuer` must be the Filter's `authorizationURL` (OIDC Discovery 1.0, section
    4.3; a trailing `/` on either side is ignored): otherwise the document describes
    another provider, and logins would go there.
    """
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return f"is not JSON ({exc})"
    if not isinstance(doc, dict):
        return f"is not a JSON object (got {type(doc).__name__})"
    named = doc.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        return f"names issuer {named!r}, not the authorizationURL {issuer!r}"
    found: dict[str, str | None] = {}
    for key in ("authorization_endpoint", "token_endpoint", "end_session_endpoint"):
        value = doc.get(key)
        if value is None and key == "end_session_endpoint":
            found[key] = None
        elif not isinstance(value, str) or not value:
            return f"has no {key}" if value is None else f"has {key} {value!r}, not a URL"
        else:
            found[key] = value
    return OidcDiscovery(
        authorization_endpoint=found["authorization_endpoint"] or "",
        token_endpoint=found["token_endpoint"] or "",
        end_session_endpoint=found["end_session_endpoint"],
    )
