"""The `ConfigSource` that points a resource at the ADS stream it arrived on."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import config_source_pb2


def ads_source() -> Any:
    """`ConfigSource{ads: {}, resource_api_version: V3}`: fetch over the same ADS stream."""
    return config_source_pb2.ConfigSource(
        ads=config_source_pb2.AggregatedConfigSource(),
        resource_api_version=config_source_pb2.V3,
    )
