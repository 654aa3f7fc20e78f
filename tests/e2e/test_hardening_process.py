"""Process hygiene and private control channels (issue 8, findings 10-12), through the
real gateway: Envoy dies with legation, port conflicts are one line and exit 2, and a
foreign xDS client can neither read the configuration nor poison readiness or the
NACK quarantine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2

from legation.compile.compiler import CompileOptions, compile_config
from legation.envoy.binary import find_envoy_binary
from legation.envoy.bootstrap import bootstrap_to_json, build_bootstrap
from legation.envoy.translator import Translator
from legation.ir.provenance import Source
from legation.model.raw import RawObject
from legation.runtime.ports import PortConflict, bind_tcp, socket_owners, tcp_listener_inodes
from legation.xds import types
from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.helpers import free_port
from tests.e2e.load import Load
from tests.unit.envoy.static_bootstrap import static_bootstrap


def _gone(pid: int) -> bool:
    """The process has exited (a zombie counts as gone: it holds no sockets)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _error_lines(text: str) -> list[str]:
    """The log's ERROR lines (legation's format: '<date> <time> ERROR name: ...')."""
    return [line for line in text.splitlines() if " ERROR " in line]


def _run_second(args: list[str], timeout: float = 40.0) -> subprocess.CompletedProcess[str]:
    """Run another `legation run` to completion (it should refuse to start)."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def _second_args(config_dir: Path, **ports: int) -> list[str]:
    """A second instance on `config_dir`: free ports, except those given."""
    http = ports.get("http", free_port())
    diag = ports.get("diag", free_port())
    args = [
        sys.executable, "-m", "legation.cli.main", "run", "--config-dir", str(config_dir),
        "--http-port", str(http), "--diag-port", str(diag), "--diag-host", "127.0.0.1",
        "--envoy-concurrency", "1",
    ]  # fmt: skip
    if "xds" in ports:
        args += ["--xds-port", str(ports["xds"])]
    return args


def _assert_one_line_refusal(result: subprocess.CompletedProcess[str], port_text: str) -> None:
    """Exit status 2, one ERROR line naming the port, no traceback."""
    assert result.returncode == 2, result.stderr
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert port_text in errors[0], errors[0]
    assert "Traceback" not in result.stderr


# --- Envoy dies with legation ---------------------------------------------------------


def test_kill_9_takes_envoy_along_and_a_restart_on_the_same_ports_works() -> None:
    with EchoUpstream("a") as a:
        files = {"a.yaml": mapping("a", a.service, "/a/")}
        first = RunningGateway(files).start()
        try:
            envoy_pid = first.overview()["envoy"]["pid"]
            assert first.proc is not None
            first.proc.kill()  # SIGKILL: legation cannot clean up
            first.proc.wait()
            killed = time.monotonic()
            poll(lambda: _gone(envoy_pid), timeout=1.5, interval=0.01)
            assert time.monotonic() - killed < 1.5
        finally:
            first.stop()
        again = RunningGateway(files)
        again.http_port, again.diag_port = first.http_port, first.diag_port
        with again:
            assert again.get("/a/x").json()["upstream"] == "a"
            time.sleep(2)  # long enough for a crash loop to show
            assert again.overview()["envoy"]["restarts"] == 0, again.log()
            assert "exited with" not in again.log()


@pytest.fixture
def leftover_envoy() -> Iterator[tuple[Path, int, subprocess.Popen[bytes]]]:
    """An Envoy as a killed legation would leave it when the parent-death signal could
    not work: our own, holding a TCP admin port and an admin socket in a run dir."""
    work = Path(tempfile.mkdtemp(prefix="legation-leftover-"))
    run_dir = work / "run"
    run_dir.mkdir(mode=0o700)
    admin_port = free_port()
    bootstrap = build_bootstrap(
        node_id="legation-default", node_cluster="legation", delta=False,
        admin_port=admin_port, xds_port=free_port(),
    )  # fmt: skip
    # one Envoy holds the TCP admin port, a second one the run dir's admin socket
    path = run_dir / "envoy-bootstrap.json"
    path.write_text(bootstrap_to_json(bootstrap))
    sock_bootstrap = build_bootstrap(
        node_id="legation-default", node_cluster="legation", delta=False,
        admin_path=str(run_dir / "admin.sock"), xds_port=free_port(),
    )  # fmt: skip
    sock_path = work / "envoy-bootstrap.json"
    sock_path.write_text(bootstrap_to_json(sock_bootstrap))
    envoys = [
        subprocess.Popen(
            [str(find_envoy_binary()), "-c", str(p), "--disable-hot-restart", "-l", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in (path, sock_path)
    ]
    try:
        poll(
            lambda: (run_dir / "admin.sock").exists() and tcp_listener_inodes(admin_port),
            timeout=15,
        )
        yield run_dir, admin_port, envoys[0]
    finally:
        for envoy in envoys:
            envoy.kill()
            envoy.wait()
        shutil.rmtree(work, ignore_errors=True)


def test_leftover_envoy_on_the_admin_port_is_one_line_not_a_crash_loop(
    leftover_envoy: tuple[Path, int, subprocess.Popen[bytes]],
) -> None:
    _, admin_port, envoy = leftover_envoy
    gw = RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")}, tcp_control=True)
    gw.admin_port = admin_port
    result = _run_second(gw.args())
    _assert_one_line_refusal(result, f"port {admin_port} (Envoy admin")
    (line,) = _error_lines(result.stderr)
    assert "leftover Envoy" in line and f"pid {envoy.pid}" in line
    assert "started Envoy" not in result.stderr


def test_leftover_envoy_on_the_admin_socket_is_one_line(
    leftover_envoy: tuple[Path, int, subprocess.Popen[bytes]],
) -> None:
    run_dir, _, _ = leftover_envoy
    gw = RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")})
    gw.run_dir = run_dir
    result = _run_second(gw.args())
    _assert_one_line_refusal(result, f"socket {run_dir / 'admin.sock'} (Envoy admin)")
    assert "leftover Envoy" in _error_lines(result.stderr)[0]


# --- a second instance ----------------------------------------------------------------


@pytest.mark.parametrize("which", ["http", "diag", "xds"])
def test_second_instance_on_a_taken_port_exits_2_and_the_first_keeps_serving(
    which: str, tmp_path: Path
) -> None:
    with EchoUpstream("a") as a:
        files = {"a.yaml": mapping("a", a.service, "/a/")}
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "a.yaml").write_text(files["a.yaml"])
        with RunningGateway(files, tcp_control=True) as first:
            port = {"http": first.http_port, "diag": first.diag_port, "xds": first.xds_port}
            assert port[which] is not None
            with Load(first.url(""), ["/a/"], pause_s=0.005) as load:
                args = _second_args(tmp_path / "config", **{which: port[which]})
                result = _run_second(args)
                time.sleep(0.5)
            _assert_one_line_refusal(result, f"port {port[which]} (")
            assert first.proc is not None
            holder = (
                f"the Envoy (pid {first.overview()['envoy']['pid']}) of another running "
                f"legation, pid {first.proc.pid}"
                if which == "http"
                else f"another running legation (pid {first.proc.pid}:"
            )
            assert holder in _error_lines(result.stderr)[0]
            assert load.sent > 20 and not load.failures, dict(load.failures)
            assert first.diag("/ambassador/v0/check_ready").status_code == 200
            assert first.get("/a/").status_code == 200


# --- foreign xDS clients --------------------------------------------------------------


def _foreign_stream(target: str) -> tuple[grpc.StatusCode | None, int]:
    """Connect as `legation-default` without the token, ask for clusters and NACK what
    comes; return the call's status code and how many responses arrived."""

    async def requests() -> AsyncIterator[Any]:
        first = discovery_pb2.DiscoveryRequest(type_url=types.CLUSTER)
        first.node.id = "legation-default"
        yield first
        # the NACK a hostile client would send for whatever it got; by then the server
        # has refused the stream (sending sooner races the refusal on the client side)
        await asyncio.sleep(0.5)
        nack = discovery_pb2.DiscoveryRequest(type_url=types.CLUSTER, response_nonce="1")
        nack.error_detail.message = "forged rejection"
        yield nack

    async def run() -> tuple[grpc.StatusCode | None, int]:
        received = 0
        async with grpc.aio.insecure_channel(target) as channel:
            stub = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel)
            try:
                async for _ in stub.StreamAggregatedResources(requests(), timeout=5):
                    received += 1
            except grpc.aio.AioRpcError as exc:
                return exc.code(), received
        return None, received

    return asyncio.run(run())


def _readiness_stays_200(gw: RunningGateway, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert gw.diag("/ambassador/v0/check_ready").status_code == 200
        time.sleep(0.05)


@pytest.mark.parametrize("tcp", [True, False], ids=["xds-tcp", "xds-unix"])
def test_foreign_xds_client_cannot_read_nor_poison(tcp: bool) -> None:
    with EchoUpstream("a") as a, EchoUpstream("b") as b:
        files = {"a.yaml": mapping("a", a.service, "/a/")}
        with RunningGateway(files, tcp_control=tcp) as gw:
            target = f"127.0.0.1:{gw.xds_port}" if tcp else f"unix:{gw.run_dir / 'xds.sock'}"
            code, received = _foreign_stream(target)
            assert code == grpc.StatusCode.PERMISSION_DENIED and received == 0
            _readiness_stays_200(gw, 1.0)
            gw.write("b.yaml", mapping("b", b.service, "/b/"))
            assert gw.get("/b/").status_code in (200, 404)
            gw.wait_status("/b/", 200)
            assert gw.get("/a/").json()["upstream"] == "a"
            nodes = gw.overview()["nodes"]
            assert len(nodes) == 1 and nodes[0]["connected"]
            assert "refused xDS stream from node 'legation-default'" in gw.log()


def _tcp_listen_ports(pid: int) -> set[int]:
    """TCP ports `pid` listens on."""
    by_inode: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A":
                by_inode[int(f[9])] = int(f[1].rsplit(":", 1)[1], 16)
    ports = set()
    for inode, port in by_inode.items():
        if pid in socket_owners({inode}):
            ports.add(port)
    return ports


def test_default_control_channels_are_private_unix_sockets() -> None:
    with RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")}) as gw:
        assert stat.S_IMODE(gw.run_dir.stat().st_mode) == 0o700
        assert stat.S_ISSOCK((gw.run_dir / "xds.sock").stat().st_mode)
        assert stat.S_ISSOCK((gw.run_dir / "admin.sock").stat().st_mode)
        assert gw.admin("/ready").status_code == 200
        assert gw.proc is not None
        envoy_pid = gw.overview()["envoy"]["pid"]
        # nothing but the diagnostics and the HTTP listener is reachable over TCP
        assert _tcp_listen_ports(gw.proc.pid) == {gw.diag_port}
        assert _tcp_listen_ports(envoy_pid) == {gw.http_port}


def _static_bootstrap_on(port: int, reuse_port: bool | None) -> Path:
    """A bootstrap file whose only listener is legation's translation of a Mapping on
    `port` (optionally with `enable_reuse_port` overridden)."""
    raw = RawObject(doc=yaml.safe_load(mapping("a", "127.0.0.1:1", "/a/")), source=Source("a", 1))
    compiled = compile_config([raw], CompileOptions(http_port=port))
    bootstrap = static_bootstrap(Translator("list").translate(compiled.gateway))
    if reuse_port is not None:
        for listener in bootstrap.static_resources.listeners:
            listener.enable_reuse_port.value = reuse_port
    path = Path(tempfile.mkdtemp(prefix="legation-second-envoy-")) / "bootstrap.json"
    path.write_text(bootstrap_to_json(bootstrap))
    return path


def _envoy_argv(bootstrap: Path) -> list[str]:
    return [str(find_envoy_binary()), "-c", str(bootstrap), "--disable-hot-restart", "-l", "error"]


def _exit_of_envoy(bootstrap: Path) -> tuple[int | None, str]:
    """Run Envoy on `bootstrap`: (exit status, or None if still running after 8 s; output)."""
    try:
        done = subprocess.run(_envoy_argv(bootstrap), capture_output=True, text=True, timeout=8)
    except subprocess.TimeoutExpired:
        return None, ""
    finally:
        shutil.rmtree(bootstrap.parent, ignore_errors=True)
    return done.returncode, done.stderr


def test_a_second_envoy_cannot_share_the_http_port() -> None:
    with RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")}) as gw:
        code, output = _exit_of_envoy(_static_bootstrap_on(gw.http_port, None))
        assert code is not None and code > 0 and "already in use" in output, output
    # the check can fail: with Envoy's own default (SO_REUSEPORT) two Envoys share a port
    port = free_port()
    first = _static_bootstrap_on(port, True)
    holder = subprocess.Popen(_envoy_argv(first), stderr=subprocess.DEVNULL)
    try:
        poll(lambda: tcp_listener_inodes(port), timeout=15)
        code, output = _exit_of_envoy(_static_bootstrap_on(port, True))
        assert code is None, output
    finally:
        holder.kill()
        holder.wait()
        shutil.rmtree(first.parent, ignore_errors=True)


def test_second_instance_on_the_same_run_dir_exits_2_and_leaves_the_first_intact(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    with RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")}) as first:
        args = [*_second_args(tmp_path / "config"), "--run-dir", str(first.run_dir)]
        result = _run_second(args)
        assert first.proc is not None
        _assert_one_line_refusal(
            result, f"run dir {first.run_dir} is in use by another legation (pid {first.proc.pid})"
        )
        assert first.admin("/ready").status_code == 200  # its sockets are still there
        assert first.diag("/ambassador/v0/check_ready").status_code == 200


def _grab_after_kill(pid: int, port: int) -> socket.socket | None:
    """SIGKILL `pid` and bind `port` before the supervisor restarts it (0.1 s)."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        with contextlib.suppress(PortConflict):
            return bind_tcp("127.0.0.1", port, "test")
        time.sleep(0.001)
    return None


def test_admin_port_taken_while_envoy_restarts_stops_with_2_not_a_crash_loop() -> None:
    gw = RunningGateway({"a.yaml": mapping("a", "127.0.0.1:1", "/a/")}, tcp_control=True)
    with gw:
        assert gw.admin_port is not None and gw.proc is not None
        grabbed = None
        for _ in range(3):  # the supervisor may win the race; then try again
            grabbed = _grab_after_kill(gw.overview()["envoy"]["pid"], gw.admin_port)
            if grabbed is not None:
                break
            gw.wait_ready()
        assert grabbed is not None, "could not take the admin port between kill and restart"
        try:
            assert gw.proc.wait(timeout=20) == 2
        finally:
            grabbed.close()
        errors = _error_lines(gw.log())
        assert len(errors) == 1, errors
        assert f"cannot restart Envoy: port {gw.admin_port} (Envoy admin" in errors[0]
        assert f"pid {os.getpid()} " in errors[0]
        assert gw.log().count("started Envoy pid") <= 4  # no crash loop


def _start_in(tmp: Path, config_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `legation run` with TMPDIR=`tmp` and no --run-dir; wait until ready.
    Returns the process and the temporary run dir it made."""
    before = set(tmp.glob("legation-*"))
    diag = free_port()
    args = _second_args(config_dir, diag=diag)
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{diag}/ambassador/v0/check_ready"
    with httpx.Client(timeout=2) as client:
        poll(lambda: client.get(url).status_code == 200, timeout=30)
    (made,) = set(tmp.glob("legation-*")) - before
    return proc, made


def test_the_next_run_removes_the_temporary_run_dir_of_a_killed_one(tmp_path: Path) -> None:
    """Without --run-dir the run dir is temporary; kill -9 leaves it behind, and the next
    start removes it (its lock is free), never a live run's."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "a.yaml").write_text(mapping("a", "127.0.0.1:1", "/a/"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    killed, stale = _start_in(tmp, config)
    killed.kill()
    killed.wait()
    assert (stale / "envoy-bootstrap.json").exists()
    live, kept = _start_in(tmp, config)
    try:
        assert not stale.exists()
        third, third_dir = _start_in(tmp, config)
        third.terminate()
        assert third.wait(timeout=20) == 0
        assert kept.exists() and (kept / "xds.sock").exists()  # a live run's dir stays
        assert not third_dir.exists()  # removed at a clean exit
    finally:
        live.terminate()
        live.wait(timeout=20)
    assert not kept.exists()
