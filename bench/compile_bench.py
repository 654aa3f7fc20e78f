"""Compile benchmark: cold compile + translate, and one changed Mapping with warm caches.

For each size (100, 1,000, 10,000 generated Mappings):

- baseline: `yaml.load_all` with the C loader over the same documents;
- YAML parsing into RawObjects (`parse_documents`), reported on its own;
- cold: a fresh `Pipeline` (compile_config + Translator) from the parsed RawObjects,
  as a ratio to the baseline; `XdsCache.set_resources` is reported beside it;
- one change: ~20 different single-Mapping edits applied one after another on the
  warm pipeline, each timed through compile + translate + `set_resources`;
- a check that the incremental result equals a full compile of the final objects.

Targets (at 10,000 Mappings): cold compile + translate ≤ 2 s; one change ≤ 50 ms.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MappingDoc,
    Report,
    base_parser,
    best_of,
    chunk,
    generate_mappings,
    join_documents,
    mapping_doc,
    median,
    ms,
    percentile,
    python_version,
    ratio,
    say,
    table,
    timed,
    times,
    verdict,
)

from legation.compile.compiler import CompileOptions
from legation.model.raw import RawObject
from legation.model.yamldocs import parse_documents
from legation.runtime.pipeline import BuildResult, Pipeline
from legation.sources.snapshot import Snapshot
from legation.xds.cache import XdsCache

TARGET_SIZE = 10_000
COLD_TARGET_S = 2.0
CHANGE_TARGET_S = 0.050
DOCS_PER_FILE = 100

_LOADER = yaml.CSafeLoader


@dataclass(frozen=True)
class SizeResult:
    """Every figure measured for one number of Mappings."""

    mappings: int
    yaml_load_s: float
    parse_s: float
    cold_compile_s: float
    cold_translate_s: float
    cold_set_s: float
    change_compile_s: float
    change_translate_s: float
    change_set_s: float
    change_total_s: float
    change_p90_s: float
    change_parse_s: float
    rds_bytes: int
    routes: int
    clusters: int
    problems: int
    incremental_equals_full: bool

    @property
    def cold_s(self) -> float:
        """Cold compile + translate."""
        return self.cold_compile_s + self.cold_translate_s


def _files(docs: Sequence[MappingDoc]) -> list[tuple[str, str]]:
    """The documents as (file name, text) pairs of `DOCS_PER_FILE` documents each."""
    return [
        (f"mappings-{i:04d}.yaml", join_documents(part))
        for i, part in enumerate(chunk(docs, DOCS_PER_FILE))
    ]


def _parse(files: Sequence[tuple[str, str]]) -> list[RawObject]:
    objects: list[RawObject] = []
    for name, text in files:
        found, problems = parse_documents(text, name)
        if problems:
            raise RuntimeError(f"generated YAML did not parse: {problems[0].describe()}")
        objects.extend(found)
    return objects


def _yaml_load(files: Sequence[tuple[str, str]]) -> None:
    for _, text in files:
        for _doc in yaml.load_all(text, Loader=_LOADER):
            pass


def _cold_build(objects: Sequence[RawObject]) -> tuple[Pipeline, BuildResult]:
    pipeline = Pipeline(CompileOptions())
    gc.collect()
    return pipeline, pipeline.build(Snapshot(tuple(objects)))


def _changed_doc(docs: Sequence[MappingDoc], index: int, step: int) -> str:
    """Document `index` edited in one of three ways: timeout, prefix, or service."""
    original = yaml.load(docs[index].text, Loader=_LOADER)
    spec = dict(original["spec"])
    kind = step % 3
    if kind == 0:
        spec["timeout_ms"] = 1234 + step
    elif kind == 1:
        spec["prefix"] = f"/changed-{step}{spec['prefix']}"
    else:
        spec["service"] = f"svc-{step % 50:02d}.team-{step % 7}:9090"
    return mapping_doc(original["metadata"]["name"], spec.pop("prefix"), spec.pop("service"), spec)


def _counts(result: BuildResult) -> tuple[int, int]:
    gateway = result.compiled.gateway
    routes = sum(len(vh.routes) for rc in gateway.route_configs for vh in rc.virtual_hosts)
    return routes, len(gateway.clusters)


def measure(count: int, changes: int, cold_repeat: int) -> SizeResult:
    """All figures for `count` Mappings."""
    docs = generate_mappings(count)
    files = _files(docs)
    yaml_load_s = best_of(lambda: _yaml_load(files), cold_repeat)
    parse_s = best_of(lambda: _parse(files), cold_repeat)
    objects = _parse(files)
    location = {id(o): o.source.location for o in objects}

    colds: list[tuple[float, float, float]] = []
    pipeline: Pipeline | None = None
    cache = XdsCache()
    for _ in range(cold_repeat):
        pipeline, built = _cold_build(objects)
        cache = XdsCache()
        _, set_s = timed(partial(cache.set_resources, built.resources.by_type_url()))
        colds.append((built.compile_seconds, built.translate_seconds, set_s))
    assert pipeline is not None
    cold = min(colds, key=lambda c: c[0] + c[1])

    rows: list[tuple[float, float, float, float]] = []
    parse_times: list[float] = []
    last: BuildResult | None = None
    for step in range(changes):
        index = (step * 7919 + 13) % count
        text = "---\n" + _changed_doc(docs, index, step)
        where = location[id(objects[index])]
        (found, _), parse_one_s = timed(partial(parse_documents, text, where))
        parse_times.append(parse_one_s)
        objects[index] = found[0]
        location[id(found[0])] = found[0].source.location
        snapshot = Snapshot(tuple(objects))
        last = pipeline.build(snapshot)
        _, set_s = timed(partial(cache.set_resources, last.resources.by_type_url()))
        total = last.compile_seconds + last.translate_seconds + set_s
        rows.append((last.compile_seconds, last.translate_seconds, set_s, total))

    _, full = _cold_build(objects)
    check = XdsCache()
    check.set_resources(full.resources.by_type_url())
    equal = last is None or check.version == cache.version
    routes, clusters = _counts(full)
    rds = sum(len(m.value) for m in full.resources.routes.values())

    def med(i: int) -> float:
        return median([r[i] for r in rows])

    return SizeResult(
        mappings=count,
        yaml_load_s=yaml_load_s,
        parse_s=parse_s,
        cold_compile_s=cold[0],
        cold_translate_s=cold[1],
        cold_set_s=cold[2],
        change_compile_s=med(0),
        change_translate_s=med(1),
        change_set_s=med(2),
        change_total_s=med(3),
        change_p90_s=percentile([r[3] for r in rows], 90),
        change_parse_s=median(parse_times),
        rds_bytes=rds,
        routes=routes,
        clusters=clusters,
        problems=len(full.problems),
        incremental_equals_full=equal,
    )


def _print(results: Sequence[SizeResult]) -> None:
    say("\nCold (fresh caches; best of the repeats):")
    say(
        table(
            [
                (
                    f"{r.mappings:,}",
                    ms(r.yaml_load_s),
                    ms(r.parse_s),
                    ms(r.cold_compile_s),
                    ms(r.cold_translate_s),
                    ms(r.cold_s),
                    times(ratio(r.cold_s, r.yaml_load_s)),
                    ms(r.cold_set_s),
                )
                for r in results
            ],
            (
                "mappings",
                "baseline yaml.load",
                "parse_documents",
                "compile",
                "translate",
                "compile+translate",
                "ratio to baseline",
                "set_resources",
            ),
        )
    )
    say("\nOne changed Mapping, caches warm (median of the changes; total = the three):")
    say(
        table(
            [
                (
                    f"{r.mappings:,}",
                    ms(r.change_parse_s),
                    ms(r.change_compile_s),
                    ms(r.change_translate_s),
                    ms(r.change_set_s),
                    ms(r.change_total_s),
                    ms(r.change_p90_s),
                    times(ratio(r.cold_s + r.cold_set_s, r.change_total_s)),
                    "yes" if r.incremental_equals_full else "NO",
                )
                for r in results
            ],
            (
                "mappings",
                "parse doc",
                "compile",
                "translate",
                "set_resources",
                "total",
                "p90 total",
                "speed-up vs cold",
                "equals full compile",
            ),
        )
    )
    say("\nOutput size:")
    say(
        table(
            [
                (
                    f"{r.mappings:,}",
                    f"{r.routes:,}",
                    f"{r.clusters:,}",
                    f"{r.rds_bytes / 1024:,.0f} KiB",
                    str(r.problems),
                )
                for r in results
            ],
            ("mappings", "Envoy routes (all vhosts)", "clusters", "RDS bytes", "problems"),
        )
    )


def _judge(results: Sequence[SizeResult], report: Report) -> None:
    say(f"\nTargets (at {TARGET_SIZE:,} Mappings):")
    at_target = [r for r in results if r.mappings == TARGET_SIZE]
    if not at_target:
        say(f"  not judged: this run did not include {TARGET_SIZE:,} Mappings")
    for r in results:
        label = f"{r.mappings:,} Mappings"
        judged = r.mappings == TARGET_SIZE
        cold_verdict = verdict(r.cold_s, COLD_TARGET_S) if judged else ""
        change_verdict = verdict(r.change_total_s, CHANGE_TARGET_S) if judged else ""
        report.figure(
            f"cold compile+translate, {label}",
            ms(r.cold_s),
            baseline=f"yaml.load {ms(r.yaml_load_s)}",
            ratio=times(ratio(r.cold_s, r.yaml_load_s)),
            target=f"<= {COLD_TARGET_S:g} s" if judged else "",
            verdict=cold_verdict,
        )
        report.figure(
            f"one change (median), {label}",
            ms(r.change_total_s),
            baseline=f"cold {ms(r.cold_s + r.cold_set_s)}",
            ratio=times(ratio(r.change_total_s, r.cold_s + r.cold_set_s)),
            target=f"<= {CHANGE_TARGET_S * 1000:g} ms" if judged else "",
            verdict=change_verdict,
        )
        if judged:
            say(f"  cold compile+translate {ms(r.cold_s)} <= {COLD_TARGET_S:g} s: {cold_verdict}")
            say(
                f"  one change {ms(r.change_total_s)} <= {CHANGE_TARGET_S * 1000:g} ms: "
                f"{change_verdict}"
            )
        if not r.incremental_equals_full:
            say(f"  WARNING: {label}: incremental output differs from a full compile")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 unless it broke."""
    parser = base_parser(__doc__.splitlines()[0] if __doc__ else "compile benchmark")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=None, help="numbers of Mappings to measure"
    )
    parser.add_argument("--changes", type=int, default=None, help="single-Mapping changes")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([100, 1000] if args.quick else [100, 1000, 10_000])
    changes = args.changes or (8 if args.quick else 20)
    report = Report("compile")
    say(f"== compile benchmark (Python {python_version()}, {DOCS_PER_FILE} Mappings per file)")
    results = []
    for count in sizes:
        say(f"measuring {count:,} Mappings ...")
        results.append(measure(count, changes, cold_repeat=2 if count >= 10_000 else 3))
    _print(results)
    _judge(results, report)
    report.write(args.summary_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
