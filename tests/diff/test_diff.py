"""`clustermax diff` on the golden bundles and on pairs imported from recorded real outputs, exact text.

The pairs are built with `clustermax import` (SOURCE_DATE_EPOCH fixed) from fixtures under tests/data:
an 8 x H100 node whose fabric manager stopped (nccl-tests issue 264: CUDA 'system not yet initialized'),
a 4-GPU workstation that lost GPU1 (an operations log), a node whose kernel log shows a new Xid 79, and a
driver update. The expected text was read and checked by hand: a change in the output must be deliberate.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.history.conftest import cmx, import_bundle

PAIRS: dict[str, tuple[list[str], list[str]]] = {
    "fabric_manager_down": (
        [
            "--provider",
            "example-h100",
            "--cluster",
            "h100-ndr",
            "--profile",
            "gpu_model=H100-SXM",
            "--profile",
            "fabric=infiniband-ndr",
            "--profile",
            "nic_count=8",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
        [
            "--provider",
            "example-h100",
            "--cluster",
            "h100-ndr",
            "--profile",
            "gpu_model=H100-SXM",
            "--profile",
            "fabric=infiniband-ndr",
            "--profile",
            "nic_count=8",
            "--profile",
            "gpus_per_node=8",
            "tests/data/history-pairs/h100x8-fabric-manager-down-issue264.log",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
    ),
    "gpu_lost": (
        [
            "--provider",
            "dfch",
            "--cluster",
            "sys0",
            "--host",
            "sys0",
            "--kind",
            "nvidia-smi",
            "--profile",
            "gpus_per_node=4",
            "tests/data/history-pairs/rtxpro6000x4-610-table.txt",
        ],
        [
            "--provider",
            "dfch",
            "--cluster",
            "sys0",
            "--host",
            "sys0",
            "--kind",
            "nvidia-smi",
            "--profile",
            "gpus_per_node=4",
            "tests/data/history-pairs/rtxpro6000x4-610-gpu1-lost.txt",
        ],
    ),
    "new_xid_79": (
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node7",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
            "tests/data/xid/dmesg-ctime-gpud-13-109.log",
        ],
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node7",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
            "tests/data/xid/dmesg-fallen-off-bus-no-xid.log",
        ],
    ),
    "driver_update": (
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node3",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-560-persistence-off.txt",
        ],
        [
            "--provider",
            "lab",
            "--cluster",
            "hgx",
            "--host",
            "node3",
            "--profile",
            "gpus_per_node=8",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
        ],
    ),
}

EXPECTED_DIR = Path(__file__).resolve().parents[1] / "data" / "diff-expected"
"""The exact text of each diff (evidence digests as <sha256> for the pairs, whose import folders move)."""


def expected(name: str) -> str:
    return (EXPECTED_DIR / f"{name}.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("pairs")
    return {
        name: (import_bundle(base / f"{name}-old", *old), import_bundle(base / f"{name}-new", *new))
        for name, (old, new) in PAIRS.items()
    }


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_pairs_from_real_outputs(pairs: dict[str, tuple[Path, Path]], name: str) -> None:
    old, new = pairs[name]
    proc = cmx("diff", str(old), str(new))
    assert proc.returncode == 0, proc.stderr
    # the evidence digest covers the import's command line (its --out folder): the only part that moves
    assert _digest.sub("evidence <sha256>", proc.stdout) == expected(name)


_digest = re.compile(r"evidence [0-9a-f]{12}")


GOLDEN_PAIRS = [
    ("golden_healthy_to_failing", "h100-healthy-ndr", "h100-failing-health"),
    ("golden_smi_only_to_healthy", "h100-smi-only", "h100-healthy-ndr"),
]


@pytest.mark.parametrize(("name", "old", "new"), GOLDEN_PAIRS)
def test_golden_bundles(name: str, old: str, new: str) -> None:
    proc = cmx("diff", f"tests/data/bundles/{old}", f"tests/data/bundles/{new}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected(name)


def test_same_bundle_changes_nothing() -> None:
    proc = cmx(
        "diff", "tests/data/bundles/h100-healthy-ndr", "tests/data/bundles/h100-healthy-ndr", "-f", "json"
    )
    data = json.loads(proc.stdout)
    assert data["tier_direction"] is None
    for key in (
        "criteria",
        "metrics",
        "findings",
        "probes",
        "nodes",
        "regressions",
        "evidence_lost",
        "warnings",
    ):
        assert data[key] == [], key


def test_formats_agree(pairs: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    old, new = pairs["gpu_lost"]
    data = json.loads(cmx("diff", str(old), str(new), "--format", "json").stdout)
    assert data["schema_version"] == 1
    assert [(c["id"], c["before"], c["after"], c["direction"]) for c in data["criteria"]] == [
        ("gpu-count-ok", "pass", "fail", "worse"),
        ("gpu-idle-temperature", "pass", "fail", "worse"),
    ]
    assert data["nodes"][0]["host"] == "sys0" and data["nodes"][0]["worse"] is True
    md = cmx("diff", str(old), str(new), "--format", "markdown").stdout
    assert "| worse | gpu-count-ok | pass | fail | All expected GPUs visible |" in md
    assert (
        "**Tier: Not rated \\(Underperforming to Platinum\\) → Underperforming \\(Underperforming\\): worse**"
        in md
    )
    out = tmp_path / "diff.html"
    proc = cmx("diff", str(old), str(new), "--format", "html", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert '<td class="worse">worse</td><td>gpu-count-ok</td><td>pass</td><td>fail</td>' in page


def test_remote_strings_are_escaped(tmp_path: Path) -> None:
    """A host name from the bundle with escapes and markup reaches no output as such."""
    hostile = "node1\x1b]0;pwned\x07<img src=x onerror=alert(1)>"
    old = import_bundle(tmp_path / "old", "--provider", "p", "--cluster", "c", "--host", hostile,
                        "tests/data/nvidia-smi/h100x8-560-persistence-off.txt")  # fmt: skip
    new = import_bundle(tmp_path / "new", "--provider", "p", "--cluster", "c", "--host", hostile,
                        "tests/data/nvidia-smi/h100x8-565-table.txt")  # fmt: skip
    term = cmx("diff", str(old), str(new)).stdout
    assert "\x1b" not in term and "\x07" not in term and "driver 560.35.03 -> 565.57.01 (better)" in term
    assert "<img" not in cmx("diff", str(old), str(new), "-f", "markdown").stdout
    html = cmx("diff", str(old), str(new), "-f", "html").stdout
    assert "<img" not in html and "&lt;img" in html


def test_missing_bundle_is_one_line() -> None:
    proc = cmx("diff", "tests/data/bundles/h100-healthy-ndr", "no/such/bundle")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no/such/bundle: bundle not found")
    assert "Traceback" not in proc.stderr


def regen() -> None:
    """Write the expected texts from today's output: read the changes (git diff) before committing them."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for name, (old, new) in PAIRS.items():
            a = import_bundle(base / f"{name}-old", *old)
            b = import_bundle(base / f"{name}-new", *new)
            text = _digest.sub("evidence <sha256>", cmx("diff", str(a), str(b)).stdout)
            (EXPECTED_DIR / f"{name}.txt").write_text(text, encoding="utf-8")
    for name, old, new in GOLDEN_PAIRS:
        text = cmx("diff", f"tests/data/bundles/{old}", f"tests/data/bundles/{new}").stdout
        (EXPECTED_DIR / f"{name}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--regen"]:
        sys.exit("usage: python -m tests.diff.test_diff --regen")
    regen()
