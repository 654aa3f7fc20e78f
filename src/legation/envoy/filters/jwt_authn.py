"""envoy.filters.http.jwt_authn: JWT validation for the routes FilterPolicies protect.

One provider per JWT Filter; one named requirement per set of providers a rule asks
for (`requirement_map`), chosen per route (`requirement_name`), or by the listener's
path `rules` for routes a policy rule covers only in part. Missing or invalid tokens
get Envoy's 401.
"""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import base_pb2, http_uri_pb2, substitution_format_string_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.extensions.filters.http.jwt_authn.v3 import config_pb2 as jwt_pb2
from envoy.extensions.filters.network.http_connection_manager.v3 import (
    http_connection_manager_pb2 as hcm_pb2,
)
from envoy.type.matcher.v3 import regex_pb2, string_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter, cel_filter, pack
from legation.ir.jwt import (
    HeaderCondition,
    JwtAuthn,
    JwtErrorResponse,
    JwtProvider,
    JwtRequirement,
    JwtRule,
)
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route

JWT_CACHE_SIZE = 1000
"""Verified tokens each Envoy worker remembers per provider."""


def payload_key(p: JwtProvider) -> str:
    """Where a verified token's payload is kept in the request's dynamic metadata (under
    this filter's name), for providers with `required_claims` (jwt_claims.py reads it)."""
    return f"payload:{p.name}"


def header_key(p: JwtProvider) -> str:
    """Where a verified token's JOSE header is kept: its `alg` is always there, so it
    tells whether the provider accepted a token (a metadata matcher cannot test a
    whole struct for presence)."""
    return f"header:{p.name}"


def _duration(ms: int) -> Any:
    return duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def _provider(p: JwtProvider) -> Any:
    out = jwt_pb2.JwtProvider(
        issuer=p.issuer or "",
        audiences=list(p.audiences),
        forward=p.forward,
        require_expiration=p.require_expiration,
        clock_skew_seconds=p.clock_skew_seconds,
        from_cookies=list(p.cookies),
        # verified tokens are remembered (their expiry is still checked on each use):
        # a client repeating its token does not pay for a signature check every time
        jwt_cache_config=jwt_pb2.JwtCacheConfig(jwt_cache_size=JWT_CACHE_SIZE),
    )
    out.from_headers.extend(
        jwt_pb2.JwtHeader(name=h.header, value_prefix=h.prefix) for h in p.headers
    )
    out.claim_to_headers.extend(
        jwt_pb2.JwtClaimToHeader(header_name=c.header, claim_name=c.claim) for c in p.claim_headers
    )
    if p.required_claims:
        out.payload_in_metadata, out.header_in_metadata = payload_key(p), header_key(p)
    if p.local_jwks is not None:
        out.local_jwks.CopyFrom(base_pb2.DataSource(inline_string=p.local_jwks))
    if p.remote_jwks is not None:
        remote = p.remote_jwks
        out.remote_jwks.CopyFrom(
            jwt_pb2.RemoteJwks(
                http_uri=http_uri_pb2.HttpUri(
                    uri=remote.uri, cluster=remote.cluster, timeout=_duration(remote.timeout_ms)
                ),
                cache_duration=_duration(remote.cache_duration_ms),
                # fetched in the background (again every cache_duration), never on a
                # request's path; the listener does not wait for the first fetch
                async_fetch=jwt_pb2.JwksAsyncFetch(fast_listener=True),
            )
        )
    return out


def _requirement(r: JwtRequirement) -> Any:
    if len(r.providers) == 1:
        return jwt_pb2.JwtRequirement(provider_name=r.providers[0])
    return jwt_pb2.JwtRequirement(
        requires_all=jwt_pb2.JwtRequirementAndList(
            requirements=[jwt_pb2.JwtRequirement(provider_name=p) for p in r.providers]
        )
    )


def _header(test: HeaderCondition) -> Any:
    """`ifRequestHeader`: a value, a regex, or (neither) present and not empty."""
    # a missing header must fail the test (and pass it inverted): Envoy only does that
    # for an absent header read as empty
    out = rc.HeaderMatcher(
        name=test.name, invert_match=test.invert, treat_missing_header_as_empty=True
    )
    if test.exact is not None:
        out.string_match.CopyFrom(string_pb2.StringMatcher(exact=test.exact))
    else:
        regex = regex_pb2.RegexMatcher(regex=test.regex or ".+")
        out.string_match.CopyFrom(string_pb2.StringMatcher(safe_regex=regex))
    return out


def _rule(rule: JwtRule, by_name: dict[str, JwtRequirement]) -> Any:
    match = rc.RouteMatch()
    if rule.path.kind == "exact":
        match.path = rule.path.value
    elif rule.path.kind == "prefix":
        match.prefix = rule.path.value
    else:
        match.safe_regex.CopyFrom(regex_pb2.RegexMatcher(regex=rule.path.value))
    if rule.host_regex is not None:
        match.headers.append(
            rc.HeaderMatcher(
                name=":authority",
                string_match=string_pb2.StringMatcher(
                    safe_regex=regex_pb2.RegexMatcher(regex=rule.host_regex)
                ),
            )
        )
    match.headers.extend(_header(h) for h in rule.headers)
    out = jwt_pb2.RequirementRule(match=match)
    if rule.requirement is not None:
        out.requires.CopyFrom(_requirement(by_name[rule.requirement]))
    return out


def jwt_authn_config(jwt: JwtAuthn) -> Any:
    """The filter's config for one listener."""
    by_name = {r.name: r for r in jwt.requirements}
    config = jwt_pb2.JwtAuthentication(bypass_cors_preflight=True)
    for p in jwt.providers:
        config.providers[p.name].CopyFrom(_provider(p))
    for r in jwt.requirements:
        config.requirement_map[r.name].CopyFrom(_requirement(r))
    config.rules.extend(_rule(rule, by_name) for rule in jwt.rules)
    return config


DENIED = "response.code_details.startsWith('jwt_authn_access_denied')"
"""CEL: the reply is jwt_authn's refusal (its response code details say so)."""


def unauthorized_mapper(
    errors: JwtErrorResponse | None = None,
    when: str = DENIED,
    message: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Any:
    """A local-reply mapper turning every jwt_authn refusal (or the replies the CEL
    expression `when` picks) into a 401, with the body and headers of a Filter's
    `errorResponse`; `message`, if given, replaces Envoy's reason (`%LOCAL_REPLY_BODY%`),
    `headers` are added before the `errorResponse`'s (which replace them).

    Envoy answers 403 for a valid signature with a wrong audience and 401 otherwise; the
    commercial edition (and RFC 6750's invalid_token) answers 401 for every bad token.
    """
    mapper = hcm_pb2.ResponseMapper(
        filter=cel_filter(when), status_code=wrappers_pb2.UInt32Value(value=401)
    )
    if message is not None:
        mapper.body.CopyFrom(base_pb2.DataSource(inline_string=message))
    if errors is not None and errors.body is not None:
        mapper.body_format_override.CopyFrom(
            substitution_format_string_pb2.SubstitutionFormatString(
                text_format_source=base_pb2.DataSource(inline_string=errors.body),
                content_type=errors.content_type or "",
            )
        )
    overwrite = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
    for name, value in (*headers, *(errors.headers if errors is not None else ())):
        mapper.headers_to_add.append(
            base_pb2.HeaderValueOption(
                header=base_pb2.HeaderValue(key=name, value=value), append_action=overwrite
            )
        )
    return mapper


def listener_error_response(jwt: JwtAuthn) -> JwtErrorResponse | None:
    """Envoy does not say which provider refused, so one `errorResponse` applies per
    listener: the first Filter's (by name) that has one."""
    found = [p.error_response for p in jwt.providers if p.error_response]
    return found[0] if found else None


class JwtAuthnFilter(HttpFilter):
    """Only on listeners where some route needs a JWT."""

    name = "envoy.filters.http.jwt_authn"

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Where the compiler found routes needing validation (it says so per listener)."""
        return listener.jwt is not None

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """Providers, named requirements and path rules of the listener's routes."""
        return jwt_authn_config(listener.jwt) if listener.jwt is not None else None

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """Refusals are 401s, with the listener's `errorResponse`."""
        if listener.jwt is not None:
            errors = listener_error_response(listener.jwt)
            hcm.local_reply_config.mappers.append(unauthorized_mapper(errors))

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """The route's requirement by name, or validation off; nothing when the
        listener's path rules decide (or when no FilterPolicy exists)."""
        jwt = route.options.jwt
        if jwt is None or jwt.by_rules:
            return
        if jwt.requirement is not None:
            per_route = jwt_pb2.PerRouteConfig(requirement_name=jwt.requirement)
        else:
            per_route = jwt_pb2.PerRouteConfig(disabled=True)
        out.typed_per_filter_config[self.name].CopyFrom(pack(per_route))
