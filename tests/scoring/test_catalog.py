"""The metric catalog (rubrics/metrics.yaml): in step with the probe specs, and all scoring reads of them."""

from __future__ import annotations

import builtins
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clustermax.models.probe import ProbeSpec
from clustermax.scoring import check_rubric_file, score_bundle
from clustermax.scoring.validate import default_rubric_path, metric_catalog

from . import factory as f

ROOT = Path(__file__).resolve().parents[2]


def test_catalog_is_what_the_script_builds_from_the_probe_specs() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_metric_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "rubrics/metrics.yaml up to date"


def test_catalog_units_and_probes_equal_the_specs() -> None:
    declared = {}
    for spec_file in sorted((ROOT / "probes").glob("*/probe.yaml")):
        spec = ProbeSpec.model_validate(yaml.safe_load(spec_file.read_text(encoding="utf-8")))
        for metric in spec.metrics:
            declared[metric.name] = (spec.id, metric.unit.value, frozenset(metric.labels))
    assert {k: (v.probe, v.unit.value, v.labels) for k, v in metric_catalog().items()} == declared


def test_a_stale_catalog_is_caught(tmp_path: Path) -> None:
    # the same check on a copy of the repository's probes with one unit changed
    script = (ROOT / "scripts" / "make_metric_catalog.py").read_text(encoding="utf-8")
    probes = tmp_path / "probes"
    for spec_file in (ROOT / "probes").glob("*/probe.yaml"):
        (probes / spec_file.parent.name).mkdir(parents=True)
        (probes / spec_file.parent.name / "probe.yaml").write_text(spec_file.read_text(encoding="utf-8"))
    spec = probes / "system_info" / "probe.yaml"
    spec.write_text(spec.read_text().replace("unit: GiB", "unit: MiB", 1))
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "metrics.yaml").write_text((ROOT / "rubrics" / "metrics.yaml").read_text())
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "make_metric_catalog.py").write_text(
        script.replace('sys.path.insert(0, str(ROOT / "src"))', f"sys.path.insert(0, {str(ROOT / 'src')!r})")
    )
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / "make_metric_catalog.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "rubrics/metrics.yaml is out of date" in proc.stdout
    assert '"unit": "MiB"' in proc.stdout


def test_scoring_opens_no_probe_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_open, real_read_text, real_read_bytes = builtins.open, Path.read_text, Path.read_bytes

    def spy_open(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    def spy_text(self: Path, *args: object, **kwargs: object) -> str:
        opened.append(str(self))
        return real_read_text(self, *args, **kwargs)  # type: ignore[arg-type]

    def spy_bytes(self: Path) -> bytes:
        opened.append(str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(Path, "read_text", spy_text)
    monkeypatch.setattr(Path, "read_bytes", spy_bytes)
    rubric, problems = check_rubric_file(default_rubric_path())  # validation included
    assert rubric is not None and not problems
    result = score_bundle(f.clean_h100_slurm(), rubric)
    assert result.tier_ceiling is not None
    assert any(p.endswith("metrics.yaml") for p in opened)
    assert not [p for p in opened if "probe.yaml" in p or "/probes/" in p], opened


def test_a_rubric_without_its_catalog_names_the_file(tmp_path: Path) -> None:
    text = default_rubric_path().read_text(encoding="utf-8")
    assert "\nreferences: references.yaml\n" in text
    text = text.replace(
        "\nreferences: references.yaml\n", "\nreferences: references.yaml\nmetrics: metrics.yaml\n"
    )
    (tmp_path / "references.yaml").write_text((default_rubric_path().parent / "references.yaml").read_text())
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    rubric, problems = check_rubric_file(path)
    assert rubric is None  # a rubric that names its own catalog needs it next to it
    assert [p.render() for p in problems] == [
        f"{tmp_path / 'metrics.yaml'}: cannot read the metric catalog: No such file or directory "
        "(hint: rubrics/metrics.yaml is written by scripts/make_metric_catalog.py)"
    ]
    # without `metrics:` a rubric uses the catalog shipped with clustermax
    path.write_text(text.replace("\nmetrics: metrics.yaml", "\n# metrics: shipped"))
    rubric, problems = check_rubric_file(path)
    assert problems == [] and rubric is not None


def test_a_copy_of_the_default_rubric_uses_the_shipped_catalog(tmp_path: Path) -> None:
    (tmp_path / "references.yaml").write_text((default_rubric_path().parent / "references.yaml").read_text())
    path = tmp_path / "rubric.yaml"
    path.write_text(default_rubric_path().read_text(encoding="utf-8"))
    rubric, problems = check_rubric_file(path)
    assert rubric is not None and not problems
