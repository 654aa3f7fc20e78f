"""`retry-after` on the global limiter's 429s: the seconds of `x-ratelimit-reset`.

Envoy's rate-limit filter answers a refused request with 429 and the draft-03
`x-ratelimit-*` headers, but without `retry-after` (RFC 9110), which is what most HTTP
clients and SDKs read before trying again. A local-reply mapper copies
`x-ratelimit-reset` (seconds until the window resets, as `retry-after` wants) into
`retry-after`. Local replies only: an upstream's own 429 passes unchanged. (The local
bucket's filter adds its headers only after the local reply is made, so the mapper
cannot see them there.)
"""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)

from legation.envoy.filters.base import cel_filter

REFUSED = "response.code == 429 && 'x-ratelimit-reset' in response.headers"
"""CEL: a 429 that carries the rate-limit filters' reset header."""


def retry_after_mapper() -> Any:
    """The local-reply mapper adding `retry-after: <x-ratelimit-reset>` to refusals."""
    return hcm_pb2.ResponseMapper(
        filter=cel_filter(REFUSED),
        headers_to_add=[
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key="retry-after", value="%RESP(x-ratelimit-reset)%"),
                append_action=base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD,
            )
        ],
    )


def add_retry_after(hcm: Any) -> None:
    """Add the mapper to the connection manager."""
    hcm.local_reply_config.mappers.append(retry_after_mapper())
