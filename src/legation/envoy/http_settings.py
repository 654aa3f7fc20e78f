"""IR `HttpSettings` → options of the HTTP connection manager and its listener."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import protocol_pb2
from envoy.config.listener.v3 import listener_components_pb2
from envoy.extensions.filters.listener.proxy_protocol.v3 import proxy_protocol_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from google.protobuf import wrappers_pb2

from legation.envoy.filters.base import pack
from legation.envoy.route_options import duration_ms
from legation.ir.http import HttpSettings
from legation.ir.listeners import Listener

_HCM = hcm_pb2.HttpConnectionManager
_UNDERSCORES = protocol_pb2.HttpProtocolOptions.HeadersWithUnderscoresAction


def _protocol_options(settings: HttpSettings, hcm: Any) -> None:
    """HTTP/1 options and the options shared by every HTTP version."""
    http1 = hcm.http_protocol_options
    if settings.accept_http_10 is not None:
        http1.accept_http_10 = settings.accept_http_10
    if settings.allow_chunked_length is not None:
        http1.allow_chunked_length = settings.allow_chunked_length
    if settings.proper_case_headers:
        http1.header_key_format.proper_case_words.SetInParent()
    if not http1.ListFields():
        hcm.ClearField("http_protocol_options")
    if settings.idle_timeout_ms is not None:
        hcm.common_http_protocol_options.idle_timeout.CopyFrom(
            duration_ms(settings.idle_timeout_ms)
        )
    if settings.headers_with_underscores is not None:
        hcm.common_http_protocol_options.headers_with_underscores_action = _UNDERSCORES.Value(
            settings.headers_with_underscores
        )


def _client_cert(settings: HttpSettings, hcm: Any) -> None:
    if settings.forward_client_cert_details is not None:
        hcm.forward_client_cert_details = _HCM.ForwardClientCertDetails.Value(
            settings.forward_client_cert_details
        )
    details = settings.set_current_client_cert_details
    if details:
        current = hcm.set_current_client_cert_details
        for name in details:
            if name == "subject":
                current.subject.CopyFrom(wrappers_pb2.BoolValue(value=True))
            else:
                setattr(current, name, True)


def apply_http_settings(settings: HttpSettings, hcm: Any) -> None:
    """Set the Module's options on the HTTP connection manager `hcm`."""
    if settings.server_name is not None:
        hcm.server_name = settings.server_name
    _protocol_options(settings, hcm)
    if settings.max_request_headers_kb is not None:
        hcm.max_request_headers_kb.CopyFrom(
            wrappers_pb2.UInt32Value(value=settings.max_request_headers_kb)
        )
    if settings.preserve_external_request_id is not None:
        hcm.preserve_external_request_id = settings.preserve_external_request_id
    if settings.reject_escaped_slashes:
        hcm.path_with_escaped_slashes_action = _HCM.REJECT_REQUEST
    _client_cert(settings, hcm)


def apply_listener_options(listener: Listener, message: Any) -> None:
    """Set the listener-level options (buffer limit, PROXY protocol) on Envoy's `message`."""
    if listener.buffer_limit_bytes is not None:
        message.per_connection_buffer_limit_bytes.CopyFrom(
            wrappers_pb2.UInt32Value(value=listener.buffer_limit_bytes)
        )
    if listener.proxy_protocol:
        # first, before the TLS inspector: the PROXY header comes before the ClientHello
        message.listener_filters.insert(
            0,
            listener_components_pb2.ListenerFilter(
                name="envoy.filters.listener.proxy_protocol",
                typed_config=pack(proxy_protocol_pb2.ProxyProtocol()),
            ),
        )
