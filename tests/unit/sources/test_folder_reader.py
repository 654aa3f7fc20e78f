"""The folder reader: stability, last good content, symbolic links, a missing folder,
the size limit (on real files in a temporary folder)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from legation.sources.files import FolderReader
from legation.sources.snapshot import Snapshot


def mapping(name: str, prefix: str = "/x/") -> str:
    return (
        "---\napiVersion: getambassador.io/v3alpha1\nkind: Mapping\n"
        f"metadata: {{name: {name}}}\nspec: {{prefix: {prefix}, service: s}}\n"
    )


def names(snapshot: Snapshot) -> list[str]:
    return [str(o.doc["metadata"]["name"]) for o in snapshot.objects]


def messages(snapshot: Snapshot) -> list[str]:
    return [p.describe() for p in snapshot.problems]


def age(path: Path, seconds: float = 10.0) -> None:
    """Make a file look written `seconds` ago (so it is settled)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    return folder


def test_a_file_is_read_only_once_it_has_settled(root: Path) -> None:
    reader = FolderReader(root, settle_ms=200)
    (root / "a.yaml").write_text(mapping("a"))
    first = reader.read()
    assert names(first) == []  # just written: maybe still being written
    wait = reader.next_check()
    assert wait is not None and 0 < wait <= 0.2  # the source will look again by itself
    time.sleep(wait + 0.01)
    assert names(reader.read()) == ["a"]
    assert reader.next_check() is None


def test_a_rewrite_in_progress_keeps_the_previous_content(root: Path) -> None:
    path = root / "a.yaml"
    path.write_text(mapping("a") + mapping("b"))
    age(path)
    reader = FolderReader(root, settle_ms=200)
    assert names(reader.read()) == ["a", "b"]
    path.write_text("")  # truncated, the new content not written yet
    assert names(reader.read()) == ["a", "b"]
    path.write_text(mapping("a") + mapping("c"))
    assert names(reader.read_settled()) == ["a", "c"]


def test_unchanged_snapshot_is_the_same_object(root: Path) -> None:
    (root / "a.yaml").write_text(mapping("a"))
    reader = FolderReader(root)
    first = reader.read()
    assert reader.changed
    assert reader.read() is first and not reader.changed
    path = root / "a.yaml"
    path.write_text(mapping("a"))  # same bytes, new stamp: the same RawObjects
    again = reader.read()
    assert again.objects[0] is first.objects[0]


def test_unreadable_file_keeps_its_last_good_content(root: Path) -> None:
    path = root / "a.yaml"
    path.write_text(mapping("a"))
    reader = FolderReader(root)
    assert names(reader.read()) == ["a"]
    path.write_text("kind: [unclosed\n")  # now fails to parse
    snap = reader.read()
    assert names(snap) == ["a"]
    assert any("invalid YAML" in m and "keeping its last good content" in m for m in messages(snap))
    path.write_bytes(b"\xff\xfe not utf-8")
    snap = reader.read()
    assert names(snap) == ["a"]
    assert any("not UTF-8" in m and "keeping its last good content" in m for m in messages(snap))
    path.write_text(mapping("b"))
    snap = reader.read()
    assert names(snap) == ["b"] and messages(snap) == []
    path.unlink()  # deleting is meant: the content goes
    assert names(reader.read()) == []


def test_a_new_broken_file_keeps_documents_before_the_error(root: Path) -> None:
    (root / "a.yaml").write_text(mapping("a") + "---\nkind: [unclosed\n")
    snap = FolderReader(root).read()
    assert names(snap) == ["a"]
    assert any("invalid YAML" in m and "keeping" not in m for m in messages(snap))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_keeps_last_good(root: Path) -> None:  # pragma: no cover - root CI
    path = root / "a.yaml"
    path.write_text(mapping("a"))
    reader = FolderReader(root)
    assert names(reader.read()) == ["a"]
    path.chmod(0)
    snap = reader.read()
    assert names(snap) == ["a"]
    assert any("cannot read file" in m for m in messages(snap))


def test_file_over_the_size_limit_is_reported_not_read(root: Path) -> None:
    path = root / "big.yaml"
    path.write_text(mapping("a"))
    reader = FolderReader(root, max_file_size=1000)
    assert names(reader.read()) == ["a"]
    path.write_text(mapping("a") + "# " + "x" * 2000 + "\n")
    snap = reader.read()
    assert names(snap) == ["a"]  # the last good content stays
    (problem,) = snap.problems
    assert problem.source.location == "big.yaml"
    assert "over the limit of 1000 bytes (--max-file-size); not read" in problem.message
    (root / "new.yaml").write_text("x" * 5000)
    assert any(m.startswith("new.yaml: error:") for m in messages(reader.read()))


def test_symlinks_stay_inside_the_folder_and_loops_are_reported(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "sub" / "a.yaml").write_text(mapping("a"))
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "o.yaml").write_text(mapping("outside"))
    (root / "rootfs").symlink_to("/")
    (root / "out").symlink_to(outside)
    (root / "out.yaml").symlink_to(outside / "o.yaml")
    (root / "sub" / "up").symlink_to("..")  # a loop
    (root / "inner.yaml").symlink_to(root / "sub" / "a.yaml")  # inside: followed
    started = time.monotonic()
    snap = FolderReader(root).read()
    assert time.monotonic() - started < 2  # `rootfs -> /` was not walked
    assert names(snap) == ["a", "a"]  # inner.yaml and sub/a.yaml
    found = messages(snap)
    assert (
        "rootfs: notice: (no resource): symbolic link points outside the configuration "
        "folder (to /); not followed" in found
    )
    assert any(m.startswith("out: notice:") and "outside" in m for m in found)
    assert any(m.startswith("out.yaml: notice:") and "outside" in m for m in found)
    assert any(m.startswith("sub/up: notice:") and "already read" in m for m in found)


def test_config_map_volume_links_are_read(root: Path) -> None:
    data = root / "..2026_01_01"
    data.mkdir()
    (data / "a.yaml").write_text(mapping("a"))
    (root / "..data").symlink_to(data.name)
    (root / "a.yaml").symlink_to("..data/a.yaml")
    snap = FolderReader(root).read()
    assert names(snap) == ["a"] and messages(snap) == []


def test_a_fifo_is_not_opened(root: Path) -> None:
    os.mkfifo(root / "pipe.yaml")
    snap = FolderReader(root).read()  # would block forever if opened
    assert any("not a regular file" in m for m in messages(snap))


def test_missing_folder_keeps_the_last_configuration_until_it_is_back(root: Path) -> None:
    (root / "a.yaml").write_text(mapping("a"))
    reader = FolderReader(root, settle_ms=100)
    age(root / "a.yaml")
    assert names(reader.read()) == ["a"]
    shutil.rmtree(root)
    snap = reader.read()
    assert names(snap) == ["a"]
    (problem,) = snap.problems
    assert "configuration folder does not exist" in problem.message
    assert "keeping the last configuration" in problem.message
    root.mkdir()  # back, but being filled: not read until it settles
    (root / "b.yaml").write_text(mapping("b"))
    assert names(reader.read()) == ["a"]
    assert reader.next_check() is not None
    snap = reader.read_settled()
    assert names(snap) == ["b"] and messages(snap) == []


def test_a_folder_replaced_between_reads_is_read_once_settled(root: Path) -> None:
    (root / "a.yaml").write_text(mapping("a"))
    age(root / "a.yaml")
    reader = FolderReader(root, settle_ms=200)
    first = reader.read()
    assert names(first) == ["a"]
    shutil.rmtree(root)  # `rm -rf config && mkdir config && cp ...`, faster than a poll
    root.mkdir()
    assert reader.read() is first  # being filled: nothing changes yet, no error flashes
    (root / "a.yaml").write_text(mapping("a"))
    (root / "b.yaml").write_text(mapping("b"))
    assert names(reader.read_settled()) == ["a", "b"]


def test_a_file_that_never_stops_changing_gets_a_notice(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import legation.sources.files as files

    monkeypatch.setattr(files, "PENDING_REPORT_S", 0.2)
    path = root / "log.yaml"
    path.write_text(mapping("a"))
    age(path)
    reader = FolderReader(root, settle_ms=100)
    assert names(reader.read()) == ["a"]
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:
        path.write_text(mapping("a") + f"# {time.monotonic()}\n")
        snap = reader.read()
        time.sleep(0.02)
    assert names(snap) == ["a"]  # the previous content all along
    assert any(m.startswith("log.yaml: notice:") and "still changing" in m for m in messages(snap))
