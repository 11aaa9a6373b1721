"""Rebuild the golden bundles under tests/data/bundles/ with `clustermax import` from real fixtures.

Run from anywhere: ``.venv/bin/python scripts/make_golden_bundles.py`` (``--check`` compares instead of
writing and exits 1 when a committed bundle is stale). Every bundle is made by the real command line
(run in the repository root, so the file paths recorded in the bundle are relative) with
SOURCE_DATE_EPOCH fixed, so its timestamps do not change and the machine is not recorded: the same
fixtures and the same clustermax give the same bytes. tests/data/bundles/README.md lists the fixtures
and the command of each bundle; tests/scoring/test_golden.py scores them.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path("tests/data/bundles")
SOURCE_DATE_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z

H100_PROFILE = [
    "--profile",
    "gpu_model=H100-SXM",
    "--profile",
    "fabric=infiniband-ndr",
    "--profile",
    "nic_count=8",
    "--profile",
    "gpus_per_node=8",
]

BUNDLES: dict[str, tuple[list[str], list[str]]] = {
    # name: (import options, fixture files relative to the repository root)
    "h100-healthy-ndr": (
        ["--provider", "example-h100", "--cluster", "h100-ndr", *H100_PROFILE],
        [
            "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
            "tests/data/nvidia-smi/h100x8-565-table.txt",
            "tests/data/nvidia-smi-topo/h100x8-8nic-spaces-gpu-numa-id.txt",
            "tests/data/scontrol-node/nano-23.11.11-h100-mixed.txt",
            "tests/data/scontrol-partition/nano-23.11-two-partitions.txt",
        ],
    ),
    "h100-failing-health": (
        ["--provider", "example-h100-bad", "--cluster", "h100-sick", "--profile", "gpu_model=H100-SXM"],
        [
            "tests/data/nccl-tests/h100-2node-allreduce-mpirun.log",
            "tests/data/nvidia-smi/h100x8-560-persistence-off.txt",
            "tests/data/nvidia-smi/a100x4-555-q-remap-pending.txt",
            "tests/data/dcgmi-diag/dcgm338-h100x8-r3-cuda-fail-all.txt",
            "tests/data/xid/dmesg-ctime-gpud-13-109.log",
            "tests/data/xid/dmesg-fallen-off-bus-no-xid.log",
        ],
    ),
    "h100-smi-only": (
        ["--provider", "example-smi", "--cluster", "one-table", "--profile", "gpus_per_node=8"],
        ["tests/data/nvidia-smi/h100x8-565-table.txt"],
    ),
    "nccl-gh200-wrong": (
        ["--provider", "example-gh200", "--cluster", "gh200-2node"],
        ["tests/data/nccl-tests/gh200-2node-srun-wrong-issue369.log"],
    ),
}


def command(name: str) -> list[str]:
    """The import command line of one bundle (relative paths, run in the repository root)."""
    options, files = BUNDLES[name]
    return ["clustermax", "import", *options, "--out", str(OUT / name), *files]


def build(name: str, out_root: Path) -> Path:
    """Run the import of ``name`` writing into out_root/name; returns the bundle.json path."""
    argv = command(name)
    out = out_root / name
    argv[argv.index("--out") + 1] = str(out) if out.is_absolute() else str(OUT / name)
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    proc = subprocess.run(
        [sys.executable, "-m", "clustermax", *argv[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{name}: clustermax import failed ({proc.returncode}): {proc.stderr.strip()}")
    return out / "bundle.json"


def normalised(text: str, out_dir: str) -> str:
    """A bundle's text with the output folder given to --out replaced by the committed one."""
    return text.replace(out_dir, str(OUT / Path(out_dir).name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed bundles, write nothing"
    )
    args = parser.parse_args(argv)
    if not args.check:
        for name in BUNDLES:
            path = build(name, OUT)
            print(f"wrote {path}")
        return 0
    stale = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in BUNDLES:
            fresh_path = build(name, Path(tmp))
            fresh = normalised(fresh_path.read_text(), str(Path(tmp) / name))
            committed_path = ROOT / OUT / name / "bundle.json"
            committed = committed_path.read_text() if committed_path.is_file() else ""
            if fresh != committed:
                stale += 1
                diff = difflib.unified_diff(
                    committed.splitlines(),
                    fresh.splitlines(),
                    str(committed_path),
                    "rebuilt",
                    lineterm="",
                    n=1,
                )
                print(f"stale: {committed_path}")
                print("\n".join(list(diff)[:40]))
    if stale:
        print(f"{stale} golden bundle(s) stale: run .venv/bin/python scripts/make_golden_bundles.py")
        return 1
    print(f"{len(BUNDLES)} golden bundle(s) up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
