"""envoy.filters.http.compressor with gzip: the Module's `gzip` block."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import extension_pb2
from envoy.extensions.compression.gzip.compressor.v3 import gzip_pb2
from envoy.extensions.filters.http.compressor.v3 import compressor_pb2
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.ir.http import Gzip
from legation.ir.listeners import HttpConnectionManager


def _gzip_library(gzip: Gzip) -> Any:
    library = gzip_pb2.Gzip()
    if gzip.memory_level is not None:
        library.memory_level.CopyFrom(wrappers_pb2.UInt32Value(value=gzip.memory_level))
    if gzip.window_bits is not None:
        library.window_bits.CopyFrom(wrappers_pb2.UInt32Value(value=gzip.window_bits))
    if gzip.compression_level is not None:
        library.compression_level = gzip_pb2.Gzip.CompressionLevel.Value(gzip.compression_level)
    if gzip.compression_strategy is not None:
        library.compression_strategy = gzip_pb2.Gzip.CompressionStrategy.Value(
            gzip.compression_strategy
        )
    return library


def compressor_config(gzip: Gzip) -> Any:
    """The compressor filter's config for the Module's gzip settings."""
    common = compressor_pb2.Compressor.CommonDirectionConfig(content_type=list(gzip.content_types))
    if gzip.min_content_length is not None:
        common.min_content_length.CopyFrom(wrappers_pb2.UInt32Value(value=gzip.min_content_length))
    response = compressor_pb2.Compressor.ResponseDirectionConfig(common_config=common)
    if gzip.disable_on_etag_header is not None:
        response.disable_on_etag_header = gzip.disable_on_etag_header
    if gzip.remove_accept_encoding_header is not None:
        response.remove_accept_encoding_header = gzip.remove_accept_encoding_header
    return compressor_pb2.Compressor(
        compressor_library=extension_pb2.TypedExtensionConfig(
            name="envoy.compression.gzip.compressor", typed_config=pack(_gzip_library(gzip))
        ),
        response_direction_config=response,
    )


class CompressorFilter(HttpFilter):
    """Only on listeners whose Module sets `gzip`."""

    name = "envoy.filters.http.compressor"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """Gzip compression of responses, or None without `gzip`."""
        gzip = listener.filters.gzip
        return compressor_config(gzip) if gzip is not None else None
