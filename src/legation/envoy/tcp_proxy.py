"""IR TCP proxies → Envoy `TcpProxy` network filters (one cluster or a weighted group)."""

from __future__ import annotations

from typing import Any

from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2

from legation.envoy.route_options import duration_ms
from legation.ir.tcp import TcpProxy

NAME = "envoy.filters.network.tcp_proxy"
"""The network filter's name in a filter chain."""


def translate_tcp_proxy(tcp: TcpProxy) -> Any:
    """The proxy for one chain; Envoy refuses zero weights, which compile leaves out."""
    proxy = tcp_proxy_pb2.TcpProxy(stat_prefix=tcp.stat_prefix)
    if len(tcp.targets) == 1:
        proxy.cluster = tcp.targets[0].cluster
    else:
        proxy.weighted_clusters.clusters.extend(
            tcp_proxy_pb2.TcpProxy.WeightedCluster.ClusterWeight(name=t.cluster, weight=t.weight)
            for t in tcp.targets
        )
    if tcp.idle_timeout_ms is not None:
        proxy.idle_timeout.CopyFrom(duration_ms(tcp.idle_timeout_ms))
    return proxy
