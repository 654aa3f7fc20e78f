"""Immutable snapshots of raw configuration objects, as the sources hand them on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from legation.ir.errors import ConfigProblem
from legation.model.oidc_discovery import OidcDiscovery
from legation.model.raw import RawObject


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one source holds at one moment: objects, plus problems reading them."""

    objects: tuple[RawObject, ...]
    problems: tuple[ConfigProblem, ...] = ()
    origin: str = ""
    """A short description of the source (e.g. `folder ./config`), for diagnostics."""
    files: Mapping[str, bytes | str] = field(default_factory=dict)
    """Files on the gateway's disk the objects name (TLSContext `cert_chain_file` ...),
    by the path as written: their bytes, or why they could not be read. Read at the
    edge (sources/cert_files.py) so compile stays pure, as Secrets are handed in."""
    discovery: Mapping[str, OidcDiscovery | str] = field(default_factory=dict)
    """The discovery documents of the OpenID providers that OAuth2 Filters name only by
    their issuer, by the issuer as written: the endpoints, or why there are none.
    Fetched at the edge (sources/oidc_discovery.py), like `files`."""
