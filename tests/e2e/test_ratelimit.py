"""Rate limiting end to end: real Envoy configured by legation, real envoyproxy/ratelimit,
real Redis, answered by a real upstream.

- `legation run --rate-limiter`: the bundled limiter, configured from RateLimit
  resources (per-second window, per client address, per header value, a change while
  traffic flows), and local limits;
- a limiter configured by hand (Emissary's interface: a RateLimitService, no RateLimit),
  shared by two gateways (one global limit), and stopped (failure_mode_deny).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml

from legation.ratelimit.services import BundledLimiter
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.jwks import SigningKey, filter_policy, jwks_json, jwt_filter
from tests.e2e.limiter import require_limiter_programs
from tests.e2e.load import Load
from tests.e2e.upstreams import GRPC_SERVICE, GrpcEcho

HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _doc(kind: str, name: str, spec: dict[str, Any]) -> str:
    doc = {
        "apiVersion": "getambassador.io/v3alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }
    return "---\n" + yaml.safe_dump(doc, sort_keys=False)


def _labels(*entries: Any) -> dict[str, Any]:
    return {"ambassador": [{"group": list(entries)}]}


def _limit(name: str, pattern: list[dict[str, str]], rate: int, unit: str) -> str:
    spec = {"domain": "ambassador", "limits": [{"pattern": pattern, "rate": rate, "unit": unit}]}
    return _doc("RateLimit", name, spec)


def _start_of_second() -> None:
    """Wait for a fresh wall-clock second: the limiter's windows are calendar seconds."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def _statuses(get: Any, path: str, n: int, **kwargs: Any) -> list[int]:
    return [get(path, **kwargs).status_code for _ in range(n)]


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoUpstream]:
    with EchoUpstream("app") as up:
        yield up


@pytest.fixture(scope="module")
def grpc_echo() -> Iterator[GrpcEcho]:
    with GrpcEcho() as server:
        yield server


@pytest.fixture(scope="module")
def bundled(echo: EchoUpstream, grpc_echo: GrpcEcho) -> Iterator[RunningGateway]:
    """One gateway with the bundled limiter and every RateLimit-driven route."""
    require_limiter_programs()
    svc = echo.service
    grpc_service = f"127.0.0.1:{grpc_echo.port}"
    files = {
        "mappings.yaml": "".join(
            [
                mapping(
                    "burst", svc, "/burst/", labels=_labels({"generic_key": {"value": "burst"}})
                ),
                mapping(
                    "per-ip",
                    svc,
                    "/per-ip/",
                    labels=_labels({"generic_key": {"value": "per-ip"}}, {"remote_address": {}}),
                ),
                mapping(
                    "per-user",
                    svc,
                    "/per-user/",
                    labels=_labels(
                        {"generic_key": {"value": "per-user"}},
                        {"request_headers": {"key": "user", "header_name": "x-user"}},
                    ),
                ),
                mapping(
                    "optional-user",
                    svc,
                    "/optional-user/",
                    labels=_labels(
                        {"generic_key": {"value": "optional-user"}},
                        {
                            "request_headers": {
                                "key": "user",
                                "header_name": "x-user",
                                "omit_if_not_present": True,
                            }
                        },
                    ),
                ),
                mapping("changing", svc, "/changing/", labels=_labels("changing")),
                mapping("free", svc, "/free/"),
                mapping(
                    "grpc",
                    grpc_service,
                    f"/{GRPC_SERVICE}/",
                    rewrite="",
                    grpc=True,
                    labels=_labels("grpc"),
                ),
                mapping(
                    "local", svc, "/local/", local_rate_limit={"requests": 2, "unit": "minute"}
                ),
            ]
        ),
        "limits.yaml": "".join(
            [
                _limit("burst", [{"generic_key": "burst"}], 3, "second"),
                _limit("per-ip", [{"generic_key": "per-ip"}, {"remote_address": ""}], 2, "hour"),
                _limit("per-user", [{"generic_key": "per-user"}, {"user": ""}], 2, "hour"),
                _limit("grpc", [{"generic_key": "grpc"}], 1, "hour"),
                _limit("optional-user", [{"generic_key": "optional-user"}], 2, "hour"),
            ]
        ),
        "changing.yaml": _limit("changing", [{"generic_key": "changing"}], 1000, "hour"),
    }
    with RunningGateway(files, ["--rate-limiter"]) as gw:
        yield gw


def test_limit_then_429_with_headers_then_next_window(bundled: RunningGateway) -> None:
    """3 a second: 3 pass, the 4th gets 429 with the draft-03 headers; a second later,
    requests pass again."""
    _start_of_second()
    answers = [bundled.get("/burst/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429], bundled.log()[-3000:]
    refused = answers[-1]
    assert all(h in refused.headers for h in HEADERS), dict(refused.headers)
    assert refused.headers["x-ratelimit-limit"].startswith("3")
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) <= 1
    # retry-after (RFC 9110), which clients read, says the same as x-ratelimit-reset
    assert refused.headers["retry-after"] == refused.headers["x-ratelimit-reset"]
    assert answers[0].headers["x-ratelimit-remaining"] == "2"
    assert "retry-after" not in answers[0].headers
    _start_of_second()
    assert bundled.get("/burst/").status_code == 200


def test_per_client_address_buckets(bundled: RunningGateway) -> None:
    """2 an hour per client address: 127.0.0.1 and 127.0.0.2 count apart."""
    clients = {
        ip: httpx.Client(transport=httpx.HTTPTransport(local_address=ip), timeout=5.0)
        for ip in ("127.0.0.1", "127.0.0.2")
    }
    try:
        first = _statuses(clients["127.0.0.1"].get, bundled.url("/per-ip/"), 3)
        second = _statuses(clients["127.0.0.2"].get, bundled.url("/per-ip/"), 3)
    finally:
        for client in clients.values():
            client.close()
    assert first == [200, 200, 429]
    assert second == [200, 200, 429]


def test_per_header_value_buckets_and_missing_header(bundled: RunningGateway) -> None:
    """2 an hour per `x-user`: alice and bob count apart; without the header the group
    is not sent, so nothing limits the request."""
    alice = _statuses(bundled.get, "/per-user/", 3, headers={"x-user": "alice"})
    bob = _statuses(bundled.get, "/per-user/", 3, headers={"x-user": "bob"})
    nobody = _statuses(bundled.get, "/per-user/", 4)
    assert (alice, bob, nobody) == ([200, 200, 429], [200, 200, 429], [200] * 4)


def test_omit_if_not_present_leaves_out_only_the_header(bundled: RunningGateway) -> None:
    """`omit_if_not_present: true`: without the header the rest of the group is still
    sent, so the limit on it applies (2 an hour)."""
    assert _statuses(bundled.get, "/optional-user/", 3) == [200, 200, 429]


def test_changed_limit_applies_within_a_second_without_restart(bundled: RunningGateway) -> None:
    """A RateLimit rewritten to 0 while traffic flows: 429 within 1 s, same Envoy."""
    pid = bundled.overview()["envoy"]["pid"]
    with Load(bundled.url(""), ["/free/"], pause_s=0.01, limit_s=20) as load:
        assert bundled.get("/changing/").status_code == 200
        poll(lambda: load.sent >= 5)
        written = bundled.write(
            "changing.yaml", _limit("changing", [{"generic_key": "changing"}], 0, "hour")
        )
        took = bundled.wait_status("/changing/", 429, timeout=5.0) - written
        sent = load.sent
        poll(lambda: load.sent >= sent + 5)
    assert took < 1.0, f"took {took:.2f} s"
    assert bundled.overview()["envoy"]["pid"] == pid
    assert load.sent > 0 and not load.failures


def test_local_limit_per_route(bundled: RunningGateway) -> None:
    """A local bucket of 2 a minute on /local/ only: the 3rd gets 429 with the headers."""
    answers = [bundled.get("/local/") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert all(h in answers[-1].headers for h in HEADERS), dict(answers[-1].headers)
    # Envoy adds a local bucket's x-ratelimit-* headers after the local reply is made,
    # so no retry-after can be derived from them (README)
    assert 0 < int(answers[-1].headers["x-ratelimit-reset"]) <= 60
    assert _statuses(bundled.get, "/free/", 5) == [200] * 5
    # an upstream's own 429 is passed on as it is: no retry-after added
    upstream_429 = bundled.get("/free/status/429")
    assert upstream_429.status_code == 429 and "retry-after" not in upstream_429.headers


def test_diagnostics_show_descriptors_and_limiter_health(bundled: RunningGateway) -> None:
    """route_info lists each route's descriptors; the overview the limiter's health."""
    overview = bundled.overview()
    limiter = overview["ratelimit"]
    assert limiter["bundled"] and limiter["healthy"], limiter
    assert limiter["service"]["source"] == "bundled" and limiter["service"]["answers"]
    routes = {r["mappings"][0]: r for r in overview["route_info"]}
    assert routes["Mapping/per-user.default"]["rate_limits"] == [
        [
            {"kind": "generic_key", "key": "generic_key", "value": "per-user"},
            {"kind": "request_headers", "key": "user", "header": "x-user"},
        ]
    ]
    assert routes["Mapping/local.default"]["local_rate_limit"]["max_tokens"] == 2
    assert "rate_limits" not in routes["Mapping/free.default"]
    html = {"accept": "text/html"}
    base = f"http://127.0.0.1:{bundled.diag_port}/ambassador/v0/diag"
    page = bundled.client.get(base + "/", headers=html).text
    assert "rate limiter" in page and "answers" in page
    table = bundled.client.get(base + "/routes", headers=html).text
    assert "limit by <code>generic_key, user</code>" in table and "local bucket 2" in table


def test_metrics_count_refusals(bundled: RunningGateway) -> None:
    """/metrics carries Envoy's over-limit counters: per upstream cluster (global) and
    one local prefix (bounded labels)."""
    _start_of_second()
    assert 429 in _statuses(bundled.get, "/burst/", 5)
    assert 429 in _statuses(bundled.get, "/local/", 3)
    text = bundled.diag("/metrics").text
    over = re.search(
        r'^envoy_cluster_ratelimit_over_limit\{envoy_cluster_name="cluster_[^"]+"\} ([0-9]+)',
        text,
        re.M,
    )
    local = re.search(
        r'^envoy_rate_limited\{envoy_local_http_ratelimit_prefix="local_rate_limit"[^}]*\} ([0-9]+)',
        text,
        re.M,
    )
    assert over and int(over.group(1)) >= 1, text[:2000]
    assert local and int(local.group(1)) >= 1


# --- a limiter configured by hand (Emissary's interface) -----------------------------

HAND_CONFIG = """\
domain: hand
descriptors:
- key: generic_key
  value: global
  rate_limit: {unit: hour, requests_per_unit: 10}
"""


def _service(limiter: BundledLimiter, deny: bool = False) -> str:
    spec = {
        "service": f"127.0.0.1:{limiter.ports.grpc}",
        "protocol_version": "v3",
        "domain": "hand",
        "failure_mode_deny": deny,
        "timeout_ms": 1000,
    }
    return _doc("RateLimitService", "limiter", spec)


@pytest.fixture
def hand_limiter(tmp_path: Path) -> Iterator[BundledLimiter]:
    require_limiter_programs()
    with BundledLimiter(tmp_path) as limiter:
        limiter.write_config("hand", HAND_CONFIG)
        yield limiter


def _hand_files(echo: EchoUpstream, limiter: BundledLimiter) -> dict[str, str]:
    labels = {"hand": [{"global": [{"generic_key": {"value": "global"}}]}]}
    return {
        "limiter.yaml": _service(limiter),
        "mapping.yaml": mapping("global", echo.service, "/global/", labels=labels),
    }


def _away_from_hour_boundary() -> None:
    if time.time() % 3600 > 3590:  # the limit counts per calendar hour
        time.sleep(3600 - time.time() % 3600 + 0.1)


def test_two_gateways_share_one_global_limit(
    echo: EchoUpstream, hand_limiter: BundledLimiter
) -> None:
    """Two legation + Envoy on one limiter and one Redis: 10 an hour across both."""
    files = _hand_files(echo, hand_limiter)
    with RunningGateway(files) as one, RunningGateway(files) as two:
        _away_from_hour_boundary()
        allowed = 0
        for i in range(24):
            gateway = one if i % 2 else two
            allowed += gateway.get("/global/").status_code == 200
        assert abs(allowed - 10) <= 1, allowed
        assert one.get("/global/").status_code == 429
        assert two.get("/global/").status_code == 429


def test_hand_configured_limiter_then_stopped(
    echo: EchoUpstream, hand_limiter: BundledLimiter
) -> None:
    """No RateLimit resources: the hand-written limit applies. With the limiter stopped
    requests pass (failure_mode_deny false), then get 500 (true); the RateLimitService
    carries an error saying the limiter does not answer."""
    files = _hand_files(echo, hand_limiter)
    with RunningGateway(files) as gw:
        assert _statuses(gw.get, "/global/", 11) == [200] * 10 + [429]
        hand_limiter.stop()
        assert _statuses(gw.get, "/global/", 3) == [200] * 3

        def reported() -> bool:
            errors = gw.overview()["errors"]
            return any("does not answer" in e["message"] for e in errors)

        poll(reported, timeout=10.0)
        gw.write("limiter.yaml", _service(hand_limiter, deny=True))
        gw.wait_status("/global/", 500, timeout=10.0)
        assert _statuses(gw.get, "/global/", 3) == [500] * 3


def test_two_bundled_limiters_on_one_redis_share_the_limit(
    echo: EchoUpstream, tmp_path: Path
) -> None:
    """`--rate-limiter --redis-url`: each gateway runs its own limiter, configured from
    the same RateLimit, counting in one Redis: 6 an hour across both."""
    require_limiter_programs()
    files = {
        "mapping.yaml": mapping("shared", echo.service, "/shared/", labels=_labels("shared")),
        "limit.yaml": _limit("shared", [{"generic_key": "shared"}], 6, "hour"),
    }
    with BundledLimiter(tmp_path) as redis_only:  # its Redis; its limiter stays unused
        args = ["--rate-limiter", "--redis-url", str(redis_only.redis_url)]
        with RunningGateway(files, args) as one, RunningGateway(files, args) as two:
            _away_from_hour_boundary()
            allowed = sum(
                (one if i % 2 else two).get("/shared/").status_code == 200 for i in range(14)
            )
    assert abs(allowed - 6) <= 1, allowed


def test_errors_in_check_and_while_running(echo: EchoUpstream) -> None:
    """An unreachable limiter, a second RateLimitService, an unknown label action and a
    RateLimit that cannot be expressed: each an error on its resource, in `check` and
    in the running gateway, whose good route keeps answering (failing open)."""
    dead = f"127.0.0.1:{free_port()}"
    files = {
        "services.yaml": _doc("RateLimitService", "dead", {"service": dead})
        + _doc("RateLimitService", "second", {"service": dead}),
        "mappings.yaml": mapping("good", echo.service, "/good/", labels=_labels("good"))
        + mapping("bad", echo.service, "/bad/", labels=_labels({"query": {"key": "q"}})),
        "limits.yaml": _doc(
            "RateLimit", "odd", {"domain": "ambassador", "limits": [{"pattern": [], "rate": 1}]}
        ),
    }
    expected = {
        "RateLimitService/second.default": "only one RateLimitService",
        "Mapping/bad.default": "unknown action 'query'",
        "RateLimit/odd.default": "at least 1 item",
    }
    with RunningGateway(files) as gw:
        command = [sys.executable, "-m", "legation.cli.main", "check", "--json", str(gw.config_dir)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        checked = {p["resource"]: p for p in json.loads(done.stdout)["problems"]}
        assert done.returncode == 1
        for key, text in expected.items():
            assert text in checked[key]["message"] and checked[key]["severity"] == "error"
        assert "does not answer" in checked["RateLimitService/dead.default"]["message"]

        assert _statuses(gw.get, "/good/", 3) == [200] * 3
        assert gw.get("/bad/").status_code == 404

        def errors() -> dict[str, str]:
            return {e["resource"]: e["message"] for e in gw.overview()["errors"]}

        # the limiter is probed beside the builds (every 2 s), not in them
        poll(lambda: "does not answer" in errors().get("RateLimitService/dead.default", ""))
        for key, text in expected.items():
            assert text in errors()[key], errors()


def test_local_limit_per_host(echo: EchoUpstream) -> None:
    """A Host's `local_rate_limit`: one bucket for its routes; another Host serving the
    same Mapping is not limited. No limiter, no Redis."""
    route = {"requestPolicy": {"insecure": {"action": "Route"}}}
    files = {
        "hosts.yaml": _doc(
            "Host",
            "limited",
            {"hostname": "limited.example", **route,
             "local_rate_limit": {"requests": 3, "unit": "minute"}},
        )
        + _doc("Host", "open", {"hostname": "open.example", **route}),
        "mappings.yaml": mapping("a", echo.service, "/a/", hostname="*")
        + mapping("b", echo.service, "/b/", hostname="*"),
    }  # fmt: skip
    with RunningGateway(files) as gw:
        limited = {"host": "limited.example"}
        answers = [gw.get(p, headers=limited).status_code for p in ("/a/", "/b/", "/a/", "/b/")]
        assert answers == [200, 200, 200, 429]  # one bucket for both routes
        assert _statuses(gw.get, "/a/", 5, headers={"host": "open.example"}) == [200] * 5


def test_local_limit_per_host_with_a_filter_policy(echo: EchoUpstream) -> None:
    """A FilterPolicy (JWT on /a/, nothing on /b/) leaves the Host's bucket in place."""
    key = SigningKey("k")
    route = {"requestPolicy": {"insecure": {"action": "Route"}}}
    files = {
        "hosts.yaml": _doc("Host", "limited", {"hostname": "limited.example", **route,
                                               "local_rate_limit": {"requests": 3, "unit": "minute"}}),
        "mappings.yaml": mapping("a", echo.service, "/a/", hostname="*")
        + mapping("b", echo.service, "/b/", hostname="*"),
        "jwt.yaml": jwt_filter("jwt", jwks=jwks_json(key))
        + filter_policy("policy", [{"host": "*", "path": "/a/*", "filters": [{"name": "jwt"}]}]),
    }  # fmt: skip
    with RunningGateway(files) as gw:
        limited = {"host": "limited.example"}
        assert gw.get("/a/", headers=limited).status_code == 401  # the policy is in force
        signed = {**limited, "authorization": f"Bearer {key.token()}"}
        answers = [gw.get(path, headers=headers).status_code
                   for path, headers in [("/b/", limited), ("/a/", signed), ("/b/", limited),
                                         ("/b/", limited)]]  # fmt: skip
        # the 401 came from the JWT filter, ahead of the local limit: it took no token
        assert answers == [200, 200, 200, 429]


def test_bundled_limiter_is_restarted(bundled: RunningGateway) -> None:
    """The bundled limiter killed: legation starts it again (same port), and limits
    apply again without restarting Envoy."""
    pid = bundled.overview()["envoy"]["pid"]
    old = bundled.overview()["ratelimit"]["pids"]["ratelimit"]
    os.kill(old, signal.SIGKILL)

    def restarted() -> bool:
        limiter = bundled.overview()["ratelimit"]
        return bool(limiter["healthy"]) and limiter["pids"].get("ratelimit") not in (None, old)

    poll(restarted, timeout=20.0)
    _start_of_second()
    assert _statuses(bundled.get, "/burst/", 4) == [200, 200, 200, 429]
    assert bundled.overview()["envoy"]["pid"] == pid


def test_grpc_clients_get_resource_exhausted(bundled: RunningGateway) -> None:
    """1 an hour on a gRPC route: the second call fails with RESOURCE_EXHAUSTED."""
    with grpc.insecure_channel(f"127.0.0.1:{bundled.http_port}") as channel:
        call = channel.unary_unary(f"/{GRPC_SERVICE}/Unary")
        assert call(b"one", timeout=5) == b"echo:one"
        with pytest.raises(grpc.RpcError) as refused:
            call(b"two", timeout=5)
    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
