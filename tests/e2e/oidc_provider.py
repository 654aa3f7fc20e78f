"""A real OpenID provider on loopback for the OIDC tests: hack/oidc-provider (our small main
around the Go module github.com/oauth2-proxy/mockoidc), built once by
hack/oidc-provider.sh into ~/.cache/legation/oidc-provider.

Its authorization endpoint shows a login page (a user name field and a "Sign in"
button); after it, the tokens are for that user (`sub` = the name typed). It has one
client, `client_id` / `client_secret` below.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from legation.child_process import stop_child
from tests.e2e.gateway import RunningGateway, manifest
from tests.e2e.helpers import free_port

BUILD_SCRIPT = Path(__file__).parents[2] / "hack" / "oidc-provider.sh"
CLIENT_ID = "legation-test"
CLIENT_SECRET = "legation-test-secret"


def oauth2_filter(name: str, **oauth2_spec: Any) -> str:
    """A v3alpha1 Filter of type OAuth2 as YAML."""
    return manifest("Filter", name, spec={"OAuth2": oauth2_spec})


def client_secret(name: str, value: str) -> str:
    """An Opaque Secret holding an OAuth2 client secret (key `oauth2-client-secret`)."""
    return manifest(
        "Secret", name, api_version="v1", type="Opaque", stringData={"oauth2-client-secret": value}
    )


def store_cookies(r: httpx.Response, jar: dict[str, str]) -> None:
    """Keep the cookies `r` sets in `jar` (and drop those it expires)."""
    for header in r.headers.get_list("set-cookie"):
        name, value = header.split(";", 1)[0].split("=", 1)
        jar[name] = value
        if "expires=Thu, 01 Jan 1970" in header:
            jar.pop(name)


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    """A `cookie` request header sending every cookie of `jar`."""
    return {"cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}


def log_in(
    gw: RunningGateway, path: str, first: httpx.Response, user: str, callback: str
) -> tuple[httpx.Response, dict[str, str]]:
    """The code flow without a browser, from `first` (the gateway's redirect to the
    provider for `path`): log in at the provider as `user`, follow the gateway's
    `callback` back to `path`, and ask for it with the session cookies. Returns that
    answer and the cookies."""
    jar: dict[str, str] = {}
    store_cookies(first, jar)
    login = httpx.get(first.headers["location"] + f"&login={user}", timeout=5)
    assert login.status_code == 302 and login.headers["location"].startswith(gw.url(callback))
    back = httpx.get(login.headers["location"], headers=cookie_header(jar), timeout=5)
    assert back.status_code == 302 and back.headers["location"] == gw.url(path)
    store_cookies(back, jar)
    return gw.get(path, headers=cookie_header(jar)), jar


def bearer_claims(authorization: str) -> dict[str, Any]:
    """The claims of the JWT in an `authorization: Bearer <token>` value (unverified)."""
    assert authorization.startswith("Bearer ")
    payload = authorization.split()[1].split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def provider_binary() -> Path:
    """The provider's binary, built when missing (skips the test without Go)."""
    if shutil.which("go") is None:
        pytest.skip("go is missing: the test OpenID provider is built from a Go module")
    done = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"building the test OpenID provider failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


class OidcProvider:
    """The provider, serving on a free loopback port while the `with` block runs.

    After start, `info` holds its issuer and endpoints (`issuer`,
    `authorization_endpoint`, `token_endpoint`, `userinfo_endpoint`, `jwks_uri`).
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.info: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None

    @property
    def issuer(self) -> str:
        """The issuer URL (what a Filter's `authorizationURL` names)."""
        return self.info["issuer"]

    def filter_spec(self, **extra: Any) -> dict[str, Any]:
        """`spec.OAuth2` for a Filter using this provider (add `secret` or `secretName`)."""
        spec: dict[str, Any] = {
            "authorizationURL": self.issuer,
            "authorizationEndpoint": self.info["authorization_endpoint"],
            "tokenEndpoint": self.info["token_endpoint"],
            "clientID": CLIENT_ID,
        }
        spec.update(extra)
        return spec

    def __enter__(self) -> OidcProvider:
        binary = provider_binary()
        self._process = subprocess.Popen(
            [str(binary), "--listen", f"127.0.0.1:{self.port}",
             "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the test OpenID provider exited ({self._process.wait()})")
        self.info = json.loads(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()  # the provider exits when its stdin closes
            stop_child(self._process, 5, ask=False)
