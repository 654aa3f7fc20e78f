"""The CLI imports only what a command uses (timings: bench/cli_startup_bench.py).

Each case runs `legation ...` in a fresh interpreter and lists the modules it
imported; `--help` must not load gRPC, the Envoy protobufs, the web stack or the
compile stages, and `check` must not load anything of Envoy translation or serving.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from legation.cli.lazy import load_command
from legation.cli.main import COMMANDS, cli
from legation.cli.options import build_folder, compile_folder

REPO = Path(__file__).parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "config"
GOLDEN = REPO / "tests" / "golden"

# Run the CLI as the console script does, then print the imported modules as the
# last line of stdout (after whatever the command printed).
PROBE = """
import json, sys
from legation.cli.main import main
sys.argv = ["legation", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""

SERVING = ("grpc", "google.protobuf", "envoy", "xds", "udpa", "validate", "uvicorn", "starlette")
"""Top-level packages of gRPC, protobuf, the generated Envoy protobufs and the web stack."""

OURS_FOR_SERVING = ("legation.envoy", "legation.xds", "legation.runtime", "legation.diag")


def imported_by(*args: str) -> tuple[int, str, list[str]]:
    """Run `legation ARGS` in a new interpreter: exit code, its output, modules imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr
    output, _, last = done.stdout.rstrip("\n").rpartition("\n")
    probe = json.loads(last)
    return probe["exit"], output, probe["modules"]


def loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The modules among `modules` that are, or are inside, one of `prefixes`."""
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_help_imports_no_command_module() -> None:
    code, output, modules = imported_by("--help")
    assert code == 0
    assert all(f"  {name} " in output for name in COMMANDS), output
    assert loaded(modules, SERVING) == []
    assert loaded(modules, ("pydantic", "yaml")) == []
    assert [m for m in modules if m.startswith("legation.")] == [
        "legation.cli",
        "legation.cli.lazy",
        "legation.cli.main",
    ]


def test_run_help_imports_no_runtime() -> None:
    code, output, modules = imported_by("run", "--help")
    assert code == 0
    assert "--config-dir" in output and "--kubernetes" in output
    assert loaded(modules, SERVING) == []
    assert loaded(modules, (*OURS_FOR_SERVING, "legation.compile", "legation.sources.files")) == []


def test_check_imports_no_translation_or_serving() -> None:
    code, output, modules = imported_by("check", str(QUICKSTART))
    assert code == 0
    assert output.endswith("resource(s) read, OK"), output
    assert loaded(modules, SERVING) == []
    assert loaded(modules, OURS_FOR_SERVING) == []


def test_check_still_reports_errors_without_translation() -> None:
    code, output, modules = imported_by("check", "--json", str(GOLDEN / "bad_input"))
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False
    assert any(p["severity"] == "error" and p["file"] == "in.yaml" for p in report["problems"])
    assert loaded(modules, SERVING) == []


def test_explain_imports_no_translation_or_serving() -> None:
    code, output, modules = imported_by("explain", str(QUICKSTART), "GET", "http://x/httpbin/get")
    assert code == 0
    assert "→ served by Mapping/httpbin_mapping.default" in output, output
    assert loaded(modules, SERVING) == []
    assert loaded(modules, OURS_FOR_SERVING) == [
        "legation.diag",
        "legation.diag.explain",
        "legation.diag.tester",
    ]


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_check_finds_what_the_whole_pipeline_finds(case: str) -> None:
    """`check` stops after compile: it must report exactly what compile + translate report."""
    snapshot, compiled = compile_folder(GOLDEN / case, "default", 8080)
    full = build_folder(GOLDEN / case, "default", 8080)
    assert snapshot.problems + compiled.problems == full.problems
    # What check prints: the problems above and how many resources were read.
    assert len(compiled.resources) == len(full.compiled.resources)


def test_static_summaries_match_the_commands() -> None:
    """The table `--help` reads is the commands' own docstrings, shortened the same way."""
    for name, lazy in COMMANDS.items():
        command = load_command(lazy)
        assert command.name == name
        stand_in = click.Command(name, help=lazy.summary)
        for limit in (45, 60, 1000):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_help_is_the_same_as_an_eager_group() -> None:
    """Listing from the table prints what a group holding the real commands would."""
    eager = click.Group(
        cli.name, help=cli.help, params=cli.params, context_settings=cli.context_settings
    )
    for lazy in COMMANDS.values():
        eager.add_command(load_command(lazy))
    runner = CliRunner()
    assert runner.invoke(cli, ["--help"]).output == runner.invoke(eager, ["--help"]).output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_works(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {name} "), result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["nosuch"])
    assert result.exit_code == 2
    assert "No such command 'nosuch'" in result.output
