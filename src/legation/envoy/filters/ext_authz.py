"""envoy.filters.http.ext_authz: the AuthService (HTTP or gRPC `envoy.service.auth.v3`).

On every HTTP listener where some route needs it. A route skips it (per-route
`disabled`) when its Mapping says `bypass_auth`, when it only redirects (the HTTPS
redirect of a Host included), and on the ACME challenge path; a route's
`auth_context_extensions` go into the check request. The auth service's cluster is
this filter's extra resource.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.config.core.v3 import (
    address_pb2,
    base_pb2,
    config_source_pb2,
    grpc_service_pb2,
    http_uri_pb2,
)
from envoy.config.endpoint.v3 import endpoint_components_pb2
from envoy.extensions.filters.http.ext_authz.v3 import ext_authz_pb2
from envoy.type.matcher.v3 import string_pb2
from envoy.type.v3 import http_status_pb2

from legation.envoy.cluster import translate_cluster
from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.envoy.resources import XdsResources
from legation.envoy.route_options import duration_ms
from legation.ir.auth import ExtAuthz, bypass_reason
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route


def _patterns(names: tuple[str, ...]) -> Any:
    return string_pb2.ListStringMatcher(
        patterns=[string_pb2.StringMatcher(exact=n, ignore_case=True) for n in names]
    )


def _http_service(auth: ExtAuthz) -> Any:
    scheme = "https" if auth.cluster.tls else "http"
    service = ext_authz_pb2.HttpService(
        server_uri=http_uri_pb2.HttpUri(
            uri=f"{scheme}://{auth.cluster.host}:{auth.cluster.port}",
            cluster=auth.cluster.name,
            timeout=duration_ms(auth.timeout_ms),
        ),
        path_prefix=auth.path_prefix,
        authorization_request=ext_authz_pb2.AuthorizationRequest(
            headers_to_add=[base_pb2.HeaderValue(key=k, value=v) for k, v in auth.add_auth_headers]
        ),
        # only the 200 answer's headers are limited; a denial reaches the client whole
        authorization_response=ext_authz_pb2.AuthorizationResponse(
            allowed_upstream_headers=_patterns(auth.allowed_authorization_headers)
        ),
    )
    return service


def ext_authz_config(auth: ExtAuthz) -> Any:
    """The filter's config for the gateway's auth settings."""
    config = ext_authz_pb2.ExtAuthz(
        transport_api_version=config_source_pb2.V3,
        failure_mode_allow=auth.failure_mode_allow and auth.broken is None,
        clear_route_cache=True,  # headers the auth service adds may choose another route
        status_on_error=http_status_pb2.HttpStatus(code=auth.status_on_error),
    )
    if auth.proto == "grpc":
        config.grpc_service.CopyFrom(
            grpc_service_pb2.GrpcService(
                envoy_grpc=grpc_service_pb2.GrpcService.EnvoyGrpc(cluster_name=auth.cluster.name),
                timeout=duration_ms(auth.timeout_ms),
            )
        )
    else:
        config.http_service.CopyFrom(_http_service(auth))
        config.allowed_headers.CopyFrom(_patterns(auth.allowed_request_headers))
    if auth.include_body is not None:
        config.with_request_body.CopyFrom(
            ext_authz_pb2.BufferSettings(
                max_request_bytes=auth.include_body.max_bytes,
                allow_partial_message=auth.include_body.allow_partial,
            )
        )
    return config


def auth_cluster(auth: ExtAuthz) -> Any:
    """The auth service's cluster, with one endpoint per balanced AuthService (none when
    the configuration cannot work: every check then fails, closed)."""
    message = translate_cluster(auth.cluster)
    if message.HasField("load_assignment") and not auth.endpoints:
        del message.load_assignment.endpoints[:]
    elif message.HasField("load_assignment"):
        endpoints = message.load_assignment.endpoints[0].lb_endpoints
        del endpoints[:]
        for host, port in auth.endpoints:
            socket = address_pb2.SocketAddress(address=host, port_value=port)
            endpoints.add(
                endpoint=endpoint_components_pb2.Endpoint(
                    address=address_pb2.Address(socket_address=socket)
                )
            )
    return message


class ExtAuthzFilter(HttpFilter):
    """With an AuthService: on listeners where some route calls it."""

    name = "envoy.filters.http.ext_authz"

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Some route of the listener does not bypass authentication."""
        if ctx.gateway.auth is None:
            return False
        return bool(ctx.uses(self))

    def route_use(self, route: Route) -> Hashable | None:
        """True when the route calls the auth service (does not bypass it)."""
        return True if bypass_reason(route) is None else None

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The gateway's auth settings."""
        auth = ctx.gateway.auth
        return ext_authz_config(auth) if auth is not None else None

    def route_state(self, gateway: Gateway) -> Hashable:
        """Per-route settings are written only when the gateway has an AuthService."""
        return gateway.auth is not None

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """Off for bypassing routes; the route's context extensions otherwise."""
        if not state:
            return
        if bypass_reason(route) is not None:
            per_route = ext_authz_pb2.ExtAuthzPerRoute(disabled=True)
        elif route.options.auth_context_extensions:
            per_route = ext_authz_pb2.ExtAuthzPerRoute(
                check_settings=ext_authz_pb2.CheckSettings(
                    context_extensions=dict(route.options.auth_context_extensions)
                )
            )
        else:
            return
        out.typed_per_filter_config[self.name].CopyFrom(pack(per_route))

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """The auth service's cluster."""
        if gateway.auth is None:
            return XdsResources()
        cluster = auth_cluster(gateway.auth)
        return XdsResources(clusters={cluster.name: cluster})
