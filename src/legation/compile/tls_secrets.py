"""Kubernetes Secrets named by Hosts → IR certificate secrets, or the reason they fail.

Only referenced Secrets become IR secrets. The SDS name is `namespace/name` of the
Secret, stable across rotations, so a new certificate is a new version of the same
secret and the listeners naming it are not touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from legation.compile.certificates import CertificateError, ca_bundle_secret, certificate_secret
from legation.ir.secrets import Secret
from legation.model.resource import Resource
from legation.model.secret import CA_KEY, CERT_KEY, PRIVATE_KEY, TLS_SECRET_TYPE, SecretSpec

CA_SUFFIX = "/ca"
"""Appended to `namespace/name` for the CA bundle of a Secret, which is its own SDS
secret (a validation context), apart from the Secret's certificate."""


class SecretLookup:
    """Finds Secrets by namespace and name and turns each into an IR secret once."""

    def __init__(self, resources: Iterable[Resource[Any]]) -> None:
        """Index the Secret resources among `resources`."""
        self._secrets: dict[tuple[str, str], Resource[SecretSpec]] = {
            (r.namespace, r.name): r for r in resources if r.kind == "Secret"
        }
        self._done: dict[tuple[str, str], Secret | str] = {}

    def certificate(self, namespace: str, name: str) -> Secret | str:
        """The certificate secret `namespace/name`, or a message saying what is wrong."""
        key = (namespace, name)
        if key not in self._done:
            self._done[key] = self._load(namespace, name)
        return self._done[key]

    def ca_bundle(self, namespace: str, name: str) -> Secret | str:
        """The CA bundle in Secret `namespace/name` (`ca.crt`, else `tls.crt`), or a
        message saying what is wrong."""
        key = (namespace, name + CA_SUFFIX)
        if key not in self._done:
            self._done[key] = self._load_ca(namespace, name)
        return self._done[key]

    def _load_ca(self, namespace: str, name: str) -> Secret | str:
        res = self._secrets.get((namespace, name))
        what = f"Secret {namespace}/{name}"
        if res is None:
            return f"{what} does not exist"
        try:
            bundle = res.spec.value(CA_KEY) or res.spec.value(CERT_KEY)
        except ValueError as exc:
            return f"{what}: {exc}"
        if not bundle:
            return f"{what} has no {CA_KEY} or {CERT_KEY} holding the CA certificates"
        try:
            return ca_bundle_secret(f"{namespace}/{name}{CA_SUFFIX}", res.key, bundle)
        except CertificateError as exc:
            return f"{what}: {exc}"

    def text(self, namespace: str, name: str, key: str) -> tuple[str | None, str | None]:
        """The UTF-8 text under `key` of Secret `namespace/name`, or why there is none."""
        res = self._secrets.get((namespace, name))
        if res is None:
            return None, "does not exist"
        try:
            value = res.spec.value(key)
        except ValueError as exc:
            return None, str(exc)
        if value is None:
            return None, f"has no key {key!r}"
        try:
            return value.decode(), None
        except UnicodeDecodeError:
            return None, f"{key} is not UTF-8 text"

    def used(self) -> list[Secret]:
        """Every secret loaded successfully, sorted by name."""
        found = [s for s in self._done.values() if isinstance(s, Secret)]
        return sorted(found, key=lambda s: s.name)

    def _load(self, namespace: str, name: str) -> Secret | str:
        res = self._secrets.get((namespace, name))
        what = f"Secret {namespace}/{name}"
        if res is None:
            return f"{what} does not exist"
        kind = res.spec.type
        if kind not in (TLS_SECRET_TYPE, "Opaque"):
            return f"{what} has type {kind!r}; expected {TLS_SECRET_TYPE} (or Opaque)"
        try:
            chain, key = res.spec.value(CERT_KEY), res.spec.value(PRIVATE_KEY)
        except ValueError as exc:
            return f"{what}: {exc}"
        missing = [k for k, v in ((CERT_KEY, chain), (PRIVATE_KEY, key)) if not v]
        if missing:
            return f"{what} has no {' or '.join(missing)}"
        assert chain is not None and key is not None
        try:
            return certificate_secret(f"{namespace}/{name}", res.key, chain, key)
        except CertificateError as exc:
            return f"{what}: {exc}"
