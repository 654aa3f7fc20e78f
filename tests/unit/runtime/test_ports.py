"""Port and socket claims: a taken one is one line naming the holder; stale sockets go."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from legation.runtime.ports import PortConflict, bind_tcp, check_tcp_free, check_unix_free
from legation.runtime.rundir import RunDir, RunDirError, remove_stale_run_dirs


def test_a_taken_tcp_port_names_this_process() -> None:
    holder = bind_tcp("127.0.0.1", 0, "test")
    port = holder.getsockname()[1]
    try:
        with pytest.raises(PortConflict) as exc:
            check_tcp_free("127.0.0.1", port, "diagnostics, --diag-port")
        message = str(exc.value)
        assert message.startswith(f"port {port} (diagnostics, --diag-port) is in use by pid ")
        assert f"pid {os.getpid()} " in message and "\n" not in message
        assert not holder.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    finally:
        holder.close()
    check_tcp_free("127.0.0.1", port, "diagnostics")  # free again


def test_unix_socket_live_is_a_conflict_stale_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "admin.sock"
    live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live.bind(str(path))
    live.listen(1)
    with pytest.raises(PortConflict, match=rf"socket {path} \(Envoy admin\) is in use by pid"):
        check_unix_free(path, "Envoy admin")
    live.close()  # the file stays behind, as after a kill -9
    assert path.exists()
    check_unix_free(path, "Envoy admin")
    assert not path.exists()


def test_run_dir_is_private_and_temporary_by_default() -> None:
    with RunDir() as run:
        assert stat.S_IMODE(run.path.stat().st_mode) == 0o700
        path = run.path
    assert not path.exists()


def test_a_given_run_dir_others_may_enter_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(RunDirError, match="mode 0755; it must be 0700"), RunDir(shared):
        pass
    fresh = tmp_path / "fresh"
    with RunDir(fresh) as run:
        assert stat.S_IMODE(run.path.stat().st_mode) == 0o700
    assert fresh.exists()  # a given directory is kept


def test_a_run_dir_is_locked_by_its_run(tmp_path: Path) -> None:
    given = tmp_path / "run"
    held = rf"in use by another legation \(pid {os.getpid()}\)"
    with RunDir(given), pytest.raises(RunDirError, match=held):
        RunDir(given).__enter__()  # flock: a second open file is refused, even here
    with RunDir(given):  # released at exit
        pass


def test_stale_temporary_run_dirs_are_removed_live_and_given_ones_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = RunDir()
    stale.__enter__()
    stale_path = stale.path
    assert stale._lock is not None
    os.close(stale._lock)  # as if its process had died: the lock is free
    stale._lock = None
    given = tmp_path / "legation-given"
    with RunDir(given):
        pass  # a stale --run-dir: kept
    with RunDir() as live:
        assert not stale_path.exists()
        assert given.exists()
        assert remove_stale_run_dirs(tmp_path) == []  # the live one is locked
        assert live.path.exists()
