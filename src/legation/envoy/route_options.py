"""IR route options → fields of Envoy's `RouteAction`, and redirects."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import base_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.type.matcher.v3 import regex_pb2
from envoy.type.v3 import percent_pb2
from google.protobuf import duration_pb2, wrappers_pb2

from legation.ir.policies import HashOn, HashPolicy, Mirror, Redirect, RouteOptions

_RESPONSE_CODES = {
    301: rc.RedirectAction.MOVED_PERMANENTLY,
    302: rc.RedirectAction.FOUND,
    303: rc.RedirectAction.SEE_OTHER,
    307: rc.RedirectAction.TEMPORARY_REDIRECT,
    308: rc.RedirectAction.PERMANENT_REDIRECT,
}


def duration_ms(ms: int) -> Any:
    """A protobuf Duration of `ms` milliseconds."""
    return duration_pb2.Duration(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def _hash_policy(policy: HashPolicy) -> Any:
    hp = rc.RouteAction.HashPolicy
    if policy.on is HashOn.COOKIE:
        cookie = hp.Cookie(name=policy.name, path=policy.cookie_path or "")
        if policy.cookie_ttl_ms is not None:
            cookie.ttl.CopyFrom(duration_ms(policy.cookie_ttl_ms))
        return hp(cookie=cookie)
    if policy.on is HashOn.HEADER:
        return hp(header=hp.Header(header_name=policy.name))
    return hp(connection_properties=hp.ConnectionProperties(source_ip=True))


def _mirror(mirror: Mirror) -> Any:
    policy = rc.RouteAction.RequestMirrorPolicy(cluster=mirror.cluster)
    if mirror.percent < 100:
        policy.runtime_fraction.CopyFrom(
            base_pb2.RuntimeFractionalPercent(
                default_value=percent_pb2.FractionalPercent(
                    numerator=mirror.percent, denominator=percent_pb2.FractionalPercent.HUNDRED
                )
            )
        )
    return policy


def apply_route_options(options: RouteOptions, mirrors: tuple[Mirror, ...], action: Any) -> None:
    """Set retries, hashing, upgrades, host rewrite, idle timeout and mirrors on `action`."""
    if options.retry is not None:
        retry = rc.RetryPolicy(retry_on=options.retry.retry_on)
        if options.retry.num_retries is not None:
            retry.num_retries.CopyFrom(wrappers_pb2.UInt32Value(value=options.retry.num_retries))
        if options.retry.per_try_timeout_ms is not None:
            retry.per_try_timeout.CopyFrom(duration_ms(options.retry.per_try_timeout_ms))
        action.retry_policy.CopyFrom(retry)
    if options.hash_policy is not None:
        action.hash_policy.append(_hash_policy(options.hash_policy))
    for upgrade in options.upgrades:
        action.upgrade_configs.append(
            rc.RouteAction.UpgradeConfig(
                upgrade_type=upgrade, enabled=wrappers_pb2.BoolValue(value=True)
            )
        )
    if options.host_rewrite is not None:
        action.host_rewrite_literal = options.host_rewrite
    elif options.auto_host_rewrite:
        action.auto_host_rewrite.CopyFrom(wrappers_pb2.BoolValue(value=True))
    if options.idle_timeout_ms is not None:
        action.idle_timeout.CopyFrom(duration_ms(options.idle_timeout_ms))
    if options.high_priority:
        action.priority = base_pb2.HIGH
    action.request_mirror_policies.extend(_mirror(m) for m in mirrors)


def redirect_action(redirect: Redirect) -> Any:
    """Envoy's `RedirectAction` for an Ambassador `host_redirect` Mapping."""
    action = rc.RedirectAction(
        host_redirect=redirect.host, response_code=_RESPONSE_CODES[redirect.response_code]
    )
    if redirect.port is not None:
        action.port_redirect = redirect.port
    if redirect.https:
        action.scheme_redirect = "https"
    if redirect.path is not None:
        action.path_redirect = redirect.path
    elif redirect.prefix is not None:
        action.prefix_rewrite = redirect.prefix
    elif redirect.regex_pattern is not None:
        action.regex_rewrite.CopyFrom(
            regex_pb2.RegexMatchAndSubstitute(
                pattern=regex_pb2.RegexMatcher(regex=redirect.regex_pattern),
                substitution=redirect.regex_substitution or "",
            )
        )
    return action
