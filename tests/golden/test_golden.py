"""Golden files: tests/golden/<case>/in.yaml → ir.yaml, problems.yaml, listeners.yaml,
routes.yaml, clusters.yaml, and a file for every other non-empty xDS collection
(endpoints.yaml, secrets.yaml, ...). Run `make golden` (pytest --update-golden) to
regenerate.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from legation.compile.compiler import CompileOptions
from legation.ir.serialize import to_data
from legation.runtime.pipeline import Pipeline
from legation.sources.cert_files import read_named_files
from legation.sources.files import FolderReader

HERE = Path(__file__).parent
CASES = sorted(p.name for p in HERE.iterdir() if (p / "in.yaml").exists())
OUTPUTS = ("ir.yaml", "problems.yaml", "listeners.yaml", "routes.yaml", "clusters.yaml")


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def render(case_dir: Path) -> dict[str, str]:
    """Every output file of a case, as text."""
    snapshot = FolderReader(case_dir).read()
    # the certificate files a case names (absolute paths only: the folder is a copy)
    files = read_named_files(snapshot.objects, case_dir)
    result = Pipeline(CompileOptions()).build(dataclasses.replace(snapshot, files=files))
    envoy = result.resources.to_data()
    outputs = {
        "ir.yaml": _dump(to_data(result.compiled.gateway)),
        "problems.yaml": _dump([p.describe() for p in result.problems]),
        "listeners.yaml": _dump(envoy["listeners"]),
        "routes.yaml": _dump(envoy["routes"]),
        "clusters.yaml": _dump(envoy["clusters"]),
    }
    assert set(outputs) == set(OUTPUTS)
    documents = result.compiled.gateway.ratelimit.documents
    if documents:  # the bundled limiter's configuration, one document per domain
        outputs["limiter.yaml"] = "".join(f"---\n{d.text}" for d in documents)
    for collection, items in envoy.items():
        if items and f"{collection}.yaml" not in outputs:
            outputs[f"{collection}.yaml"] = _dump(items)
    return outputs


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, request: pytest.FixtureRequest) -> None:
    """The pipeline's output for each case equals its golden files, byte for byte."""
    case_dir = HERE / case
    # Only in.yaml is input: the reader must not see the outputs.
    outputs = render_isolated(case_dir)
    if request.config.getoption("--update-golden"):
        for stale in case_dir.glob("*.yaml"):
            if stale.name != "in.yaml" and stale.name not in outputs:
                stale.unlink()
        for name, text in outputs.items():
            (case_dir / name).write_text(text)
        return
    for name, text in outputs.items():
        expected = (case_dir / name).read_text()
        assert text == expected, f"{case}/{name} differs; run `make golden` and read the diff"


def render_isolated(case_dir: Path) -> dict[str, str]:
    """Render a case from a copy of its in.yaml alone, so outputs are never read back."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(case_dir / "in.yaml", Path(tmp) / "in.yaml")
        return render(Path(tmp))


def test_output_is_deterministic() -> None:
    """Rendering twice gives identical bytes (stable names, sorted collections)."""
    for case in CASES:
        assert render_isolated(HERE / case) == render_isolated(HERE / case)


def test_no_key_or_certificate_bytes_in_outputs() -> None:
    """Secrets show placeholders: no PEM block, no base64 of an input's PEM, anywhere."""
    for case in CASES:
        text = (HERE / case / "in.yaml").read_text()
        # PEM body lines (stringData) and base64 of whole PEM files (data)
        blobs = set(re.findall(r"[A-Za-z0-9+/=]{60,}", text))
        for name, output in render_isolated(HERE / case).items():
            assert "-----BEGIN" not in output, f"{case}/{name}"
            assert not [b for b in blobs if b in output], f"{case}/{name}"
