"""TLSContexts (and a Host's inline `tls`) → the TLS parameters of a Host's chain.

A TLSContext alone never terminates TLS: a Host does, and takes its settings from the
TLSContext it names (`tlsContext`), from its inline `tls`, or from a TLSContext whose
`hosts` list its hostname (and whose `secret`, if set, is the Host's `tlsSecret`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from legation.compile.certificates import expiry_warning
from legation.compile.tls_secrets import SecretLookup
from legation.ir.errors import ConfigProblem, Severity
from legation.ir.secrets import Secret
from legation.model.resource import Resource
from legation.model.tlscontext import TLS_NOT_YET_IMPLEMENTED, TLSContextSpec, TLSSettings

VERSIONS = {"v1.0": "TLSv1_0", "v1.1": "TLSv1_1", "v1.2": "TLSv1_2", "v1.3": "TLSv1_3"}
"""Ambassador's version names → Envoy's `TlsParameters.TlsProtocol` names."""

DEFAULT_ALPN = ("h2", "http/1.1")
"""Offered when nothing says otherwise, so HTTP/2 and gRPC work over TLS."""


@dataclass(frozen=True, slots=True)
class TlsChoice:
    """The TLS parameters of one Host (hashable: chains are grouped by it)."""

    min_version: str | None = None
    """Envoy's name, e.g. `TLSv1_2`; None keeps Envoy's default."""
    max_version: str | None = None
    cipher_suites: tuple[str, ...] = ()
    ecdh_curves: tuple[str, ...] = ()
    alpn_protocols: tuple[str, ...] = DEFAULT_ALPN
    context: str | None = None
    """Key of the TLSContext (or of the Host, for inline `tls`) it came from; None for
    the defaults."""
    client_ca: str | None = None
    """IR secret name of the CA bundle client certificates are checked against (mTLS)."""
    cert_required: bool = False
    """Refuse clients without a valid certificate (else the certificate is optional)."""
    sni: str | None = None
    """Server name sent when the settings originate TLS to an upstream."""
    certificate: str | None = None
    """IR secret name of the certificate read from `cert_chain_file` and
    `private_key_file`, when the settings name files instead of a Secret."""
    redirect_cleartext_from: int | None = None
    """The cleartext port whose requests for the Hosts using these settings are
    redirected to HTTPS (their insecure action Redirect)."""


DEFAULT_TLS = TlsChoice()


def secret_ref(name: str, namespace: str, namespacing: bool | None) -> tuple[str, str]:
    """(namespace, name) of a Secret named in a TLSContext: `name.namespace` names
    another namespace unless `secret_namespacing` is false (as in Emissary)."""
    if namespacing is not False and "." in name:
        name, namespace = name.rsplit(".", 1)
    return namespace, name


def _path(settings: TLSSettings, name: str) -> str | tuple[str, str] | None:
    value = getattr(settings, name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        return name, "expected the path of a PEM file on the gateway's disk"
    return value


def _certificate_files(
    settings: TLSSettings, lookup: SecretLookup | None
) -> Secret | tuple[str, str] | None:
    """The certificate of `cert_chain_file` + `private_key_file`, None without them."""
    chain, key = _path(settings, "cert_chain_file"), _path(settings, "private_key_file")
    for found in (chain, key):
        if isinstance(found, tuple):
            return found
    if chain is None and key is None:
        return None
    if chain is None or key is None:
        given, missing = ("cert_chain_file", "private_key_file")[:: 1 if chain else -1]
        return missing, f"needed with {given}: the key of the certificate"
    if getattr(settings, "secret", None) is not None:
        return "cert_chain_file", "set either secret or cert_chain_file, not both"
    if lookup is None:
        return None
    assert isinstance(chain, str) and isinstance(key, str)
    secret = lookup.certificate_file(chain, key)
    return ("cert_chain_file", secret) if isinstance(secret, str) else secret


def _ca_bundle(
    settings: TLSSettings, namespace: str, lookup: SecretLookup
) -> Secret | tuple[str, str]:
    """The CA of `ca_secret` or `cacert_chain_file` (one is set)."""
    if settings.cacert_chain_file is not None:
        path = _path(settings, "cacert_chain_file")
        if isinstance(path, tuple) or path is None:
            return path or ("cacert_chain_file", "expected a path")
        found = lookup.ca_file(path)
        return ("cacert_chain_file", found) if isinstance(found, str) else found
    where = secret_ref(settings.ca_secret, namespace, settings.secret_namespacing)
    found = lookup.ca_bundle(*where)
    return ("ca_secret", found) if isinstance(found, str) else found


def _crl(
    settings: TLSSettings, ca: Secret, namespace: str, lookup: SecretLookup
) -> Secret | tuple[str, str]:
    """`ca` with the revocation list of `crl_secret`, when set."""
    if settings.crl_secret is None:
        return ca
    if not isinstance(settings.crl_secret, str) or not settings.crl_secret:
        return "crl_secret", "expected the name of a Secret holding crl.pem"
    where = secret_ref(settings.crl_secret, namespace, settings.secret_namespacing)
    found = lookup.with_crl(ca, *where)
    return ("crl_secret", found) if isinstance(found, str) else found


def _client_ca(
    settings: TLSSettings, namespace: str, lookup: SecretLookup | None
) -> Secret | tuple[str, str] | None:
    """The CA bundle (with its CRL) named by `ca_secret` or `cacert_chain_file`, None
    without one, or (field, message)."""
    if settings.cert_required is not None and not isinstance(settings.cert_required, bool):
        return "cert_required", "expected true or false"
    if settings.ca_secret is not None and settings.cacert_chain_file is not None:
        return "cacert_chain_file", "set either ca_secret or cacert_chain_file, not both"
    if settings.ca_secret is None and settings.cacert_chain_file is None:
        if settings.cert_required:
            return "cert_required", "needs ca_secret: the CA client certificates must chain to"
        if settings.crl_secret is not None:
            return "crl_secret", "needs ca_secret (or cacert_chain_file): the CA it revokes for"
        return None
    if settings.ca_secret is not None and (
        not isinstance(settings.ca_secret, str) or not settings.ca_secret
    ):
        return "ca_secret", "expected the name of a Secret holding CA certificates"
    if lookup is None:
        return None
    ca = _ca_bundle(settings, namespace, lookup)
    return ca if isinstance(ca, tuple) else _crl(settings, ca, namespace, lookup)


def tls_choice(
    settings: TLSSettings,
    context: str | None = None,
    namespace: str = "default",
    lookup: SecretLookup | None = None,
) -> TlsChoice | tuple[str, str]:
    """The parameters `settings` ask for, or (field, message) for the first bad one.

    `ca_secret` and `crl_secret` are looked up in `lookup` (in `namespace` unless they
    name another), and so are the certificate files.
    """
    ca = _client_ca(settings, namespace, lookup)
    if isinstance(ca, tuple):
        return ca
    certificate = _certificate_files(settings, lookup)
    if isinstance(certificate, tuple):
        return certificate
    if settings.sni is not None and not isinstance(settings.sni, str):
        return "sni", "expected a server name"
    redirect = port_number(settings.redirect_cleartext_from)
    if isinstance(redirect, str):
        return "redirect_cleartext_from", redirect
    versions = []
    for name in ("min_tls_version", "max_tls_version"):
        value = getattr(settings, name)
        if value is not None and value not in VERSIONS:
            return name, f"{value!r} is not one of {', '.join(VERSIONS)}"
        versions.append(VERSIONS[value] if value is not None else None)
    low, high = versions
    if low is not None and high is not None and low > high:
        return "min_tls_version", "is above max_tls_version"
    alpn = settings.alpn_protocols
    if isinstance(alpn, str):
        alpn = [p.strip() for p in alpn.split(",") if p.strip()]
    return TlsChoice(
        min_version=low,
        max_version=high,
        cipher_suites=tuple(settings.cipher_suites or ()),
        ecdh_curves=tuple(settings.ecdh_curves or ()),
        alpn_protocols=tuple(alpn) if alpn else DEFAULT_ALPN,
        context=context,
        client_ca=ca.name if ca is not None else None,
        cert_required=bool(settings.cert_required) and ca is not None,
        sni=settings.sni or None,
        certificate=certificate.name if certificate is not None else None,
        redirect_cleartext_from=redirect,
    )


def port_number(value: object) -> int | str | None:
    """A port number written as a number or a string of digits, None for none, or what
    is wrong with it."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return f"expected a port number (1-65535), not {value!r}"


def settings_notices(
    res: Resource[Any], settings: TLSSettings, prefix: str = ""
) -> list[ConfigProblem]:
    """A notice for each TLS field that loads but has no effect yet."""
    return [
        ConfigProblem(
            res.field_source(prefix + name),
            res.key,
            "accepted but not implemented yet; it has no effect",
            field=res.spec_path + prefix + name,
            severity=Severity.NOTICE,
        )
        for name in TLS_NOT_YET_IMPLEMENTED
        if getattr(settings, name) is not None
    ]


@dataclass
class TlsContexts:
    """Valid TLSContexts by (namespace, name), and the problems of the others."""

    by_name: dict[tuple[str, str], tuple[Resource[TLSContextSpec], TlsChoice]] = field(
        default_factory=dict
    )
    problems: list[ConfigProblem] = field(default_factory=list)

    def for_hostname(self, hostname: str, secret: str | None) -> TlsChoice | None:
        """The first TLSContext (by key) listing `hostname` whose secret is `secret`."""
        for res, choice in sorted(self.by_name.values(), key=lambda rc: rc[0].key):
            hosts = [h.lower() for h in res.spec.hosts or ()]
            if hostname in hosts and res.spec.secret in (None, secret):
                return choice
        return None

    def unused(self, used: set[str]) -> list[ConfigProblem]:
        """A notice for each valid TLSContext no Host took its settings from."""
        message = "no Host uses this TLSContext; a TLSContext alone does not terminate TLS"
        return [
            ConfigProblem(res.source, res.key, message, severity=Severity.NOTICE)
            for res, _ in self.by_name.values()
            if res.key not in used
        ]


def expiry_notices(
    res: Resource[Any],
    named: Sequence[tuple[str, str | None]],
    lookup: SecretLookup,
    now: datetime | None,
) -> list[ConfigProblem]:
    """A warning notice on `res` for each (field, IR secret name) whose certificate has
    expired or expires within 14 days (none without `now`: compile has no clock)."""
    out = []
    for name, secret_name in named:
        secret = lookup.loaded(secret_name) if secret_name and now else None
        warning = expiry_warning(secret, now) if secret is not None and now else None
        if warning is not None:
            out.append(res.problem(name, warning, notice=True))
    return out


def _context_expiry(
    res: Resource[TLSContextSpec], choice: TlsChoice, lookup: SecretLookup, now: datetime | None
) -> list[ConfigProblem]:
    ca_field = "cacert_chain_file" if res.spec.cacert_chain_file is not None else "ca_secret"
    # a `secret` is warned about on the Host whose tlsSecret it is
    named = [("cert_chain_file", choice.certificate), (ca_field, choice.client_ca)]
    return expiry_notices(res, named, lookup, now)


def compile_tls_contexts(
    resources: Sequence[Resource[TLSContextSpec]],
    lookup: SecretLookup | None = None,
    now: datetime | None = None,
) -> TlsContexts:
    """Check every TLSContext; a bad one is an error on its field and is left out.

    With `lookup`, the CA bundle of `ca_secret` must exist and hold CA certificates,
    and the certificate files must hold a certificate and its key; with `now` too,
    certificates that expired or expire soon get a warning notice.
    """
    out = TlsContexts()
    for res in sorted(resources, key=lambda r: r.key):
        out.problems.extend(settings_notices(res, res.spec))
        choice = tls_choice(res.spec, res.key, res.namespace, lookup)
        if isinstance(choice, tuple):
            name, message = choice
            out.problems.append(
                ConfigProblem(res.field_source(name), res.key, message, field=res.spec_path + name)
            )
            continue
        out.by_name[(res.namespace, res.name)] = (res, choice)
        if lookup is not None:
            out.problems.extend(_context_expiry(res, choice, lookup, now))
    return out


class ContextSecrets:
    """Base of what takes certificates from TLSContexts (TCP termination, upstream TLS):
    remembers the secrets it used and the TLSContexts it took settings from."""

    def __init__(self, contexts: TlsContexts, lookup: SecretLookup) -> None:
        """Resolve against valid `contexts`, loading secrets from `lookup`."""
        self._contexts = contexts
        self._lookup = lookup
        self._secrets: dict[str, Secret] = {}
        self.contexts_used: set[str] = set()
        """Keys of the TLSContexts something took its settings (or certificate) from."""

    def secrets(self) -> list[Secret]:
        """The certificates and CA bundles used, sorted by name."""
        return [self._secrets[name] for name in sorted(self._secrets)]

    def _certificate(self, spec: TLSContextSpec, namespace: str) -> Secret | str:
        """The certificate a TLSContext's `secret` names (kept as used), or what is wrong."""
        assert spec.secret is not None
        secret = self._lookup.certificate(
            *secret_ref(spec.secret, namespace, spec.secret_namespacing)
        )
        if isinstance(secret, Secret):
            self._secrets[secret.name] = secret
        return secret
