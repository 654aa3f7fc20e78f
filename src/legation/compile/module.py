"""The `ambassador` Module: gateway-wide settings, and notices for what is not done yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from legation.ir.accesslog import AccessLog, LogType
from legation.ir.errors import ConfigProblem, Severity
from legation.model.mapping_defaults import MAPPING_CLASS, MappingFieldDefaults
from legation.model.module import MODULE_IMPLEMENTED, MODULE_REFUSED, ModuleConfig, ModuleSpec
from legation.model.partial import validate_partially
from legation.model.resource import Resource
from legation.model.tls_module import TlsModuleSpec


def module_settings(
    modules: Sequence[Resource[Any]],
) -> tuple[ModuleConfig, list[ConfigProblem]]:
    """The effective settings: the `ambassador` Module's config, or the defaults."""
    problems: list[ConfigProblem] = []
    chosen: Resource[ModuleSpec] | None = None
    for res in sorted(modules, key=lambda r: r.key):
        if isinstance(res.spec, TlsModuleSpec):
            continue  # read by compile/tls_module.py
        if res.name != "ambassador":
            problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    "only the Module named 'ambassador' is read; skipped",
                    severity=Severity.NOTICE,
                )
            )
        elif chosen is not None:
            problems.append(
                ConfigProblem(
                    res.source,
                    res.key,
                    "another ambassador Module is already in use "
                    f"({chosen.source.describe()}); skipped",
                )
            )
        else:
            chosen = res
    if chosen is None:
        return ModuleConfig(), problems
    config = chosen.spec.config
    if config.regex_type == "unsafe":
        problems.append(
            ConfigProblem(
                chosen.field_source("config.regex_type"),
                chosen.key,
                "Envoy supports only safe (RE2) regular expressions; regexes are read as RE2",
                field=f"{chosen.spec_path}config.regex_type",
                severity=Severity.NOTICE,
            )
        )
    for name in sorted(config.model_fields_set - MODULE_IMPLEMENTED):
        refused = MODULE_REFUSED.get(name)
        message = (
            f"not supported: {refused}; it has no effect"
            if refused
            else "accepted but not implemented yet; it has no effect"
        )
        problems.append(
            ConfigProblem(
                chosen.field_source(f"config.{name}"),
                chosen.key,
                message,
                field=f"{chosen.spec_path}config.{name}",
                severity=Severity.NOTICE,
            )
        )
    return config, problems


DEFAULT_JSON_FORMAT: tuple[tuple[str, str], ...] = (
    ("start_time", "%START_TIME%"),
    ("method", "%REQ(:METHOD)%"),
    ("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"),
    ("protocol", "%PROTOCOL%"),
    ("response_code", "%RESPONSE_CODE%"),
    ("response_flags", "%RESPONSE_FLAGS%"),
    ("bytes_received", "%BYTES_RECEIVED%"),
    ("bytes_sent", "%BYTES_SENT%"),
    ("duration", "%DURATION%"),
    ("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"),
    ("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%"),
    ("user_agent", "%REQ(USER-AGENT)%"),
    ("request_id", "%REQ(X-REQUEST-ID)%"),
    ("authority", "%REQ(:AUTHORITY)%"),
    ("upstream_host", "%UPSTREAM_HOST%"),
)
"""The JSON access-log fields used when `envoy_log_format` is not given."""


def access_log_settings(
    modules: Sequence[Resource[Any]], config: ModuleConfig
) -> tuple[AccessLog | None, list[ConfigProblem]]:
    """Envoy access logging from `envoy_log_type`, `envoy_log_format`, `envoy_log_path`.

    Off unless the Module sets one of them. A format of the wrong shape for the type
    (a map for `text`, a string for `json`) is an error and the default is used.
    """
    if (config.envoy_log_type, config.envoy_log_format, config.envoy_log_path) == (None,) * 3:
        return None, []
    log_type = LogType(config.envoy_log_type or "text")
    path = config.envoy_log_path or "/dev/stdout"
    fmt = config.envoy_log_format
    problems: list[ConfigProblem] = []
    wrong_shape = (log_type is LogType.TEXT and isinstance(fmt, dict)) or (
        log_type is LogType.JSON and isinstance(fmt, str)
    )
    if wrong_shape:
        module = next((m for m in modules if m.name == "ambassador"), None)
        want = "a string" if log_type is LogType.TEXT else "a map of key to format"
        if module is not None:
            problems.append(
                ConfigProblem(
                    module.field_source("config.envoy_log_format"),
                    module.key,
                    f"envoy_log_format must be {want} when envoy_log_type is "
                    f"{log_type.value}; using the default format",
                    field=f"{module.spec_path}config.envoy_log_format",
                )
            )
        fmt = None
    if log_type is LogType.TEXT:
        text = fmt if isinstance(fmt, str) else None
        if text is not None and not text.endswith("\n"):
            text += "\n"
        return AccessLog(path=path, log_type=log_type, text_format=text), problems
    pairs = tuple(fmt.items()) if isinstance(fmt, dict) and fmt else DEFAULT_JSON_FORMAT
    return AccessLog(path=path, log_type=log_type, json_format=pairs), problems


def mapping_field_defaults(
    modules: Sequence[Resource[Any]], config: ModuleConfig
) -> tuple[MappingFieldDefaults, list[ConfigProblem]]:
    """The Module's `defaults` for Mapping fields; other entries get a notice."""
    if not config.defaults:
        return MappingFieldDefaults(), []
    module = next(m for m in sorted(modules, key=lambda r: r.key) if m.name == "ambassador")
    known = set(MappingFieldDefaults.model_fields)
    merged: dict[str, Any] = {k: v for k, v in config.defaults.items() if k in known}
    scoped = config.defaults.get(MAPPING_CLASS)
    if isinstance(scoped, dict):
        merged.update({k: v for k, v in scoped.items() if k in known})
    problems: list[ConfigProblem] = []
    for key, value in sorted(config.defaults.items()):
        entries = value if key == MAPPING_CLASS and isinstance(value, dict) else {key: value}
        for name in sorted(set(entries) - known):
            where = f"config.defaults.{key}" + (f".{name}" if key == MAPPING_CLASS else "")
            problems.append(
                ConfigProblem(
                    module.field_source(where),
                    module.key,
                    "not supported: only these Mapping fields take defaults: "
                    f"{', '.join(sorted(known))}; it has no effect",
                    field=f"{module.spec_path}{where}",
                    severity=Severity.NOTICE,
                )
            )
    defaults, failures = validate_partially(MappingFieldDefaults, merged)
    for exc in failures:
        for err in exc.errors():
            where = "config.defaults." + ".".join(str(p) for p in err.get("loc", ()))
            problems.append(
                ConfigProblem(
                    module.field_source(where),
                    module.key,
                    f"{err.get('msg', 'invalid value')}; left out, the rest applies",
                    field=f"{module.spec_path}{where}",
                )
            )
    assert defaults is None or isinstance(defaults, MappingFieldDefaults)
    return defaults or MappingFieldDefaults(), problems
