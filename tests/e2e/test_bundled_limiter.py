"""The bundled limiter on its own: real Redis and envoyproxy/ratelimit, started by
legation's code, answer the v3 rate-limit protocol and reload their configuration.

(Requests through Envoy with Mapping labels are in the rate-limit tests proper.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc

from legation.ratelimit.services import BundledLimiter
from tests.e2e.limiter import require_limiter_programs

OK = rls_pb2.RateLimitResponse.OK
OVER_LIMIT = rls_pb2.RateLimitResponse.OVER_LIMIT


def _config(limited: str, per_minute: int, sentinel: str) -> str:
    """`limited` gets `per_minute`; `sentinel` gets 0, so it is over its limit exactly
    when this configuration is loaded."""
    return "domain: test\ndescriptors:\n" + "".join(
        f"- key: generic_key\n  value: {value}\n"
        f"  rate_limit: {{unit: minute, requests_per_unit: {n}}}\n"
        for value, n in ((limited, per_minute), (sentinel, 0))
    )


@pytest.fixture
def limiter(tmp_path: Path) -> Iterator[BundledLimiter]:
    require_limiter_programs()
    with BundledLimiter(tmp_path) as lim:
        yield lim


def _ask(stub: rls_pb2_grpc.RateLimitServiceStub, value: str = "demo") -> int:
    entry = ratelimit_pb2.RateLimitDescriptor.Entry(key="generic_key", value=value)
    request = rls_pb2.RateLimitRequest(
        domain="test", descriptors=[ratelimit_pb2.RateLimitDescriptor(entries=[entry])]
    )
    return int(stub.ShouldRateLimit(request, timeout=2.0).overall_code)


def _loaded(stub: rls_pb2_grpc.RateLimitServiceStub, sentinel: str, timeout: float) -> float:
    """Seconds until the configuration with `sentinel` is in force."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _ask(stub, sentinel) == OVER_LIMIT:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"the configuration with {sentinel} not loaded within {timeout} s")


def test_limits_then_reloads_then_reports_down(limiter: BundledLimiter) -> None:
    """3 per minute: 3 pass, the 4th is over; a new config is in force within 1 s."""
    limiter.write_config("test", _config("demo", 3, sentinel="first"))
    with grpc.insecure_channel(f"127.0.0.1:{limiter.ports.grpc}") as channel:
        stub = rls_pb2_grpc.RateLimitServiceStub(channel)
        _loaded(stub, "first", 5.0)
        assert [_ask(stub) for _ in range(4)] == [OK, OK, OK, OVER_LIMIT]
        limiter.write_config("test", _config("other", 3, sentinel="second"))
        assert _loaded(stub, "second", 1.0) < 1.0
        assert _ask(stub) == OK  # "demo" has no limit any more
        assert _ask(stub, "first") == OK
    assert limiter.healthy()
    limiter.stop()
    assert not limiter.healthy()
