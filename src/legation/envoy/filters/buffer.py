"""envoy.filters.http.buffer: the Module's `buffer` block (whole request bodies)."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.http.buffer.v3 import buffer_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.ir.listeners import HttpConnectionManager


class BufferFilter(HttpFilter):
    """Only on listeners whose Module sets `buffer.max_request_bytes`."""

    name = "envoy.filters.http.buffer"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """Bodies larger than the limit get 413."""
        limit = listener.filters.buffer_max_request_bytes
        if limit is None:
            return None
        return buffer_pb2.Buffer(max_request_bytes=wrappers_pb2.UInt32Value(value=limit))
