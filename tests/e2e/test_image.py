"""The OCI image `make image` builds, run for real: runc on the unpacked bundle, as uid
8888, with a read-only root file system, in folder mode with a mounted configuration,
routing a request to an upstream on the host's loopback.

No Docker engine is needed: umoci unpacks the image into an OCI runtime bundle and runc
(Debian packages both) runs it. (runc, not crun: Debian's crun 1.8 refuses hosts with
hybrid cgroup v1/v2 mounts, as container hosts often have.) Without a built image the test is skipped, except when
``CI`` is set (there `make test` builds it first, so a missing image is a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import mapping
from tests.e2e.helpers import free_port

IMAGE_DIR = Path(os.environ.get("LEGATION_IMAGE_DIR", Path.home() / ".cache/legation/image"))
READY_TIMEOUT_S = 60.0


def _missing(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _image_ref() -> str:
    index = IMAGE_DIR / "oci" / "index.json"
    if not index.exists():
        _missing(f"no image at {IMAGE_DIR / 'oci'}: run `make image`")
    for tool in ("umoci", "runc"):
        if shutil.which(tool) is None:
            _missing(f"{tool} is missing: apt-get install -y umoci runc")
    tags = [
        m["annotations"]["org.opencontainers.image.ref.name"]
        for m in json.loads(index.read_text())["manifests"]
    ]
    return f"{IMAGE_DIR / 'oci'}:{tags[-1]}"


def _runtime_spec(bundle: Path, config: Path, http: int, diag: int) -> None:
    """The image's own runtime spec, changed only where a test run must differ: its
    arguments, the host's network (to reach the loopback upstream), the mounted
    configuration, and a read-only root with a tmpfs for the run directory."""
    path = bundle / "config.json"
    spec = json.loads(path.read_text())
    spec["process"]["args"] = [
        "/usr/bin/tini", "--", "legation", "run", "--config-dir", "/config",
        "--http-port", str(http), "--diag-port", str(diag), "--https-port", str(free_port()),
    ]  # fmt: skip
    spec["process"]["terminal"] = False
    spec["root"]["readonly"] = True
    spec["linux"]["namespaces"] = [
        ns for ns in spec["linux"]["namespaces"] if ns["type"] not in ("network", "user", "cgroup")
    ]
    # no cgroups: the test may itself run in a container whose cgroups it cannot manage
    spec["linux"].pop("resources", None)
    spec["linux"].pop("cgroupsPath", None)
    spec["mounts"] = [m for m in spec["mounts"] if m.get("type") != "cgroup"]
    spec["mounts"] += [
        {"destination": "/config", "type": "bind", "source": str(config), "options": ["rbind", "ro"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777", "size=64m"]},
    ]  # fmt: skip
    path.write_text(json.dumps(spec))


@pytest.fixture
def bundle(tmp_path: Path) -> Iterator[Path]:
    ref = _image_ref()
    out = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", ref, str(out)], check=True, capture_output=True)
    yield out
    shutil.rmtree(out, ignore_errors=True)


def test_image_runs_non_root_read_only_and_routes(bundle: Path, tmp_path: Path) -> None:
    spec = json.loads((bundle / "config.json").read_text())
    assert spec["process"]["user"]["uid"] == 8888
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)  # uid 8888 reads the mounted folder
    http, diag = free_port(), free_port()
    name = f"legation-test-{os.getpid()}"
    with EchoUpstream("inside") as up:
        (config / "m.yaml").write_text(mapping("m", f"127.0.0.1:{up.port}", "/img/"))
        (config / "m.yaml").chmod(0o644)
        _runtime_spec(bundle, config, http, diag)
        proc = subprocess.Popen(
            ["runc", "run", "--bundle", str(bundle), name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_ready(diag, proc)
            answer = httpx.get(f"http://127.0.0.1:{http}/img/hello", timeout=5)
            assert answer.status_code == 200
            assert answer.json()["upstream"] == "inside"
        finally:
            subprocess.run(["runc", "kill", name, "TERM"], capture_output=True)
            try:
                output = proc.communicate(timeout=30)[0].decode(errors="replace")
            finally:
                subprocess.run(["runc", "delete", "--force", name], capture_output=True)
    assert proc.returncode == 0, output[-3000:]  # a clean stop on SIGTERM
    assert "Traceback" not in output, output[-3000:]


def _wait_ready(diag: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the container exited: {proc.stdout.read().decode()[-3000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{diag}/ambassador/v0/check_ready").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the gateway in the image never became ready")
