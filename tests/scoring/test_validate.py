"""`rubric validate` problems, one per error class, each with file:line and a hint.

Broken rubrics are derived in test code from the shipped default rubric by editing its text, so
each case shows the exact line the error must point at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.errors import ConfigError
from clustermax.scoring import check_rubric_file, load_rubric
from clustermax.scoring.validate import default_rubric_path

DEFAULT = default_rubric_path().read_text(encoding="utf-8")
REFS = (default_rubric_path().parent / "references.yaml").read_text(encoding="utf-8")
CATALOG = (default_rubric_path().parent / "metrics.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in text")


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "references.yaml").write_text(REFS, encoding="utf-8")
    (tmp_path / "metrics.yaml").write_text(CATALOG, encoding="utf-8")
    path = tmp_path / "rubric.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# (name, old text, new text, marker of the line the error must name, message fragment, hint fragment)
CASES = [
    (
        "unknown metric",
        "    metric: nccl.busbw_peak_median\n    labels: {collective: all_reduce, scope: intra}",
        "    metric: nccl.busbw_peak_medain\n    labels: {collective: all_reduce, scope: intra}",
        "nccl.busbw_peak_medain",
        "unknown metric 'nccl.busbw_peak_medain'",
        "did you mean 'nccl.busbw_peak_median'",
    ),
    (
        "unknown category",
        "    category: storage\n    title: A default StorageClass exists",
        "    category: storrage\n    title: A default StorageClass exists",
        "category: storrage",
        "criteria[",
        "one of",
    ),
    (
        "category missing from the category list",
        "  - {id: partnerships, title: Partnerships, weight: 3}\n",
        "",
        "category: partnerships",
        "unknown category 'partnerships' (not in categories)",
        "add it under categories",
    ),
    (
        "bad threshold unit",
        '    pass: "50 C"',
        '    pass: "50 Celsius"',
        '"50 Celsius"',
        "unknown unit 'Celsius'",
        None,
    ),
    (
        "threshold unit of another kind",
        '    pass: "30 s"\n    warn: "120 s"',
        '    pass: "30 GB/s"\n    warn: "120 s"',
        '"30 GB/s"',
        "threshold unit GB/s does not convert to the metric's unit s",
        "write the threshold in s",
    ),
    (
        "weights that do not add up",
        "  - {id: pricing, title: Pricing and consumption, weight: 6}",
        "  - {id: pricing, title: Pricing and consumption, weight: 16}",
        "categories:",
        "category weights add up to 110, not 100",
        "sum to 100",
    ),
    (
        "gate naming a missing criterion",
        "      - nccl-wrong\n",
        "      - nccl-wrongg\n",
        "- nccl-wrongg",
        "gate names a missing criterion 'nccl-wrongg'",
        "did you mean 'nccl-wrong'",
    ),
    (
        "unknown key",
        '    soft: true\n    source: "NVIDIA driver persistence guidance',
        '    sotf: true\n    source: "NVIDIA driver persistence guidance',
        "sotf: true",
        "unknown key 'sotf'",
        "docs/scoring.md",
    ),
    (
        "unknown label",
        "    labels: {collective: all_reduce, scope: intra}",
        "    labels: {collective: all_reduce, scop: intra}",
        "scop: intra",
        "has no label 'scop'",
        None,
    ),
    (
        "unknown reference figure",
        "    pass: {reference: gpu.memory_total, factor: 0.95}",
        "    pass: {reference: gpu.memory_totl, factor: 0.95}",
        "gpu.memory_totl",
        "unknown hardware reference 'gpu.memory_totl'",
        "did you mean 'gpu.memory_total'",
    ),
    (
        "duplicate criterion id",
        "  - id: slurm-epilog\n",
        "  - id: slurm-prolog\n",
        "- id: slurm-prolog",  # the first line with it is the original; the error names the second
        "criterion id 'slurm-prolog' is used twice",
        None,
    ),
    (
        "numeric aggregate on a text metric",
        "    metric: gpu.dcgm_diag\n    aggregate: all",
        "    metric: gpu.dcgm_diag\n    aggregate: mean",
        "aggregate: mean",
        "aggregate 'mean' needs numbers, but the metric is text",
        "use all, any",
    ),
    (
        "unknown subject metric",
        "    subject: IB/RoCE port\n    metric: fabric.ports\n",
        "    subject: IB/RoCE port\n    metric: fabric.portz\n",
        "metric: fabric.portz",
        "subject 'port': applies_when names an unknown metric 'fabric.portz'",
        "did you mean 'fabric.ports'",
    ),
    (
        "subject metric that cannot count",
        "    subject: IB/RoCE port\n    metric: fabric.ports\n",
        "    subject: IB/RoCE port\n    metric: fabric.nic_rate\n",
        "metric: fabric.nic_rate",
        "applies_when metric 'fabric.nic_rate' is in Gb/s; its value cannot count a subject",
        "count: values",
    ),
    (
        "subject amount not positive",
        "    subject: Slurm node\n    metric: slurm.nodes_total\n",
        "    subject: Slurm node\n    metric: slurm.nodes_total\n    at_least: 0\n",
        "at_least: 0",
        "subjects.slurm-node.at_least: Input should be greater than 0",
        None,
    ),
    (
        "unknown named subject",
        '    applies_when: [port]\n    remediation: "IB/RoCE ports are down',
        '    applies_when: [prot]\n    remediation: "IB/RoCE ports are down',
        "applies_when: [prot]",
        "criterion 'fabric-ports-down': applies_when names an unknown subject 'prot'",
        "did you mean 'port'",
    ),
    (
        "inline subject with an unknown label",
        '    applies_when: [port]\n    remediation: "IB/RoCE ports are down',
        "    applies_when: [{subject: port, metric: fabric.ports, labels: {device: mlx5_0}}]\n"
        '    remediation: "IB/RoCE ports are down',
        "labels: {device: mlx5_0}",
        "applies_when metric 'fabric.ports' has no label 'device' (source)",
        None,
    ),
    (
        "min_samples below 2",
        "    min_samples: {count: 2, label: runs, of: runs}",
        "    min_samples: 1",
        "min_samples: 1",
        "min_samples.count: Input should be greater than or equal to 2",
        None,
    ),
    (
        "min_samples label the metric does not have",
        "    min_samples: {count: 2, label: runs, of: runs}",
        "    min_samples: {count: 2, label: run, of: runs}",
        "label: run, of",
        "min_samples label 'run' is no label of metric 'nccl.busbw_peak_spread'",
        "sample count",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "marker", "message", "hint"), CASES, ids=[c[0] for c in CASES]
)
def test_each_error_class_names_file_and_line(
    tmp_path: Path, name: str, old: str, new: str, marker: str, message: str, hint: str | None
) -> None:
    assert old in DEFAULT, f"fixture text for {name!r} not found in the default rubric"
    text = DEFAULT.replace(old, new, 1)
    path = _write(tmp_path, text)
    rubric, problems = check_rubric_file(path)
    assert rubric is None
    match = [p for p in problems if message in p.message]
    assert match, [p.render() for p in problems]
    lines = [i for i, line in enumerate(text.splitlines(), 1) if marker in line]
    expected_line = lines[-1] if name == "duplicate criterion id" else lines[0]
    assert match[0].line == expected_line, match[0].render()
    rendered = match[0].render()
    assert rendered.startswith(f"{path}:{expected_line}: ")
    if hint:
        assert hint in rendered


def test_yaml_syntax_error_has_its_line(tmp_path: Path) -> None:
    text = DEFAULT.replace("warn_credit: 0.5", "warn_credit: [0.5", 1)
    path = _write(tmp_path, text)
    _, problems = check_rubric_file(path)
    assert len(problems) == 1
    assert "invalid YAML" in problems[0].message
    assert problems[0].line is not None and problems[0].line >= _line_of(text, "warn_credit: [0.5")


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    text = DEFAULT.replace("warn_credit: 0.5\n", "warn_credit: 0.5\nwarn_credit: 0.6\n", 1)
    _, problems = check_rubric_file(_write(tmp_path, text))
    assert any(
        p.message == "duplicate key warn_credit" and p.line == _line_of(text, "warn_credit: 0.6")
        for p in problems
    )


def test_all_problems_are_reported_not_just_the_first(tmp_path: Path) -> None:
    text = DEFAULT.replace("      - nccl-wrong\n", "      - nccl-wrongg\n", 1).replace(
        "  - {id: pricing, title: Pricing and consumption, weight: 6}",
        "  - {id: pricing, title: Pricing and consumption, weight: 7}",
    )
    _, problems = check_rubric_file(_write(tmp_path, text))
    assert len(problems) == 2


def test_load_rubric_raises_config_error_with_location(tmp_path: Path) -> None:
    path = _write(tmp_path, DEFAULT.replace("      - nccl-wrong\n", "      - nccl-wrongg\n", 1))
    with pytest.raises(ConfigError) as info:
        load_rubric(path)
    assert info.value.line == _line_of(path.read_text(), "- nccl-wrongg")
    assert info.value.exit_code == 2


def test_missing_rubric_file() -> None:
    _, problems = check_rubric_file("no/such/rubric.yaml")
    assert problems[0].message.startswith("cannot read")


def test_shipped_rubric_is_valid() -> None:
    rubric, problems = check_rubric_file(default_rubric_path())
    assert problems == [] and rubric is not None
    assert len(rubric.sha256) == 64
