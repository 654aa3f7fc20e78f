"""Helpers shared by the benchmarks: generated Mappings, statistics, targets, reporting.

Every benchmark prints its figures, a baseline measured in the same run (the machine
is shared and noisy, so ratios travel better than absolute numbers) and its targets
with PASS/MISS. A miss is not a failure: only a broken benchmark exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

MIB = 1024 * 1024

HOSTNAMES: tuple[str, ...] = ("api.example.com", "shop.example.com", "admin.example.com")
"""The few explicit hostnames some Mappings use; the rest match any host (`*`)."""

_WORDS: tuple[str, ...] = (
    "users", "orders", "items", "cart", "search", "auth", "billing", "reports", "media",
    "profile", "settings", "events", "stats", "export", "import", "health", "feed", "tags",
)  # fmt: skip


# --- generated configuration ---------------------------------------------------------


def dns_services(count: int = 50) -> list[str]:
    """`count` distinct Kubernetes-style services (`name.namespace:port`)."""
    return [f"svc-{i:02d}.team-{i % 7}:{8080 + i % 3}" for i in range(count)]


@dataclass(frozen=True)
class MappingDoc:
    """One generated Mapping: its name, and its YAML document (without `---`)."""

    name: str
    text: str


def _prefix(rng: random.Random, index: int) -> str:
    """A path prefix of depth 1–4, unique per index (the index is in the first segment)."""
    depth = rng.choices((1, 2, 3, 4), weights=(2, 4, 3, 1))[0]
    parts = [f"{rng.choice(_WORDS)}-{index}"]
    parts += [rng.choice(_WORDS) for _ in range(depth - 1)]
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(("v1", "v2", "api")))
    return "/" + "/".join(parts) + "/"


def _scalar(value: object) -> str:
    """A YAML scalar for the simple values the generator uses."""
    if value is True:
        return "true"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def _block(data: dict[str, object], indent: str) -> list[str]:
    """Nested string-keyed dicts of simple scalars as YAML block lines."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.extend(_block(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {_scalar(value)}")
    return lines


def mapping_doc(name: str, prefix: str, service: str, spec: dict[str, object] | None = None) -> str:
    """A getambassador.io/v3alpha1 Mapping as one YAML document (no leading `---`).

    Written by hand rather than by `yaml.safe_dump`, which is slow for 10,000 documents.
    """
    body = {"prefix": prefix, "service": service, **(spec or {})}
    lines = [
        "apiVersion: getambassador.io/v3alpha1",
        "kind: Mapping",
        "metadata:",
        f"  name: {name}",
        "  namespace: default",
        "spec:",
        *_block(body, "  "),
    ]
    return "\n".join(lines) + "\n"


def generate_mappings(
    count: int, services: Sequence[str] | None = None, seed: int = 1
) -> list[MappingDoc]:
    """`count` Mappings with a realistic mix, deterministic for a given seed.

    Prefixes of depth 1–4; ~10% with a hostname, ~10% with a method, ~8% with header
    matches, some rewrites, timeouts and added headers; ~10% of routes are canary
    groups of 2–3 Mappings (same match, weights on all but the primary).
    """
    rng = random.Random(seed)
    services = list(services) if services is not None else dns_services()
    out: list[MappingDoc] = []
    route = 0
    while len(out) < count:
        spec: dict[str, object] = {}
        if rng.random() < 0.10:
            spec["hostname"] = rng.choice(HOSTNAMES)
        if rng.random() < 0.10:
            spec["method"] = rng.choice(("GET", "POST", "PUT", "DELETE"))
        if rng.random() < 0.08:
            spec["headers"] = {"x-tenant": f"t{rng.randrange(20)}"}
            if rng.random() < 0.3:
                spec["headers"] = {"x-tenant": f"t{rng.randrange(20)}", "x-debug": True}
        if rng.random() < 0.15:
            spec["rewrite"] = rng.choice(("/", "/internal/"))
        if rng.random() < 0.15:
            spec["timeout_ms"] = rng.choice((1000, 5000, 10000))
        if rng.random() < 0.05:
            spec["add_response_headers"] = {"x-served-by": "legation"}
        prefix = _prefix(rng, route)
        size = rng.choice((2, 2, 3)) if rng.random() < 0.10 else 1
        size = min(size, count - len(out))
        for member in range(size):
            member_spec = dict(spec)
            if member > 0:
                member_spec["weight"] = rng.choice((5, 10, 20))
            name = f"m{route:05d}" + (f"-canary{member}" if member else "")
            service = services[rng.randrange(len(services))]
            out.append(MappingDoc(name, mapping_doc(name, prefix, service, member_spec)))
        route += 1
    return out


def join_documents(docs: Sequence[MappingDoc]) -> str:
    """Several documents as one multi-document YAML text."""
    return "".join("---\n" + d.text for d in docs)


def chunk(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def write_config_files(folder: Path, docs: Sequence[MappingDoc], per_file: int = 100) -> int:
    """Write `docs` as `mappings-NNNN.yaml` files of `per_file` documents; returns the count."""
    folder.mkdir(parents=True, exist_ok=True)
    files = chunk(docs, per_file)
    for index, part in enumerate(files):
        (folder / f"mappings-{index:04d}.yaml").write_text(join_documents(part))
    return len(files)


# --- measuring -----------------------------------------------------------------------


def timed(func: Callable[[], T]) -> tuple[T, float]:
    """Call `func`; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = func()
    return result, time.perf_counter() - start


def best_of(func: Callable[[], object], repeat: int) -> float:
    """The fastest of `repeat` timed calls, in seconds (the least noisy estimate)."""
    return min(timed(func)[1] for _ in range(max(1, repeat)))


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0–100) by the nearest-rank method; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    """The median, NaN when empty."""
    return statistics.median(values) if values else math.nan


def ratio(value: float, baseline: float) -> float:
    """`value / baseline`, NaN when the baseline is not positive."""
    return value / baseline if baseline > 0 else math.nan


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- reporting -----------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as a millisecond string."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f} ms"


def times(value: float) -> str:
    """A ratio as `12.3x`."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}x" if value < 1 else f"{value:.1f}x"


@dataclass(frozen=True)
class Figure:
    """One headline figure of a benchmark, for the summary table of `run_all.py`."""

    benchmark: str
    name: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


@dataclass
class Report:
    """Collects headline figures and writes them where `run_all.py` can read them."""

    benchmark: str
    figures: list[Figure] = field(default_factory=list)

    def figure(
        self,
        name: str,
        value: str,
        *,
        baseline: str = "",
        ratio: str = "",
        target: str = "",
        verdict: str = "",
    ) -> None:
        """Record one headline figure."""
        self.figures.append(Figure(self.benchmark, name, value, baseline, ratio, target, verdict))

    def write(self, path: Path | None) -> None:
        """Write the figures as JSON to `path` (if given)."""
        if path is not None:
            path.write_text(json.dumps([asdict(f) for f in self.figures], indent=1))


def verdict(value: float, limit: float) -> str:
    """PASS when `value` is at most `limit`, MISS otherwise (or when not measured)."""
    if math.isnan(value):
        return "MISS (not measured)"
    return "PASS" if value <= limit else "MISS"


def say(text: str = "") -> None:
    """Print and flush, so a parent process shows progress as it happens."""
    print(text, flush=True)


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain-text table with left-aligned columns."""
    cells = [list(header), *[list(r) for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def base_parser(description: str) -> argparse.ArgumentParser:
    """Arguments every benchmark takes: `--quick` and `--summary-json`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a faster, smaller smoke run")
    parser.add_argument(
        "--summary-json", type=Path, default=None, help="write headline figures here (run_all)"
    )
    return parser


def python_version() -> str:
    """The running interpreter's version, for the header of each benchmark."""
    return sys.version.split()[0]
