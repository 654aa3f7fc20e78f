"""List the configuration files under a folder without ever leaving it.

Symbolic links are followed only while they stay inside the folder: a link that points
outside (say `rootfs -> /`) is reported and not followed, and so is a link to a folder
already read (a loop, or a second path to the same files). Real folders are walked first,
linked ones after, so a loop is always caught at the link, never at the real folder.
Hidden folders are skipped; a Kubernetes ConfigMap volume's `..data` links still work,
because the visible `name.yaml` links point inside the folder.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from legation.ir.errors import ConfigProblem, Severity
from legation.ir.provenance import Source

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def is_config_file(path: Path) -> bool:
    """True for YAML/JSON files that are not hidden or editor scratch files."""
    name = path.name
    return name.endswith(CONFIG_SUFFIXES) and not name.startswith((".", "#", "~"))


@dataclass
class WalkResult:
    """The config files found (sorted by display path) and notices about what was skipped."""

    files: list[tuple[str, Path]] = field(default_factory=list)
    """(path relative to the folder, as users wrote it; the path to open)."""
    problems: list[ConfigProblem] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    """Folders (display paths) that could not be listed: their files keep their content."""


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class _Walk:
    root_real: str
    result: WalkResult = field(default_factory=WalkResult)
    visited: set[tuple[int, int]] = field(default_factory=set)
    linked: list[tuple[str, Path]] = field(default_factory=list)

    def notice(self, display: str, message: str) -> None:
        self.result.problems.append(
            ConfigProblem(Source(display), None, message, severity=Severity.NOTICE)
        )

    def enter(self, display: str, path: Path) -> bool:
        """Mark a folder as read; False if it was already (a loop or a second path)."""
        try:
            st = path.stat()
        except OSError as exc:
            self.notice(display or ".", f"cannot read folder: {exc.strerror or exc}; skipped")
            return False
        ident = (st.st_dev, st.st_ino)
        if ident in self.visited:
            return False
        self.visited.add(ident)
        return True

    def scan(self, display: str, path: Path) -> None:
        """One folder: its files, its real subfolders (walked now), its links (later)."""
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.result.unreadable.append(display)
            message = f"cannot read folder: {exc.strerror or exc}; its files keep their content"
            self.result.problems.append(ConfigProblem(Source(display or "."), None, message))
            return
        for entry in entries:
            shown = f"{display}/{entry.name}" if display else entry.name
            self.entry(shown, Path(entry.path), entry)

    def entry(self, shown: str, path: Path, entry: os.DirEntry[str]) -> None:
        hidden = entry.name.startswith(".")
        try:
            if entry.is_symlink():
                if not hidden and (is_config_file(path) or entry.is_dir()):
                    self.link(shown, path)
                return
            if entry.is_dir(follow_symlinks=False):
                if not hidden and self.enter(shown, path):
                    self.scan(shown, path)
                return
            mode = entry.stat(follow_symlinks=False).st_mode
        except OSError as exc:
            self.notice(shown, f"cannot read: {exc.strerror or exc}; skipped")
            return
        if is_config_file(path):
            if stat.S_ISREG(mode):
                self.result.files.append((shown, path))
            else:
                self.notice(shown, "not a regular file (a device, pipe or socket); skipped")

    def link(self, shown: str, path: Path) -> None:
        target = os.path.realpath(path)
        if not _inside(target, self.root_real):
            self.notice(
                shown,
                f"symbolic link points outside the configuration folder (to {target}); "
                "not followed",
            )
            return
        if not os.path.exists(target):
            self.notice(shown, f"broken symbolic link (to {target}); skipped")
        elif os.path.isdir(target):
            self.linked.append((shown, path))
        elif not stat.S_ISREG(os.stat(target).st_mode):
            self.notice(shown, "symbolic link to something not a regular file; skipped")
        else:
            self.result.files.append((shown, path))


def walk_config_files(root: Path) -> WalkResult:
    """Every config file under `root`, following links only inside it (see module doc)."""
    walk = _Walk(os.path.realpath(root))
    if walk.enter("", root):
        walk.scan("", root)
    while walk.linked:
        shown, path = walk.linked.pop(0)
        if walk.enter(shown, path):
            walk.scan(shown, path)
        else:
            walk.notice(
                shown,
                f"symbolic link leads to a folder already read ({os.path.realpath(path)}): "
                "a loop or a second path to the same files; not followed",
            )
    walk.result.files.sort(key=lambda f: f[0])
    return walk.result
