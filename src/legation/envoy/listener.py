"""IR listeners → Envoy `Listener` messages: one filter chain per IR chain, in order."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.config.listener.v3 import listener_components_pb2, listener_pb2
from envoy.extensions.filters.listener.tls_inspector.v3 import tls_inspector_pb2
from google.protobuf import struct_pb2, wrappers_pb2

from legation.envoy import connection_manager, tcp_proxy
from legation.envoy.filters.access_log_service import translate_log_service
from legation.envoy.filters.base import EMPTY_GATEWAY, FilterContext, RouteUseMemo, pack
from legation.envoy.http_settings import apply_listener_options
from legation.envoy.secret import TLS_TRANSPORT_SOCKET, downstream_tls_context
from legation.ir.gateway import Gateway
from legation.ir.listeners import FilterChain, Listener
from legation.ir.observability import LogDriver

METADATA_NAMESPACE = "legation"


def _network_filter(
    chain: FilterChain, gateway: Gateway, memo: dict[int, Any], scan: RouteUseMemo | None
) -> Any:
    if chain.http is not None:
        # the SNI chains of a listener share one manager: its filters are decided once
        config = memo.get(id(chain.http))
        if config is None:
            name = chain.http.route_config
            routes = next((rc for rc in gateway.route_configs if rc.name == name), None)
            ctx = FilterContext(gateway, routes, scan)
            config = connection_manager.translate_connection_manager(chain.http, ctx)
            memo[id(chain.http)] = config
        return listener_components_pb2.Filter(
            name=connection_manager.NAME, typed_config=pack(config)
        )
    assert chain.tcp is not None
    config = tcp_proxy.translate_tcp_proxy(chain.tcp)
    # LogServices with driver tcp log TCPMapping connections too
    tcp_logs = [s for s in gateway.log_services if s.driver is LogDriver.TCP]
    config.access_log.extend(translate_log_service(s) for s in tcp_logs)
    return listener_components_pb2.Filter(name=tcp_proxy.NAME, typed_config=pack(config))


def _filter_chain(
    chain: FilterChain, gateway: Gateway, memo: dict[int, Any], scan: RouteUseMemo | None
) -> Any:
    out = listener_components_pb2.FilterChain(filters=[_network_filter(chain, gateway, memo, scan)])
    if chain.name is not None:
        out.name = chain.name
    if chain.match.server_names:  # touching an empty match would add `filter_chain_match: {}`
        out.filter_chain_match.server_names.extend(chain.match.server_names)
    if chain.match.transport_protocol is not None:
        out.filter_chain_match.transport_protocol = chain.match.transport_protocol
    if chain.tcp is not None:
        metadata = struct_pb2.Struct()
        metadata.update(
            {
                "source": chain.tcp.source.describe(),
                "mappings": [t.mapping for t in chain.tcp.targets],
            }
        )
        out.metadata.filter_metadata[METADATA_NAMESPACE].CopyFrom(metadata)
    if chain.tls is not None:
        out.transport_socket.CopyFrom(
            base_pb2.TransportSocket(
                name=TLS_TRANSPORT_SOCKET, typed_config=pack(downstream_tls_context(chain.tls))
            )
        )
    return out


def translate_listener(
    listener: Listener, gateway: Gateway = EMPTY_GATEWAY, scan: RouteUseMemo | None = None
) -> Any:
    """One listener; chains matching on SNI or transport get a TLS inspector in front.

    `gateway` is what the HTTP filters read to decide whether a listener needs them;
    `scan` remembers what the routes ask of the filters between translations."""
    memo: dict[int, Any] = {}  # the chains hold their managers while this runs
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
        filter_chains=[_filter_chain(c, gateway, memo, scan) for c in listener.filter_chains],
    )
    if listener.inspects_tls:
        # Clients that never send a ClientHello (server-first protocols) still reach
        # the catch-all chain once the inspector gives up.
        message.continue_on_listener_filters_timeout = True
        message.listener_filters.append(
            listener_components_pb2.ListenerFilter(
                name="envoy.filters.listener.tls_inspector",
                typed_config=pack(tls_inspector_pb2.TlsInspector()),
            )
        )
    apply_listener_options(listener, message)
    return message
