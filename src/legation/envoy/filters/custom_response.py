"""envoy.filters.http.custom_response: `error_response_overrides` (new bodies by status).

Emissary used a filter of its own Envoy build (response_map); upstream Envoy's
custom_response filter does the same with a matcher on the response status. The
Module's rules are the filter's; a Mapping's own rules replace them on its route, and
`bypass_error_response_overrides` turns the filter off for the route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envoy.config.core.v3 import base_pb2, substitution_format_string_pb2
from envoy.config.route.v3 import route_components_pb2 as rc
from envoy.extensions.filters.http.custom_response.v3 import custom_response_pb2
from envoy.extensions.http.custom_response.local_response_policy.v3 import (
    local_response_policy_pb2,
)
from envoy.type.matcher.v3 import status_code_input_pb2
from google.protobuf import struct_pb2
from xds.core.v3 import extension_pb2 as xds_extension_pb2
from xds.type.matcher.v3 import matcher_pb2, string_pb2

from legation.envoy.filters.base import FilterContext, HttpFilter, pack
from legation.ir.http import ErrorResponse
from legation.ir.listeners import HttpConnectionManager
from legation.ir.routes import Route


def _format(rule: ErrorResponse) -> Any:
    fmt = substitution_format_string_pb2.SubstitutionFormatString(
        content_type=rule.content_type or ""
    )
    if rule.json_format:
        body = struct_pb2.Struct()
        body.update(dict(rule.json_format))
        fmt.json_format.CopyFrom(body)
    elif rule.text_file is not None:
        fmt.text_format_source.CopyFrom(base_pb2.DataSource(filename=rule.text_file))
    else:
        fmt.text_format_source.CopyFrom(base_pb2.DataSource(inline_string=rule.text_format or ""))
    return fmt


def _matcher(rule: ErrorResponse) -> Any:
    status_input = xds_extension_pb2.TypedExtensionConfig(
        name="status", typed_config=pack(status_code_input_pb2.HttpResponseStatusCodeMatchInput())
    )
    policy = local_response_policy_pb2.LocalResponsePolicy(body_format=_format(rule))
    return matcher_pb2.Matcher.MatcherList.FieldMatcher(
        predicate=matcher_pb2.Matcher.MatcherList.Predicate(
            single_predicate=matcher_pb2.Matcher.MatcherList.Predicate.SinglePredicate(
                input=status_input,
                value_match=string_pb2.StringMatcher(exact=str(rule.status)),
            )
        ),
        on_match=matcher_pb2.Matcher.OnMatch(
            action=xds_extension_pb2.TypedExtensionConfig(
                name=f"error-{rule.status}", typed_config=pack(policy)
            )
        ),
    )


def custom_response_config(rules: Sequence[ErrorResponse]) -> Any:
    """The filter's config: the first rule whose status matches rewrites the body."""
    config = custom_response_pb2.CustomResponse()
    if rules:
        config.custom_response_matcher.matcher_list.matchers.extend(_matcher(r) for r in rules)
    return config


class CustomResponseFilter(HttpFilter):
    """On listeners where the Module or some route has error body rules."""

    name = "envoy.filters.http.custom_response"

    def listener_filter(self, listener: HttpConnectionManager, ctx: FilterContext) -> Any | None:
        """The Module's rules (possibly none, when only routes have their own)."""
        filters = listener.filters
        if not filters.error_responses and not filters.route_error_responses:
            return None
        return custom_response_config(filters.error_responses)

    def patch_route(self, route: Route, out: Any, state: Any) -> None:
        """A route's own rules, or the filter turned off for it."""
        options = route.options
        if options.bypass_error_responses:
            disabled = rc.FilterConfig(disabled=True)
            out.typed_per_filter_config[self.name].CopyFrom(pack(disabled))
        elif options.error_responses is not None:
            config = custom_response_config(options.error_responses)
            out.typed_per_filter_config[self.name].CopyFrom(pack(config))
