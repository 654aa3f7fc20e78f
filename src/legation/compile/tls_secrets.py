"""Secrets and certificate files named by Hosts and TLSContexts → IR secrets, or the
reason they fail.

Only referenced Secrets become IR secrets. The SDS name is `namespace/name` of the
Secret (`file:PATH` for a certificate file), stable across rotations, so a new
certificate is a new version of the same secret and the listeners naming it are not
touched. File contents were read at the edge and come in `files` (path as written →
bytes, or why the file could not be read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from legation.compile.certificates import (
    CertificateError,
    ca_bundle_secret,
    certificate_secret,
    with_crl,
)
from legation.ir.secrets import Secret
from legation.model.resource import Resource
from legation.model.secret import CA_KEY, CERT_KEY, PRIVATE_KEY, TLS_SECRET_TYPE, SecretSpec

CA_SUFFIX = "/ca"
"""Appended to `namespace/name` for the CA bundle of a Secret, which is its own SDS
secret (a validation context), apart from the Secret's certificate."""

CRL_KEY = "crl.pem"
"""Key of the certificate revocation list in a `crl_secret` Secret."""

FILE_PREFIX = "file:"
"""SDS names of secrets read from files: `file:PATH` (as written)."""


class SecretLookup:
    """Finds Secrets by namespace and name and turns each into an IR secret once."""

    def __init__(
        self, resources: Iterable[Resource[Any]], files: Mapping[str, bytes | str] | None = None
    ) -> None:
        """Index the Secret resources among `resources`; `files` are the contents of
        the files the configuration names."""
        self._secrets: dict[tuple[str, str], Resource[SecretSpec]] = {
            (r.namespace, r.name): r for r in resources if r.kind == "Secret"
        }
        self._files = files or {}
        self._done: dict[tuple[str, str], Secret | str] = {}
        self._by_name: dict[str, Secret] = {}
        self._indexed = 0

    def loaded(self, name: str) -> Secret | None:
        """The secret already loaded under IR name `name`, if any."""
        if self._indexed != len(self._done):  # entries are only ever added
            self._by_name = {s.name: s for s in self._done.values() if isinstance(s, Secret)}
            self._indexed = len(self._done)
        return self._by_name.get(name)

    def _file(self, path: str) -> bytes | str:
        content = self._files.get(path)
        if content is None:
            return f"{path} was not read (legation reads the files the configuration names)"
        return content

    def certificate_file(self, chain_path: str, key_path: str) -> Secret | str:
        """The certificate in file `chain_path` with its key in `key_path`, or what is
        wrong (naming the file)."""
        key = (FILE_PREFIX, chain_path + "\0" + key_path)
        if key not in self._done:
            self._done[key] = self._load_files(chain_path, key_path)
        return self._done[key]

    def _load_files(self, chain_path: str, key_path: str) -> Secret | str:
        chain, key = self._file(chain_path), self._file(key_path)
        if isinstance(chain, str):
            return chain
        if isinstance(key, str):
            return key
        try:
            return certificate_secret(FILE_PREFIX + chain_path, chain_path, chain, key)
        except CertificateError as exc:
            return f"{chain_path}, {key_path}: {exc}"

    def ca_file(self, path: str) -> Secret | str:
        """The CA bundle in file `path`, or what is wrong (naming the file)."""
        key = (FILE_PREFIX, path + CA_SUFFIX)
        if key not in self._done:
            self._done[key] = self._load_ca_file(path)
        return self._done[key]

    def _load_ca_file(self, path: str) -> Secret | str:
        content = self._file(path)
        if isinstance(content, str):
            return content
        try:
            return ca_bundle_secret(FILE_PREFIX + path + CA_SUFFIX, path, content)
        except CertificateError as exc:
            return f"{path}: {exc}"

    def with_crl(self, ca: Secret, namespace: str, name: str) -> Secret | str:
        """`ca` with the CRL of Secret `namespace/name` (`crl.pem`): a new validation
        secret, or what is wrong."""
        key = (ca.name, f"crl:{namespace}/{name}")
        if key not in self._done:
            self._done[key] = self._load_crl(ca, namespace, name)
        return self._done[key]

    def _load_crl(self, ca: Secret, namespace: str, name: str) -> Secret | str:
        res = self._secrets.get((namespace, name))
        what = f"Secret {namespace}/{name}"
        if res is None:
            return f"{what} does not exist"
        try:
            crl = res.spec.value(CRL_KEY)
        except ValueError as exc:
            return f"{what}: {exc}"
        if not crl:
            return f"{what} has no {CRL_KEY} holding the certificate revocation list"
        try:
            return with_crl(ca, f"{ca.name}+crl:{namespace}/{name}", res.key, crl)
        except CertificateError as exc:
            return f"{what}: {exc}"

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
