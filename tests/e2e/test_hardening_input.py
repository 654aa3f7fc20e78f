"""Hostile or broken input in the config folder (issue 8, findings 1-8), through the real
gateway: while each bad thing happens, a client keeps requesting a route nobody touched,
and not one of its requests may fail; the problem shows in the diagnostics JSON, and
later changes still apply.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.echo import EchoUpstream
from tests.e2e.gateway import RunningGateway, mapping, poll
from tests.e2e.load import Load

GOOD = "/good/"


@contextmanager
def gateway(
    extra: dict[str, str] | None = None, cls: type[RunningGateway] = RunningGateway
) -> Iterator[tuple[RunningGateway, EchoUpstream]]:
    """A gateway with `good.yaml` (the untouched route) plus `extra` files."""
    with EchoUpstream("up") as up:
        files = {"good.yaml": mapping("good", up.service, GOOD)}
        files.update(
            {name: text.replace("SERVICE", up.service) for name, text in (extra or {}).items()}
        )
        with cls(files) as gw:
            gw.wait_status(GOOD, 200)
            yield gw, up


@contextmanager
def steady_client(gw: RunningGateway, paths: list[str] | None = None) -> Iterator[Load]:
    """GETs every 10 ms on untouched routes for the block's duration (at most 60 s)."""
    with Load(gw.url(""), paths or [GOOD], pause_s=0.01, limit_s=60) as load:
        time.sleep(0.2)
        yield load
        time.sleep(0.3)  # a little after the change, too
    assert load.sent > 20, "the client barely ran"
    assert not load.failures, f"requests to untouched routes failed: {dict(load.failures)}"


def problems_of(gw: RunningGateway, location: str, kind: str = "errors") -> list[dict[str, Any]]:
    return [p for p in gw.overview()[kind] if str(p["file"]).startswith(location)]


def wait_problem(gw: RunningGateway, location: str, text: str, kind: str = "errors") -> None:
    found = poll(lambda: [p for p in problems_of(gw, location, kind) if text in p["message"]])
    assert found, (location, text)


def later_change_applies(gw: RunningGateway, up: EchoUpstream) -> None:
    """A new file still becomes a live route (nothing is blocked)."""
    gw.write("later.yaml", mapping("later", up.service, "/later/"))
    gw.wait_status("/later/", 200, timeout=10)


def test_1_deep_nesting_is_that_files_error_and_blocks_nothing() -> None:
    deep = mapping("deep", "SERVICE", "/deep/").rstrip("\n")
    deep += "\n  headers: " + "[" * 990 + "]" * 990 + "\n"
    with gateway() as (gw, up), steady_client(gw):
        gw.write("deep.yaml", deep.replace("SERVICE", up.service))
        wait_problem(gw, "deep.yaml", "nested deeper than 100 levels")
        (problem,) = problems_of(gw, "deep.yaml")
        assert problem["line"] == 10  # the headers line
        later_change_applies(gw, up)
        assert gw.get("/deep/").status_code == 404


def test_2_alias_bomb_is_refused() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n"
    bomb += "".join(f"  {line}\n" for line in lines)
    with gateway() as (gw, up), steady_client(gw):
        gw.write("bomb.yaml", bomb)
        wait_problem(gw, "bomb.yaml", "YAML aliases expand this document")
        started = time.monotonic()
        assert gw.diag("/ambassador/v0/diag/?json=true").status_code == 200
        assert time.monotonic() - started < 2
        later_change_applies(gw, up)


def test_3_symlink_to_the_root_filesystem_is_not_followed() -> None:
    with gateway() as (gw, up), steady_client(gw):
        (gw.config_dir / "rootfs").symlink_to("/")
        (gw.config_dir / "loop").symlink_to(".")
        gw.write("poke.yaml", mapping("poke", up.service, "/poke/"))  # make it read now
        gw.wait_status("/poke/", 200, timeout=10)
        wait_problem(gw, "rootfs", "points outside the configuration folder", "notices")
        wait_problem(gw, "loop", "a loop or a second path", "notices")
        later_change_applies(gw, up)
        check = subprocess.run(
            [sys.executable, "-m", "legation.cli.main", "check", str(gw.config_dir)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "rootfs: notice:" in check.stdout + check.stderr
        assert check.returncode == 0, check.stdout + check.stderr


def test_4_huge_file_is_reported_and_never_read() -> None:
    doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"
    with gateway() as (gw, up), steady_client(gw):
        path = gw.config_dir / "huge.yaml"
        with path.open("w") as out:  # written the slow way, as `cp` would
            for _ in range(50):
                out.write(doc * (1_000_000 // len(doc)))
        wait_problem(gw, "huge.yaml", "(--max-file-size); not read")
        started = time.monotonic()
        assert gw.diag("/ambassador/v0/check_alive").status_code == 200
        assert time.monotonic() - started < 1
        later_change_applies(gw, up)
        # a big file under the limit: one notice line per kind, not one per document
        gw.write("many.yaml", doc * 5000)
        wait_problem(gw, "many.yaml", "4997 more document(s) of kinds legation does not read",
                     "notices")  # fmt: skip
        logged = [line for line in gw.log().splitlines() if "many.yaml" in line]
        assert 1 <= len(logged) <= 6, logged


def test_5_deleted_folder_keeps_routes_and_is_picked_up_again() -> None:
    with gateway() as (gw, up), steady_client(gw):
        good = (gw.config_dir / "good.yaml").read_text()
        shutil.rmtree(gw.config_dir)
        wait_problem(gw, str(gw.config_dir), "configuration folder does not exist")
        time.sleep(0.5)  # routes stay while it is gone (the client is watching)
        gw.config_dir.mkdir()
        gw.write("good.yaml", good)
        gw.write("new.yaml", mapping("new", up.service, "/new/"))
        gw.wait_status("/new/", 200, timeout=10)
        poll(lambda: not problems_of(gw, str(gw.config_dir)))
        # and the watch works again: a file written later is picked up too
        later_change_applies(gw, up)


def test_6_newcomer_with_a_live_resources_name_does_not_displace_it() -> None:
    live = mapping("dup", "SERVICE", "/dup/")
    with gateway({"z-live.yaml": live}) as (gw, up):
        gw.wait_status("/dup/", 200)
        with steady_client(gw, [GOOD, "/dup/"]):
            gw.write("a-new.yaml", mapping("dup", up.service, "/dup-new/"))
            wait_problem(gw, "a-new.yaml", "duplicate of Mapping/dup.default at z-live.yaml")
            later_change_applies(gw, up)
            assert gw.get("/dup-new/").status_code == 404
        files = {p.name: p for p in gw.config_dir.iterdir() if p.suffix == ".yaml"}
        # a fresh start on the same files: the older one wins again
        again = RunningGateway()
        for name, path in files.items():
            shutil.copy2(path, again.config_dir / name)  # keeps modification times
        with again:
            again.wait_status("/dup/", 200)
            assert again.get("/dup-new/").status_code == 404
            wait_problem(again, "a-new.yaml", "duplicate of Mapping/dup.default")


class _WithoutFileOverride(RunningGateway):
    """legation run without the capability to read files whatever their mode (so a root
    test process can make a file unreadable to it with chmod)."""

    def args(self) -> list[str]:
        prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]
        return (prefix if os.geteuid() == 0 else []) + super().args()


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="needs setpriv")
def test_7_unreadable_file_keeps_its_routes() -> None:
    files = {"perm.yaml": mapping("perm", "SERVICE", "/perm/")}
    with gateway(files, _WithoutFileOverride) as (gw, up):
        gw.wait_status("/perm/", 200)
        path = gw.config_dir / "perm.yaml"
        with steady_client(gw, [GOOD, "/perm/"]):
            path.chmod(0)
            wait_problem(gw, "perm.yaml", "keeping its last good content")
            (problem,) = problems_of(gw, "perm.yaml")
            assert "cannot read file: Permission denied" in problem["message"]
            later_change_applies(gw, up)
            path.chmod(0o644)
            poll(lambda: not problems_of(gw, "perm.yaml"))


def test_8_rewriting_a_file_in_place_never_serves_a_half_written_one() -> None:
    def churn(n: int, service: str) -> str:
        stable = mapping("churn-stable", service, "/churn-stable/")
        return stable + mapping("churn-moving", service, f"/churn-{n}/") + "# " + "pad " * 500

    with gateway({"churn.yaml": churn(0, "SERVICE")}) as (gw, up):
        gw.wait_status("/churn-stable/", 200)
        path = gw.config_dir / "churn.yaml"
        with steady_client(gw, [GOOD, "/churn-stable/"]):
            deadline = time.monotonic() + 2.0
            for n in range(1, 201):
                with path.open("w") as out:  # truncate, then write, in place
                    text = churn(n, up.service)
                    out.write(text[: len(text) // 2])
                    out.flush()
                    out.write(text[len(text) // 2 :])
                time.sleep(max(0.0, (deadline - time.monotonic()) / (201 - n)))
            gw.wait_status("/churn-200/", 200, timeout=10)
        assert not problems_of(gw, "churn.yaml")


def test_max_file_size_flag_on_check_and_run(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(mapping("a", "s:80", "/a/"))
    (tmp_path / "big.yaml").write_text(mapping("b", "s:80", "/b/") + "# " + "x" * 400 + "\n")

    def legation(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "legation.cli.main", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60)

    small = legation("check", "--max-file-size", "300", str(tmp_path))
    assert small.returncode == 1
    assert "big.yaml: error: (no resource): file is " in small.stderr
    assert "over the limit of 300 bytes (--max-file-size); not read" in small.stderr
    assert "1 resource(s) read" in small.stderr
    assert legation("check", str(tmp_path)).returncode == 0  # 8 MiB by default
    assert "--max-file-size" in legation("run", "--help").stdout
