"""Every detector against every recorded output: a file gets a kind only when its structure is that tool's.

The matrix crosses every fixture of every parser kind, and texts that are no tool output at all (this
repository's README and docs, the provenance sidecars, Kubernetes objects that are not nodes, an
amd-smi output no parser reads, shell history, a binary file), with every registered detector:

* a fixture is recognised as its own kind (the few exceptions below are outputs too partial to tell,
  and stay importable with ``--kind``);
* no detector claims another kind's fixture, or any of the texts that are no tool output
  (confidence below ``MIN_CONFIDENCE``, the import's threshold).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.registry import MIN_CONFIDENCE, PARSERS, detect, recognise

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"

PARTIAL = {
    # a bare job id (sbatch --parsable): any one-number text looks like it
    ("slurm-messages", "dev-22.05.8-sbatch-parsable.txt"),
    # the Labels block of kubectl describe node without the Name/Capacity lines
    ("kubectl-nodes", "labels-describe-device-plugin-1501.txt"),
}

SHELL_HISTORY = """\
ls -la
cd /shared/nccl-tests/build
./all_reduce_perf -b 8 -e 8G -f 2 -g 8
nvidia-smi --query-gpu=index,name,driver_version --format=csv
sinfo -N -l
squeue -u $USER
dmesg -T | grep -i xid
sudo journalctl -k --since today | grep 'fallen off the bus'
kubectl get nodes -o json | jq '.items[].metadata.labels'
dcgmi diag -r 2
ibstat
exit
"""


def fixtures() -> list[tuple[str, Path]]:
    return [
        (kind, p)
        for kind in sorted(PARSERS)
        for p in sorted((DATA / kind).iterdir())
        if p.is_file() and p.suffix != ".source"
    ]


def not_tool_output() -> list[tuple[str, str]]:
    """(name, text) of texts no parser may claim."""
    texts = [("README.md", (ROOT / "README.md").read_text())]
    texts += [(f"docs/{p.name}", p.read_text()) for p in sorted((ROOT / "docs").glob("*.md"))]
    texts += [(str(p.relative_to(DATA)), p.read_text()) for p in sorted(DATA.rglob("*.source"))]
    texts += [
        (str(p.relative_to(DATA)), p.read_text())
        for p in sorted((DATA / "k8s-objects").iterdir())
        if p.suffix in (".yaml", ".json") and not p.name.startswith("nodes-")
    ]
    texts += [(str(p.relative_to(DATA)), p.read_text()) for p in sorted((DATA / "amd-smi").glob("*.txt"))]
    texts += [("pyproject.toml", (ROOT / "pyproject.toml").read_text())]
    texts += [("shell history", SHELL_HISTORY)]
    texts += [("binary", bytes(range(256)).decode("latin-1") * 64)]
    return texts


FIXTURES = fixtures()
OTHERS = not_tool_output()


def test_matrix_size() -> None:
    """The size the issue's closing note reports: (fixtures + other texts) x detectors."""
    size = (len(FIXTURES) + len(OTHERS)) * len(PARSERS)
    assert len(PARSERS) == 15 and len(FIXTURES) >= 150 and len(OTHERS) >= 200
    assert size >= 5000


@pytest.mark.parametrize(("kind", "path"), FIXTURES, ids=[f"{k}/{p.name}" for k, p in FIXTURES])
def test_fixture_is_its_own_kind_only(kind: str, path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace")
    scores = {other: PARSERS[other].detect(text) for other in PARSERS}
    claimed = {other: c for other, c in scores.items() if other != kind and c >= MIN_CONFIDENCE}
    assert not claimed, f"{kind}/{path.name} is claimed by {claimed}"
    if (kind, path.name) not in PARTIAL:
        assert scores[kind] >= MIN_CONFIDENCE, f"{kind}/{path.name}: own detector says {scores[kind]}"
        assert recognise(text).kind == kind


@pytest.mark.parametrize(("name", "text"), OTHERS, ids=[name for name, _ in OTHERS])
def test_no_detector_claims_what_is_no_tool_output(name: str, text: str) -> None:
    claimed = [(kind, c) for kind, c in detect(text) if c >= MIN_CONFIDENCE]
    assert not claimed, f"{name} is claimed by {claimed}"
    found = recognise(text)
    assert found.kind is None and found.reason


def test_reasons_say_what_the_text_is() -> None:
    said = {name: recognise(text).reason for name, text in OTHERS}
    assert said["README.md"].startswith("prose or Markdown (")
    assert said["shell history"] == "shell commands (a history or a script), not their output"
    assert said["binary"] == "no tool output's structure in it"
    assert said["k8s-objects/pod-cuda-vectoradd.yaml"].startswith("a YAML document (key: value)")
    assert said["k8s-objects/version-v1.19.2.json"].startswith("JSON that no parser reads")
    sidecar = next(r for n, r in said.items() if n.endswith(".source"))
    assert sidecar.startswith("a YAML document")
