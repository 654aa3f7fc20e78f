"""JWT test parts: signing keys, tokens minted with PyJWT, and a real HTTPS server that
serves the JWK set (which a test may change, to rotate keys), counting its fetches."""

from __future__ import annotations

import json
import ssl
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.certs import TestCA
from tests.e2e.gateway import manifest
from tests.e2e.servers import QuietHandler, ServedInThread, http_server
from tests.e2e.tls import with_identity


class SigningKey:
    """An RSA key with a `kid`: signs tokens (RS256) and publishes its public JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK."""
        data = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        data.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return dict(data)

    def token(self, kid: str | None = None, **claims: Any) -> str:
        """A signed token: `iat` and `exp` (in 5 minutes) unless given; None drops a claim."""
        now = int(time.time())
        body = {"iat": now, "exp": now + 300, **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self._key, algorithm="RS256", headers={"kid": kid or self.kid})


def jwks_json(*keys: SigningKey) -> str:
    """The JWK set holding the public keys."""
    return json.dumps({"keys": [k.jwk() for k in keys]})


class JwksServer(ServedInThread):
    """HTTPS on a free loopback port, certificate for `localhost` signed by `ca`;
    `GET /jwks.json` answers the current `jwks` text. `fetches` counts its answers."""

    def __init__(self, ca: TestCA, jwks: str) -> None:
        self.jwks = jwks
        self.fetches = 0
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                status = 200 if self.path == "/jwks.json" else 404
                self.reply(status, server.jwks.encode(), {"content-type": "application/json"})

        self._dir = tempfile.TemporaryDirectory(prefix="jwks-")
        context = with_identity(
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), ca.issue("localhost"), Path(self._dir.name)
        )
        http = http_server(Handler, tls=context)
        self.port = int(http.server_address[1])
        self._serve_in_thread(http)

    @property
    def uri(self) -> str:
        """The `jwksURI` of this server."""
        return f"https://localhost:{self.port}/jwks.json"

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        super().__exit__(t, e, tb)
        self._dir.cleanup()


def jwt_filter(name: str, **jwt_spec: Any) -> str:
    """A v3alpha1 Filter of type JWT as YAML."""
    return manifest("Filter", name, sort_keys=True, spec={"JWT": jwt_spec})


def filter_policy(name: str, rules: list[dict[str, Any]]) -> str:
    """A v3alpha1 FilterPolicy as YAML."""
    return manifest("FilterPolicy", name, sort_keys=True, spec={"rules": rules})
