"""Every field of Emissary's Module and Mapping references is implemented, refused with
a reason the README lists, or left to other work the README names — and `check` over
examples/ and every golden input says "not implemented" only for the last kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from legation.compile.compiler import CompileOptions
from legation.ir.errors import Severity
from legation.model.mapping import MAPPING_REFUSED, NOT_YET_IMPLEMENTED, MappingSpec
from legation.model.module import MODULE_LATER, MODULE_REFUSED, ModuleConfig
from legation.runtime.pipeline import Pipeline
from legation.sources.files import FolderReader

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()

EMISSARY_MODULE_FIELDS = [
    "add_linkerd_headers",
    "admin_port",
    "allow_chunked_length",
    "auth_enabled",
    "buffer",
    "buffer_limit_bytes",
    "circuit_breakers",
    "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms",
    "cluster_request_timeout_ms",
    "cors",
    "debug_mode",
    "default_label_domain",
    "default_labels",
    "defaults",
    "diag_port",
    "diagnostics",
    "enable_grpc_http11_bridge",
    "enable_grpc_web",
    "enable_http10",
    "enable_ipv4",
    "enable_ipv6",
    "envoy_log_format",
    "envoy_log_path",
    "envoy_log_type",
    "envoy_validation_timeout",
    "error_response_overrides",
    "forward_client_cert_details",
    "grpc_stats",
    "gzip",
    "header_case_overrides",
    "headers_with_underscores_action",
    "ip_allow",
    "ip_deny",
    "keepalive",
    "listener_idle_timeout_ms",
    "liveness_probe",
    "load_balancer",
    "lua_scripts",
    "max_request_headers_kb",
    "merge_slashes",
    "preserve_external_request_id",
    "proper_case",
    "prune_unreachable_routes",
    "readiness_probe",
    "regex_max_size",
    "regex_type",
    "reject_requests_with_escaped_slashes",
    "resolver",
    "retry_policy",
    "runtime_flags",
    "server_name",
    "service_port",
    "set_current_client_cert_details",
    "statsd",
    "strip_matching_host_port",
    "suppress_envoy_headers",
    "use_ambassador_namespace_for_service_resolution",
    "use_proxy_proto",
    "use_remote_address",
    "x_forwarded_proto_redirect",
    "xff_num_trusted_hops",
]
"""The `ambassador` Module's config keys in Emissary 1.x and 3.x (docs and IRAmbassador)."""

EMISSARY_MAPPING_FIELDS = [
    "prefix",
    "prefix_regex",
    "prefix_exact",
    "service",
    "add_request_headers",
    "add_response_headers",
    "add_linkerd_headers",
    "auto_host_rewrite",
    "case_sensitive",
    "dns_type",
    "docs",
    "enable_ipv4",
    "enable_ipv6",
    "circuit_breakers",
    "keepalive",
    "cors",
    "retry_policy",
    "respect_dns_ttl",
    "grpc",
    "host_redirect",
    "host_rewrite",
    "method",
    "method_regex",
    "outlier_detection",
    "path_redirect",
    "prefix_redirect",
    "regex_redirect",
    "redirect_response_code",
    "priority",
    "precedence",
    "cluster_tag",
    "remove_request_headers",
    "remove_response_headers",
    "resolver",
    "rewrite",
    "regex_rewrite",
    "shadow",
    "connect_timeout_ms",
    "cluster_idle_timeout_ms",
    "cluster_max_connection_lifetime_ms",
    "timeout_ms",
    "idle_timeout_ms",
    "tls",
    "health_checks",
    "use_websocket",
    "allow_upgrade",
    "weight",
    "bypass_auth",
    "auth_context_extensions",
    "bypass_error_response_overrides",
    "error_response_overrides",
    "host",
    "host_regex",
    "hostname",
    "headers",
    "regex_headers",
    "labels",
    "envoy_override",
    "load_balancer",
    "query_parameters",
    "regex_query_parameters",
    "stats_name",
    "rate_limits",
]
"""Mapping fields in Emissary's v3alpha1 MappingSpec (and v0's `rate_limits`)."""


def _readme_block(start: str, end: str) -> str:
    return README[README.index(start) : README.index(end)]


def _named(text: str, kind: str) -> set[str]:
    """Field names in backticks on lines (or sentences) that start with `kind`."""
    out: set[str] = set()
    for part in re.split(r"\n- |;", text):
        head = " ".join(part.split()).lstrip("- ")
        if head.startswith(kind + " "):
            out |= set(re.findall(r"`([a-z0-9_]+)`", head.split(":")[0]))
    return out


def test_every_emissary_field_is_a_model_field() -> None:
    """No field of the reference is an "unknown field" error."""
    assert set(EMISSARY_MODULE_FIELDS) - set(ModuleConfig.model_fields) == set()
    assert set(EMISSARY_MAPPING_FIELDS) - set(MappingSpec.model_fields) == set()


def test_readme_lists_exactly_the_refused_fields() -> None:
    block = _readme_block("<!-- refused-fields:start -->", "<!-- refused-fields:end -->")
    assert _named(block, "Module") == set(MODULE_REFUSED)
    assert _named(block, "Mapping") == set(MAPPING_REFUSED)


def test_readme_names_the_fields_left_to_other_work() -> None:
    start = "**Not implemented yet**"
    text = _readme_block(start, "Kinds not handled yet")
    _, _, listed = text.partition("rate limiting):")
    assert _named(listed, "Mapping") == set(NOT_YET_IMPLEMENTED)
    assert _named(listed, "Module") == set(MODULE_LATER)


def _inputs() -> list[Path]:
    golden = sorted(p.parent for p in (ROOT / "tests" / "golden").glob("*/in.yaml"))
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    return [*examples, *golden]


@pytest.mark.parametrize("folder", _inputs(), ids=lambda p: p.name)
def test_not_implemented_only_for_other_work(folder: Path) -> None:
    """`check`'s notices: "not implemented" only for fields the README leaves to other
    work, "not supported" only for the refused fields."""
    result = Pipeline(CompileOptions()).build(FolderReader(folder).read())
    later = set(NOT_YET_IMPLEMENTED) | MODULE_LATER
    refused = set(MAPPING_REFUSED) | set(MODULE_REFUSED)
    for p in result.problems:
        if p.severity is not Severity.NOTICE or p.field is None:
            continue
        name = p.field.rsplit(".", 1)[-1]
        if (
            "not implemented" in p.message
            and p.resource
            and p.resource.startswith(("Mapping/", "Module/"))
        ):
            assert name in later, p.describe()
        if p.message.startswith("not supported: ") and "defaults" not in p.field:
            assert name in refused, p.describe()
