"""Memory benchmark: the control plane's RSS while holding 10,000 Mappings.

Each measurement runs in a fresh interpreter (a child process of this script):

- baseline: a bare interpreter that imported the same legation modules, nothing more;
- build: `FolderReader` reads a folder of generated Mappings, `Pipeline.build` compiles
  and translates them, `XdsCache.set_resources` publishes them, then one file changes
  and the update runs again — what `legation run` holds and does. Reported: peak RSS
  (`ru_maxrss`), RSS after the first build, RSS after the update;
- trace: the same work under `tracemalloc`, for the peak of the Python heap (a separate
  child, because tracing itself costs memory and time).

Target: peak RSS ≤ 250 MiB with 10,000 Mappings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MIB,
    Report,
    base_parser,
    generate_mappings,
    python_version,
    ratio,
    say,
    table,
    times,
    verdict,
    write_config_files,
)

TARGET_SIZE = 10_000
TARGET_MIB = 250.0
CHILD_TIMEOUT_S = 180.0
CHANGED_FILE = "mappings-0000.yaml"


@dataclass(frozen=True)
class ChildResult:
    """What one child process measured, in bytes (NaN-free: 0 when not measured)."""

    rss_start: int
    rss_built: int
    rss_updated: int
    max_rss: int
    heap_peak: int
    heap_held: int
    mappings_compiled: int


# --- the child -----------------------------------------------------------------------


def _current_rss() -> int:
    """This process's resident set size now, in bytes (Linux `/proc`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _max_rss() -> int:
    """This process's peak resident set size so far, in bytes."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # KiB on Linux


def _import_modules() -> None:
    """The legation modules the build uses; the baseline child imports exactly these."""
    import legation.compile.compiler
    import legation.runtime.pipeline
    import legation.sources.files
    import legation.xds.cache  # noqa: F401


def _change_one_file(folder: Path) -> None:
    """Edit the first Mapping of one file (a new timeout), as a user would."""
    path = folder / CHANGED_FILE
    text = path.read_text()
    path.write_text(text.replace("spec:\n", "spec:\n  timeout_ms: 4321\n", 1))


def _child(mode: str, folder: Path) -> ChildResult:
    """Measure in this (fresh) process; `mode` is baseline, build or trace."""
    import gc
    import tracemalloc

    _import_modules()
    gc.collect()
    rss_start = _current_rss()
    if mode == "baseline":
        return ChildResult(rss_start, 0, 0, _max_rss(), 0, 0, 0)

    from legation.compile.compiler import CompileOptions
    from legation.runtime.pipeline import Pipeline
    from legation.sources.files import FolderReader
    from legation.xds.cache import XdsCache

    if mode == "trace":
        tracemalloc.start()
    reader = FolderReader(folder)
    pipeline = Pipeline(CompileOptions())
    cache = XdsCache()
    last = pipeline.build(reader.read())
    cache.set_resources(last.resources.by_type_url())
    gc.collect()
    rss_built = _current_rss()
    _change_one_file(folder)
    last = pipeline.build(reader.read())
    cache.set_resources(last.resources.by_type_url())
    gc.collect()
    rss_updated = _current_rss()
    held, peak = tracemalloc.get_traced_memory() if mode == "trace" else (0, 0)
    compiled = len(last.compiled.resources)
    return ChildResult(rss_start, rss_built, rss_updated, _max_rss(), peak, held, compiled)


# --- the parent ----------------------------------------------------------------------


def _run_child(mode: str, folder: Path, docs_count: int) -> ChildResult:
    """Write a fresh folder, run one child in it, and read its JSON answer."""
    for old in folder.glob("*.yaml"):
        old.unlink()
    write_config_files(folder, generate_mappings(docs_count))
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--config-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return ChildResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def measure(count: int, folder: Path) -> dict[str, ChildResult]:
    """The baseline, build and trace children for `count` Mappings."""
    results = {}
    for mode in ("baseline", "build", "trace"):
        say(f"  {mode} child ...")
        results[mode] = _run_child(mode, folder, count)
    return results


def _print(count: int, results: dict[str, ChildResult], report: Report) -> None:
    base, build, trace = results["baseline"], results["build"], results["trace"]
    peak = build.max_rss
    grown = peak - base.max_rss
    say("")
    say(
        table(
            [
                ("baseline: interpreter + imports (RSS)", _mib(base.rss_start), ""),
                ("baseline: peak RSS", _mib(base.max_rss), ""),
                ("build: RSS after the first build", _mib(build.rss_built), ""),
                ("build: RSS after one file changed", _mib(build.rss_updated), ""),
                ("build: peak RSS (ru_maxrss)", _mib(peak), times(ratio(peak, base.max_rss))),
                ("peak RSS above baseline", _mib(grown), ""),
                ("  per Mapping", f"{grown / max(count, 1) / 1024:.1f} KiB", ""),
                ("Python heap peak (tracemalloc)", _mib(trace.heap_peak), ""),
                ("Python heap held after update", _mib(trace.heap_held), ""),
            ],
            ("figure", "value", "ratio to baseline"),
        )
    )
    if build.mappings_compiled != count:
        say(f"  WARNING: {build.mappings_compiled} resources compiled, expected {count}")
    judged = count == TARGET_SIZE
    outcome = verdict(peak / MIB, TARGET_MIB) if judged else ""
    if judged:
        say(f"\nTarget: peak RSS {_mib(peak)} <= {TARGET_MIB:g} MiB: {outcome}")
    else:
        say(f"\nTarget ({TARGET_MIB:g} MiB at {TARGET_SIZE:,} Mappings): not judged at {count:,}")
    report.figure(
        f"peak RSS, {count:,} Mappings",
        _mib(peak),
        baseline=f"bare imports {_mib(base.max_rss)}",
        ratio=times(ratio(peak, base.max_rss)),
        target=f"<= {TARGET_MIB:g} MiB" if judged else "",
        verdict=outcome,
    )
    report.figure(f"Python heap peak, {count:,} Mappings", _mib(trace.heap_peak))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with `--child`, one measurement); 0 unless it broke."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "memory benchmark")
    parser.add_argument("--mappings", type=int, default=None, help="number of Mappings")
    parser.add_argument("--child", choices=("baseline", "build", "trace"), help=argparse.SUPPRESS)
    parser.add_argument("--config-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = _child(args.child, args.config_dir)
        print(json.dumps(result.__dict__))
        return 0
    count = args.mappings or (2_000 if args.quick else TARGET_SIZE)
    report = Report("memory")
    say(f"== memory benchmark (Python {python_version()}, {count:,} Mappings, fresh processes)")
    with tempfile.TemporaryDirectory(prefix="legation-bench-mem-") as tmp:
        results = measure(count, Path(tmp))
    _print(count, results, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
