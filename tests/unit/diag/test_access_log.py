"""Module envoy_log_* → an access log on the HTTP connection manager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from legation.compile.compiler import compile_config
from legation.envoy.resources import message_to_data
from legation.envoy.translator import translate
from legation.ir.accesslog import AccessLog, LogType
from legation.sources.files import FolderReader
from tests.unit.diag.fake import write_config

MODULE = "apiVersion: getambassador.io/v3alpha1\nkind: Module\nmetadata: {{name: ambassador}}\nspec:\n  config:\n{config}"


def _compile(tmp_path: Path, config: str) -> tuple[AccessLog | None, list[str], dict[str, Any]]:
    folder = write_config(tmp_path, {"module.yaml": MODULE.format(config=config)})
    result = compile_config(FolderReader(folder).read().objects)
    listener = result.gateway.listeners[0]
    envoy = message_to_data(translate(result.gateway).listeners[listener.name])
    hcm = envoy["filter_chains"][0]["filters"][0]["typed_config"]
    assert listener.filter_chains[0].http is not None
    return listener.filter_chains[0].http.access_log, [p.message for p in result.problems], hcm


def test_no_settings_no_access_log(tmp_path: Path) -> None:
    log, problems, hcm = _compile(tmp_path, "    use_remote_address: true\n")
    assert log is None and "access_log" not in hcm and not problems


def test_text_format_and_path(tmp_path: Path) -> None:
    log, problems, hcm = _compile(
        tmp_path,
        "    envoy_log_format: '%REQ(:METHOD)% %RESPONSE_CODE%'\n    envoy_log_path: /tmp/x.log\n",
    )
    assert log == AccessLog("/tmp/x.log", LogType.TEXT, "%REQ(:METHOD)% %RESPONSE_CODE%\n")
    assert not problems
    [entry] = hcm["access_log"]
    assert entry["typed_config"]["path"] == "/tmp/x.log"
    assert entry["typed_config"]["log_format"]["text_format_source"]["inline_string"].startswith(
        "%REQ"
    )


def test_json_with_default_and_custom_fields(tmp_path: Path) -> None:
    log, _, hcm = _compile(tmp_path, "    envoy_log_type: json\n")
    assert (
        log is not None
        and log.path == "/dev/stdout"
        and ("method", "%REQ(:METHOD)%") in log.json_format
    )
    log, _, hcm = _compile(
        tmp_path, "    envoy_log_type: json\n    envoy_log_format: {code: '%RESPONSE_CODE%'}\n"
    )
    assert log is not None and log.json_format == (("code", "%RESPONSE_CODE%"),)
    assert hcm["access_log"][0]["typed_config"]["log_format"]["json_format"] == {
        "code": "%RESPONSE_CODE%"
    }


def test_wrong_shape_is_an_error_and_falls_back(tmp_path: Path) -> None:
    log, problems, _ = _compile(
        tmp_path, "    envoy_log_type: json\n    envoy_log_format: '%START_TIME%'\n"
    )
    assert log is not None and log.log_type is LogType.JSON
    assert any("must be a map" in p for p in problems)
    _, problems, _ = _compile(tmp_path, "    envoy_log_type: yaml\n")
    assert problems  # not text or json: a validation error


def test_diagnostics_block_is_modelled(tmp_path: Path) -> None:
    _, problems, _ = _compile(tmp_path, "    diagnostics: {enabled: true, allow_non_local: true}\n")
    assert not problems
    _, problems, _ = _compile(tmp_path, "    diagnostics: {allow_remote: true}\n")
    assert any("unknown field" in p for p in problems)
