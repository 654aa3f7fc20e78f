"""IR TCP listeners → Envoy listeners with a `tcp_proxy` filter per SNI host."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import address_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from envoy.extensions.filters.network.tcp_proxy.v3 import tcp_proxy_pb2
from google.protobuf import any_pb2, duration_pb2, struct_pb2, wrappers_pb2

from legation.ir.tcp import TcpListener, TcpRoute

METADATA_NAMESPACE = "legation"


def _pack(message: Any) -> Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _tcp_proxy(listener: TcpListener, route: TcpRoute) -> Any:
    stat = listener.name.replace("-", "_") + (f"_{route.host}" if route.host else "")
    proxy = tcp_proxy_pb2.TcpProxy(stat_prefix=stat.replace(".", "_"))
    if len(route.targets) == 1:
        proxy.cluster = route.targets[0].cluster
    else:
        proxy.weighted_clusters.clusters.extend(
            tcp_proxy_pb2.TcpProxy.WeightedCluster.ClusterWeight(name=t.cluster, weight=t.weight)
            for t in route.targets
        )
    if route.idle_timeout_ms is not None:
        ms = route.idle_timeout_ms
        proxy.idle_timeout.CopyFrom(
            duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)
        )
    return proxy


def _filter_chain(listener: TcpListener, route: TcpRoute) -> Any:
    metadata = struct_pb2.Struct()
    metadata.update(
        {"source": route.source.describe(), "mappings": [t.mapping for t in route.targets]}
    )
    chain = listener_components_pb2.FilterChain(
        name=route.host or "default",
        filters=[
            listener_components_pb2.Filter(
                name="envoy.filters.network.tcp_proxy",
                typed_config=_pack(_tcp_proxy(listener, route)),
            )
        ],
    )
    chain.metadata.filter_metadata[METADATA_NAMESPACE].CopyFrom(metadata)
    if route.host is not None:
        chain.filter_chain_match.server_names.append(route.host)
    return chain


def translate_tcp_listener(listener: TcpListener) -> Any:
    """One listener; SNI hosts get their own filter chains behind a TLS inspector."""
    message = listener_pb2.Listener(
        name=listener.name,
        address=address_pb2.Address(
            socket_address=address_pb2.SocketAddress(
                address=listener.address, port_value=listener.port
            )
        ),
        # without SO_REUSEPORT (Envoy's default on Linux) a second Envoy cannot bind
        # the same port and silently share its traffic
        enable_reuse_port=wrappers_pb2.BoolValue(value=False),
        filter_chains=[_filter_chain(listener, r) for r in listener.routes],
    )
    if any(r.host is not None for r in listener.routes):
        # Clients that never send a ClientHello (server-first protocols) still reach
        # the catch-all chain once the inspector gives up.
        message.continue_on_listener_filters_timeout = True
        message.listener_filters.append(
            listener_components_pb2.ListenerFilter(
                name="envoy.filters.listener.tls_inspector",
                typed_config=_pack(tls_inspector_pb2.TlsInspector()),
            )
        )
    return message
