"""A second envoy.filters.http.rbac, after jwt_authn: a JWT Filter's `requireIssuedAt`
and `requireNotBefore` (the token must carry `iat` / `nbf`).

Envoy's jwt_authn checks `nbf` when a token has it but cannot require either claim. A
provider that requires some keeps each token it accepts in the dynamic metadata (its
payload and header, `payload_in_metadata` / `header_in_metadata`); this filter denies a
request when some such provider accepted a token that lacks one of its claims.

The check is per provider, not per route: it holds wherever the provider accepted a
token, so routes decided by jwt_authn's path rules (per request) get it as well, and
routes without validation (no provider accepted anything) are untouched. When a route
asks for several Filters (all must accept), each one's required claims hold for the
token it accepted. The denial becomes a 401 with the listener's `errorResponse`, as
jwt_authn's refusals do.
"""

from __future__ import annotations

from typing import Any

from envoy.config.rbac.v3 import rbac_pb2
from envoy.extensions.filters.http.rbac.v3 import rbac_pb2 as rbac_filter_pb2
from envoy.type.matcher.v3 import metadata_pb2, value_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter
from legation.envoy.filters.jwt_authn import (
    JwtAuthnFilter,
    header_key,
    listener_error_response,
    payload_key,
    unauthorized_mapper,
)
from legation.ir.jwt import JwtAuthn, JwtProvider
from legation.ir.listeners import HttpConnectionManager

CLAIMS = ("iat", "nbf")
"""The claims a Filter can require that Envoy does not (in the order they are checked)."""


CHALLENGE = (
    "www-authenticate",
    'Bearer realm="%REQ(x-forwarded-proto)%://%REQ(:authority)%%REQ(:path)%",'
    ' error="invalid_token"',
)
"""What jwt_authn answers a bad token with (the request's URL as the realm)."""


def policy_name(claim: str) -> str:
    """The RBAC policy denying tokens without `claim` (Envoy names the matched policy in
    the response code details, which is how the 401 mapper knows the denial)."""
    return f"legation-jwt-no-{claim}"


def denied(claim: str) -> str:
    """CEL: the reply is this filter's denial of a token without `claim`."""
    return f"response.code_details == 'rbac_access_denied_matched_policy[{policy_name(claim)}]'"


def _present(key: str, claim: str) -> Any:
    """A principal: jwt_authn's metadata has `claim` under `key`."""
    matcher = metadata_pb2.MetadataMatcher(
        filter=JwtAuthnFilter.name,
        path=[
            metadata_pb2.MetadataMatcher.PathSegment(key=key),
            metadata_pb2.MetadataMatcher.PathSegment(key=claim),
        ],
        value=value_pb2.ValueMatcher(present_match=True),
    )
    return rbac_pb2.Principal(metadata=matcher)


def _lacks(p: JwtProvider, claim: str) -> Any:
    """A principal: `p` accepted a token (its header's `alg` is kept) without `claim`."""
    return rbac_pb2.Principal(
        and_ids=rbac_pb2.Principal.Set(
            ids=[
                _present(header_key(p), "alg"),
                rbac_pb2.Principal(not_id=_present(payload_key(p), claim)),
            ]
        )
    )


def claims_rbac(jwt: JwtAuthn) -> Any | None:
    """The filter's config: one deny policy per claim some provider requires; None when
    none does."""
    policies = {}
    for claim in CLAIMS:
        lacking = [_lacks(p, claim) for p in jwt.providers if claim in p.required_claims]
        if lacking:
            policies[policy_name(claim)] = rbac_pb2.Policy(
                permissions=[rbac_pb2.Permission(any=True)], principals=lacking
            )
    if not policies:
        return None
    return rbac_filter_pb2.RBAC(
        rules=rbac_pb2.RBAC(action=rbac_pb2.RBAC.DENY, policies=policies),
        rules_stat_prefix="jwt_claims_",  # apart from the Module's ip_allow / ip_deny filter
    )


def _required(jwt: JwtAuthn | None) -> set[str]:
    return {c for p in jwt.providers for c in p.required_claims} if jwt is not None else set()


class JwtClaimsFilter(HttpFilter):
    """Only on listeners where a provider of some route requires `iat` or `nbf`."""

    name = "envoy.filters.http.rbac/jwt-claims"

    def needed(self, listener: HttpConnectionManager, ctx: FilterContext) -> bool:
        """Where the listener's JWT providers require a claim."""
        return bool(_required(listener.jwt))

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The deny policies for the listener's providers."""
        return claims_rbac(listener.jwt) if listener.jwt is not None else None

    def patch_connection_manager(
        self, listener: HttpConnectionManager, hcm: Any, ctx: FilterContext
    ) -> None:
        """A denial is a 401 with the listener's `errorResponse`, as jwt_authn's are;
        `%LOCAL_REPLY_BODY%` (`{{ .message }}`) names the missing claim."""
        if listener.jwt is None:
            return
        errors = listener_error_response(listener.jwt)
        for claim in CLAIMS:
            if claim in _required(listener.jwt):
                message = f"Jwt has no {claim} claim"
                hcm.local_reply_config.mappers.append(
                    unauthorized_mapper(errors, denied(claim), message, (CHALLENGE,))
                )
