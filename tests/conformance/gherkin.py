"""A tiny Gherkin reader: just enough for the ingress-controller-conformance features.

Reads `Feature`, `Background`, `Scenario`, `Scenario Outline` + `Examples`, steps
(`Given` / `When` / `Then` / `And` / `But`), doc strings (`\"\"\"`) and data tables.
Outlines are expanded: `<name>` placeholders take each Examples row's values (an empty
cell is an empty string); an outline without Examples runs once as written.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

STEP_KEYWORDS = ("Given ", "When ", "Then ", "And ", "But ")


@dataclass
class Step:
    """One step: its text after the keyword, and an optional doc string or table."""

    text: str
    doc: str | None = None
    table: list[list[str]] | None = None


@dataclass
class Scenario:
    """A runnable scenario (outlines already expanded)."""

    feature: str
    name: str
    steps: list[Step] = field(default_factory=list)


@dataclass
class Feature:
    """A feature file: its background steps and scenarios."""

    name: str
    path: Path
    background: list[Step] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"<{key}>", value)
    return text


def _expand(
    name: str, steps: list[Step], examples: list[list[str]]
) -> list[tuple[str, list[Step]]]:
    if len(examples) < 2:
        return [(name, steps)]
    header, out = examples[0], []
    for row in examples[1:]:
        values = dict(zip(header, row, strict=True))
        filled = [
            Step(_fill(s.text, values), _fill(s.doc, values) if s.doc else None, s.table)
            for s in steps
        ]
        label = ", ".join(f"{k}={v!r}" for k, v in values.items())
        out.append((f"{name} [{label}]", filled))
    return out


def parse_feature(path: Path) -> Feature:
    """Read one .feature file."""
    lines = path.read_text().splitlines()
    feature = Feature(name=path.stem, path=path)
    block: str | None = None  # background | scenario | examples
    name, steps, examples, outline = "", [], [], False

    def flush() -> None:
        if block in ("scenario", "examples"):
            for label, expanded in _expand(name, steps, examples if outline else []):
                feature.scenarios.append(Scenario(feature.name, label, expanded))

    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        i += 1
        if line.startswith("Feature:"):
            feature.name = line.removeprefix("Feature:").strip()
        elif line.startswith("Background:"):
            block, steps = "background", feature.background
        elif line.startswith(("Scenario:", "Scenario Outline:")):
            flush()
            outline = line.startswith("Scenario Outline:")
            name, steps, examples = line.split(":", 1)[1].strip(), [], []
            block = "scenario"
            while (
                i < len(lines)
                and lines[i].strip()
                and not lines[i].strip().startswith(STEP_KEYWORDS)
            ):  # a name that goes on over more lines
                name += " " + lines[i].strip()
                i += 1
        elif line.startswith("Examples:"):
            block = "examples"
        elif line.startswith('"""'):
            indent = len(raw) - len(raw.lstrip())
            body: list[str] = []
            while not lines[i].strip().startswith('"""'):
                body.append(lines[i][indent:] if lines[i].strip() else "")
                i += 1
            i += 1
            steps[-1].doc = textwrap.dedent("\n".join(body)) + "\n"
        elif line.startswith("|"):
            if block == "examples":
                examples.append(_cells(line))
            else:
                steps[-1].table = [*(steps[-1].table or []), _cells(line)]
        elif line.startswith(STEP_KEYWORDS) and block in ("background", "scenario"):
            steps.append(Step(line.split(" ", 1)[1].strip()))
    flush()
    return feature


def parse_features(folder: Path) -> list[Feature]:
    """Every .feature file under `folder`, sorted by file name."""
    return [parse_feature(p) for p in sorted(folder.glob("*.feature"))]
