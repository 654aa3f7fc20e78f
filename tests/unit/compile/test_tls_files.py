"""Certificate files, CRLs and expiry warnings in compile (file contents handed in)."""

from __future__ import annotations

import base64
import datetime
from typing import Any

from legation.compile.compiler import CompileResult, compile_config
from legation.envoy.secret import translate_secret
from legation.ir.errors import Severity
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from tests.certs import Leaf, TestCA

CA = TestCA()
LEAF = CA.issue("f.test")
OTHER = CA.issue("other.test")
NOW = datetime.datetime.now(datetime.UTC)


def doc(kind: str, name: str, **spec: Any) -> RawObject:
    body = {"apiVersion": "getambassador.io/v3alpha1", "kind": kind}
    meta = {"name": name, "namespace": "default"}
    return RawObject(doc={**body, "metadata": meta, "spec": spec}, source=Source(f"{name}.yaml", 1))


def secret(name: str, **data: bytes) -> RawObject:
    encoded = {k.replace("_", "."): base64.b64encode(v).decode() for k, v in data.items()}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": encoded}
    meta = {"name": name, "namespace": "default"}
    return RawObject(doc={**body, "metadata": meta}, source=Source(f"{name}.yaml", 1))


def files_of(leaf: Leaf) -> dict[str, bytes | str]:
    return {"/c/tls.crt": leaf.cert_pem, "/c/tls.key": leaf.key_pem, "/c/ca.crt": CA.cert_pem}


def with_files(
    files: dict[str, bytes | str], *extra: RawObject, now: datetime.datetime | None = None
) -> CompileResult:
    objects = [
        doc("TLSContext", "ctx", cert_chain_file="/c/tls.crt", private_key_file="/c/tls.key"),
        doc("Host", "files", hostname="f.test", tlsContext={"name": "ctx"}),
        doc("Host", "plain", hostname="p.test"),
        doc("Mapping", "m", prefix="/m/", service="m", hostname="*"),
        *extra,
    ]
    return compile_config(objects, files=files, now=now)


def test_certificate_files_terminate_tls_as_an_sds_secret() -> None:
    result = with_files(files_of(LEAF))
    assert result.errors == ()
    (cert,) = result.gateway.secrets
    assert (cert.name, cert.certificate.sans) == ("file:/c/tls.crt", ("f.test",))
    assert cert.certificate_chain == LEAF.cert_pem and cert.private_key == LEAF.key_pem
    https = [li for li in result.gateway.listeners if li.name != "http-8080"]
    assert https and https[0].filter_chains[0].tls is not None
    assert https[0].filter_chains[0].tls.certificates == ("file:/c/tls.crt",)
    # a new file content is a new version of the same secret: the listener is unchanged
    again = with_files(files_of(CA.issue("f.test")))
    assert again.gateway.secrets[0].name == cert.name
    assert again.gateway.secrets[0].content_hash != cert.content_hash
    assert again.gateway.listeners == result.gateway.listeners


def _error(result: CompileResult) -> tuple[str | None, str | None, str]:
    (error,) = result.errors[:1]
    return error.resource, error.field, error.message


def test_file_errors_are_on_the_tlscontext_and_other_hosts_serve() -> None:
    cases = {
        "does not exist": {**files_of(LEAF), "/c/tls.crt": "/c/tls.crt does not exist"},
        "not PEM": {**files_of(LEAF), "/c/tls.crt": b"garbage"},
        "does not match": {**files_of(LEAF), "/c/tls.key": OTHER.key_pem},
        "not read": {},
    }
    for expected, files in cases.items():
        result = with_files(files)
        resource, field, message = _error(result)
        assert (resource, field) == ("TLSContext/ctx.default", "spec.cert_chain_file"), expected
        assert expected in message and "/c/tls.crt" in message
        assert "MI" not in message  # no certificate or key bytes quoted
        hosts = [e.resource for e in result.errors]
        assert "Host/files.default" in hosts  # left out: its TLSContext is invalid
        names = [vh.name for vh in result.gateway.route_configs[0].virtual_hosts]
        assert names == ["host_plain.default"]


def test_key_file_is_needed_with_the_chain_and_secret_excludes_files() -> None:
    half = doc("TLSContext", "half", cert_chain_file="/c/tls.crt")
    result = compile_config([half], files=files_of(LEAF))
    assert _error(result)[1:] == (
        "spec.private_key_file",
        "needed with cert_chain_file: the key of the certificate",
    )
    both = doc("TLSContext", "both", secret="s", cert_chain_file="/a", private_key_file="/b")
    assert "not both" in _error(compile_config([both]))[2]


def test_cacert_chain_file_and_crl_secret_make_one_validation_secret() -> None:
    revoked = CA.issue("revoked.test")
    ctx = doc(
        "TLSContext",
        "ctx",
        cert_chain_file="/c/tls.crt",
        private_key_file="/c/tls.key",
        cacert_chain_file="/c/ca.crt",
        crl_secret="crl",
        cert_required=True,
    )
    host = doc("Host", "files", hostname="f.test", tlsContext={"name": "ctx"})
    crl = CA.revocation_list(revoked)
    result = compile_config([ctx, host, secret("crl", crl_pem=crl)], files=files_of(LEAF))
    assert result.errors == ()
    names = [s.name for s in result.gateway.secrets]
    assert names == ["file:/c/ca.crt/ca+crl:default/crl", "file:/c/tls.crt"]
    validation = result.gateway.secrets[0]
    assert validation.crl == crl and validation.certificate_chain == CA.cert_pem
    envoy = translate_secret(validation)
    assert envoy.validation_context.crl.inline_bytes == crl
    chain = next(li for li in result.gateway.listeners if li.name != "http-8080")
    tls = chain.filter_chains[0].tls
    assert tls is not None and tls.client_ca == validation.name


def test_crl_errors() -> None:
    ctx = {"cert_chain_file": "/c/tls.crt", "private_key_file": "/c/tls.key"}
    foreign = TestCA("another CA").revocation_list()
    for spec, objects, expected in (
        ({"crl_secret": "crl"}, [], "needs ca_secret"),
        ({"cacert_chain_file": "/c/ca.crt", "crl_secret": "gone"}, [], "does not exist"),
        (
            {"cacert_chain_file": "/c/ca.crt", "crl_secret": "crl"},
            [secret("crl", crl_pem=foreign)],
            "not a CA of the CA bundle",
        ),
        (
            {"cacert_chain_file": "/c/ca.crt", "crl_secret": "crl"},
            [secret("crl", other=b"x")],
            "has no crl.pem",
        ),
    ):
        result = compile_config(
            [doc("TLSContext", "ctx", **ctx, **spec), *objects], files=files_of(LEAF)
        )
        resource, field, message = _error(result)
        assert (resource, field) == ("TLSContext/ctx.default", "spec.crl_secret"), expected
        assert expected in message


def test_expired_and_expiring_certificates_warn_and_are_served() -> None:
    expired = CA.issue("f.test", not_after=NOW - datetime.timedelta(days=2))
    soon = CA.issue("f.test", days=3)
    later = CA.issue("f.test", days=60)
    for leaf, expected in ((expired, "expired on"), (soon, "expires on"), (later, None)):
        result = with_files(files_of(leaf), now=NOW)
        assert result.errors == ()
        assert [s.name for s in result.gateway.secrets] == ["file:/c/tls.crt"]  # served
        warnings = [p for p in result.problems if "expire" in p.message]
        if expected is None:
            assert warnings == []
            continue
        (warning,) = warnings
        assert warning.severity is Severity.NOTICE
        assert (warning.resource, warning.field) == (
            "TLSContext/ctx.default",
            "spec.cert_chain_file",
        )
        day = datetime.datetime.fromisoformat(
            result.gateway.secrets[0].certificate.not_after
        ).date()
        assert expected in warning.message and day.isoformat() in warning.message
    assert not any("expire" in p.message for p in with_files(files_of(expired)).problems)


def test_expired_tls_secret_warns_on_the_host() -> None:
    expired = CA.issue("s.test", not_after=NOW - datetime.timedelta(hours=1))
    objects = [
        secret("s-tls", tls_crt=expired.cert_pem, tls_key=expired.key_pem),
        doc("Host", "s", hostname="s.test", tlsSecret={"name": "s-tls"}),
    ]
    result = compile_config(objects, now=NOW)
    (warning,) = [p for p in result.problems if "expire" in p.message]
    assert (warning.resource, warning.field) == ("Host/s.default", "spec.tlsSecret")
    assert warning.severity is Severity.NOTICE and result.errors == ()


def test_tls_module_server_and_client_files() -> None:
    module = RawObject(
        doc={
            "apiVersion": "getambassador.io/v2",
            "kind": "Module",
            "metadata": {"name": "tls", "namespace": "default"},
            "spec": {
                "config": {
                    "server": {"cert_chain_file": "/c/tls.crt", "private_key_file": "/c/tls.key"},
                    "client": {"cacert_chain_file": "/c/ca.crt", "cert_required": True},
                }
            },
        },
        source=Source("tls.yaml", 1),
    )
    result = compile_config([module], files=files_of(LEAF))
    assert result.errors == ()
    assert not [p for p in result.problems if "file" in (p.field or "")]
    assert [s.name for s in result.gateway.secrets] == ["file:/c/ca.crt/ca", "file:/c/tls.crt"]


def test_host_inline_tls_files_terminate_and_warn_on_the_host() -> None:
    soon = CA.issue("i.test", days=2)
    inline = {"cert_chain_file": "/c/tls.crt", "private_key_file": "/c/tls.key"}
    objects = [doc("Host", "inline", hostname="i.test", tls=inline)]
    result = compile_config(objects, files=files_of(soon), now=NOW)
    assert result.errors == ()
    assert [s.name for s in result.gateway.secrets] == ["file:/c/tls.crt"]
    (warning,) = [p for p in result.problems if "expire" in p.message]
    assert (warning.resource, warning.field) == ("Host/inline.default", "spec.tls.cert_chain_file")
