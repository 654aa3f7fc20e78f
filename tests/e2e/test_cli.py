"""`legation check` and `legation translate` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

GOLDEN = Path(__file__).parents[1] / "golden"


def case(name: str, tmp_path: Path) -> str:
    """A folder holding only a golden case's input."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(GOLDEN / name / "in.yaml", folder / "in.yaml")
    return str(folder)


def legation(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "legation.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_valid_folder_exits_0(tmp_path: Path) -> None:
    result = legation("check", case("basic", tmp_path))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_names_file_resource_and_field(tmp_path: Path) -> None:
    result = legation("check", case("bad_input", tmp_path))
    assert result.returncode == 1
    assert (
        "in.yaml:12: error: Mapping/unknown-field.default: field spec.prefx_rewrite: unknown field"
        in result.stderr
    )
    assert (
        "Mapping/no-service.default: field spec.service: required field is missing" in result.stderr
    )
    assert "Mapping/wrong-type.default: field spec.precedence" in result.stderr


def test_check_reports_host_certificate_errors_offline(tmp_path: Path) -> None:
    result = legation("check", case("hosts_tls", tmp_path))
    assert result.returncode == 1
    for key, what in (
        ("Host/missing-secret.default", "Secret default/nowhere does not exist"),
        ("Host/mismatched.default", "the private key does not match the certificate"),
        ("Host/no-key.default", "has no tls.key"),
        ("Host/not-pem.default", "is not a valid PEM certificate"),
    ):
        assert f"{key}: field spec.tlsSecret: " in result.stderr and what in result.stderr
    assert "PRIVATE KEY" not in result.stdout + result.stderr


def test_check_json(tmp_path: Path) -> None:
    result = legation("check", "--json", case("bad_input", tmp_path))
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    fields = {p["field"] for p in payload["problems"] if p["severity"] == "error"}
    assert {"spec.prefx_rewrite", "spec.precedence", "spec.service", "spec.prefix"} <= fields
    assert all(p["file"] == "in.yaml" and p["line"] for p in payload["problems"])


def test_translate_yaml_and_json_agree(tmp_path: Path) -> None:
    folder = case("canary", tmp_path)
    as_yaml = yaml.safe_load(legation("translate", folder).stdout)
    as_json = json.loads(legation("translate", "--json", folder).stdout)
    assert as_yaml == as_json
    # one route per canary member; runtime_fraction holds the running total of the shares
    members = as_json["routes"][0]["virtual_hosts"][0]["routes"][1:]
    fractions = [r["match"]["runtime_fraction"]["default_value"]["numerator"] for r in members]
    assert fractions == [70, 80, 100]
