"""envoy.filters.http.oauth2: OIDC login (the authorization-code flow with PKCE).

One filter instance per OAuth2 login in the chain of a listener where some route uses
it, named `envoy.filters.http.oauth2/<login>`. The filter has no per-route settings, so
each route turns every instance off (`FilterConfig.disabled`) except its own login's.
The listener's first login is on by default, so the provider's callback and the logout
path work even where no route matches them; the others are off by default and only run
where a route turns them on. The client secret and the cookie-signing key are SDS
`generic_secret`s (`oauth2/<login>/client-secret`, `oauth2/<login>/hmac`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from envoy.config.core.v3 import base_pb2, http_uri_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.extensions.filters.http.oauth2.v3 import oauth_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.type.matcher.v3 import path_pb2, string_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from legation.envoy.cluster import translate_cluster
from legation.envoy.config_source import ads_source
from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.envoy.resources import XdsResources
from legation.ir.gateway import Gateway
from legation.ir.listeners import HttpConnectionManager
from legation.ir.oauth2 import GenericSecret, OAuth2Login
from legation.ir.routes import Route

FILTER = "envoy.filters.http.oauth2"
TOKEN_TIMEOUT_SECONDS = 5
"""How long Envoy waits for the provider's token endpoint."""
FAILED_BODY = "authentication is not available for this route\n"
"""What a route gets whose OAuth2 Filter cannot work (the reason is in the diagnostics)."""


def instance_name(login: str) -> str:
    """The HCM filter name of one login's instance (also its per-route config key)."""
    return f"{FILTER}/{login}"


def _sds(name: str) -> Any:
    return secret_pb2.SdsSecretConfig(name=name, sds_config=ads_source())


def _exact_path(path: str) -> Any:
    return path_pb2.PathMatcher(path=string_pb2.StringMatcher(exact=path))


def _cookie_configs(login: OAuth2Login) -> Any:
    configs = oauth_pb2.CookieConfigs()
    if login.same_site is None:
        return configs
    same_site = oauth_pb2.CookieConfig.SameSite.Value(login.same_site)
    for fld in oauth_pb2.CookieConfigs.DESCRIPTOR.fields:
        getattr(configs, fld.name).same_site = same_site
    return configs


def _credentials(login: OAuth2Login) -> Any:
    c = login.cookies
    return oauth_pb2.OAuth2Credentials(
        client_id=login.client_id,
        token_secret=_sds(login.token_secret),
        hmac_secret=_sds(login.hmac_secret),
        cookie_domain=login.cookie_domain or "",
        cookie_names=oauth_pb2.OAuth2Credentials.CookieNames(
            bearer_token=c.bearer_token,
            oauth_hmac=c.oauth_hmac,
            oauth_expires=c.oauth_expires,
            id_token=c.id_token,
            refresh_token=c.refresh_token,
            oauth_nonce=c.oauth_nonce,
            code_verifier=c.code_verifier,
        ),
    )


def oauth2_config(login: OAuth2Login) -> Any:
    """The filter's typed config for one login."""
    auth_type = oauth_pb2.OAuth2Config.AuthType
    config = oauth_pb2.OAuth2Config(
        token_endpoint=http_uri_pb2.HttpUri(
            uri=login.token_endpoint,
            cluster=login.token_cluster,
            timeout=duration_pb2.Duration(seconds=TOKEN_TIMEOUT_SECONDS),
        ),
        authorization_endpoint=login.authorization_endpoint,
        end_session_endpoint=login.end_session_endpoint or "",
        credentials=_credentials(login),
        redirect_uri=login.redirect_uri,
        redirect_path_matcher=_exact_path(login.redirect_path),
        signout_path=_exact_path(login.logout_path),
        forward_bearer_token=login.forward_bearer_token,
        auth_scopes=list(login.scopes),
        auth_type=auth_type.BASIC_AUTH if login.basic_auth else auth_type.URL_ENCODED_BODY,
        use_refresh_token=wrappers_pb2.BoolValue(value=login.use_refresh_token),
        cookie_configs=_cookie_configs(login),
        stat_prefix=login.name,
    )
    return oauth_pb2.OAuth2(config=config)


def route_filter_configs(own: str | None, logins: tuple[str, ...]) -> dict[str, Any]:
    """A route's per-filter configs: every login's instance off but its own `own`'s.

    Envoy refuses a `FilterConfig` that turns a filter on without a per-route config,
    which the oauth2 filter does not have; so every instance is on by default and the
    route leaves its own alone."""
    return {instance_name(name): rc.FilterConfig(disabled=True) for name in logins if name != own}


def fail_closed(out: Any) -> None:
    """Turn the Envoy route `out` into a 503 answered by Envoy itself."""
    out.ClearField("route")
    out.ClearField("redirect")
    out.direct_response.status = 503
    out.direct_response.body.CopyFrom(base_pb2.DataSource(inline_string=FAILED_BODY))


def translate_generic_secret(secret: GenericSecret) -> Any:
    """The SDS `Secret` holding one login's client secret or HMAC key."""
    return secret_pb2.Secret(
        name=secret.name,
        generic_secret=secret_pb2.GenericSecret(
            secret=base_pb2.DataSource(inline_bytes=secret.value)
        ),
    )


class OAuth2Filter(HttpFilter):
    """On listeners where some route needs an OIDC login (or fails closed for one)."""

    name = FILTER

    def route_use(self, route: Route) -> Hashable | None:
        """The name of the login the route uses."""
        login = route.options.oauth2
        return login.login if login is not None else None

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Only where a route of the listener names a working login."""
        return bool(_listener_logins(self, ctx))

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Insert one instance per login just before the filters that follow this one."""
        logins = _listener_logins(self, ctx)
        if not logins:
            return
        later = _later_filter_names(self)
        at = next(
            (i for i, f in enumerate(hcm.http_filters) if f.name in later),
            len(hcm.http_filters),
        )
        instances = [
            hcm_pb2.HttpFilter(name=instance_name(x.name), typed_config=pack(oauth2_config(x)))
            for x in logins
        ]
        chain = list(hcm.http_filters)
        del hcm.http_filters[:]
        hcm.http_filters.extend(chain[:at] + instances + chain[at:])

    def route_state(self, gateway: Gateway) -> Hashable:
        """The names of every login: each route turns off all but its own."""
        return tuple(x.name for x in gateway.oauth2.logins)

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """Turn off the other logins' instances; refuse every request if the route's
        login cannot work."""
        login = route.options.oauth2
        if login is not None and login.failure is not None:
            fail_closed(out)
        own = login.login if login is not None else None
        for key, config in route_filter_configs(own, state or ()).items():
            out.typed_per_filter_config[key].CopyFrom(pack(config))

    def extra_resources(self, gateway: Gateway) -> XdsResources:
        """The token endpoints' clusters and the logins' secrets."""
        oauth2 = gateway.oauth2
        return XdsResources(
            clusters={c.name: translate_cluster(c) for c in oauth2.clusters},
            secrets={s.name: translate_generic_secret(s) for s in oauth2.secrets},
        )


def _listener_logins(me: HttpFilter, ctx: FilterContext) -> list[OAuth2Login]:
    """The working logins some route of the listener uses, in name order."""
    names = ctx.uses(me)
    return [x for x in ctx.gateway.oauth2.logins if x.name in names]


def _later_filter_names(me: HttpFilter) -> set[str]:
    from legation.envoy.filters import HTTP_FILTERS  # the table imports this module

    index = next(i for i, f in enumerate(HTTP_FILTERS) if f is me)
    return {f.name for f in HTTP_FILTERS[index + 1 :]}
