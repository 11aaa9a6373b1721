"""YAML files from someone else: alias bombs, cycles, deep nesting and odd encodings end in exit 2, fast.

Each file kind a user hands clustermax (inventory, rubric, attestations) goes through the real CLI with a
memory limit on the process, and a hypothesis test generates documents with anchors, aliases, merge keys
and nesting and requires a clean result or a ConfigError within a time and memory bound.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustermax.errors import ConfigError
from clustermax.inventory import load_inventory
from clustermax.scoring import check_rubric_file, load_attestations
from clustermax.yamlsrc import MAX_DEPTH, parse_yaml

CLI = str(Path(sys.executable).parent / "clustermax")
MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space for the whole CLI process


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_limited(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=60, preexec_fn=_limited, check=False
    )
    return proc, time.monotonic() - t0


def billion_laughs(prefix: str, levels: int = 9) -> str:
    lines = (
        [prefix.rstrip("\n"), "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        if prefix
        else ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    )
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


INVENTORY = "cluster: c\nlogin: a\n"
BOMBS = {
    "aliases": (billion_laughs(INVENTORY), "expands to more than 200,000 values"),
    "cycle": (INVENTORY + "x: &x [*x]\n", "an alias refers to a node that contains it"),
    "cycle-map": (INVENTORY + "x: &x {y: *x}\n", "an alias refers to a node that contains it"),
    "deep": (INVENTORY + "x: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than 64 levels deep"),
    "deep-map": (INVENTORY + "x: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", "nested more than 64 levels"),
}


def test_the_bomb_is_small() -> None:
    assert len(BOMBS["aliases"][0].encode()) < 500  # 9^9 = 387 million leaves if expanded


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_inventory_bombs_exit_2_at_once(tmp_path: Path, name: str) -> None:
    text, fragment = BOMBS[name]
    inv = tmp_path / "inv.yaml"
    inv.write_text(text)
    proc, took = run_limited("audit", "--inventory", str(inv), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {inv}:") and fragment in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert took < 15
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["aliases", "cycle", "deep"])
def test_rubric_and_attestation_bombs_exit_2(tmp_path: Path, name: str) -> None:
    text, fragment = BOMBS[name]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(text.replace(INVENTORY, "id: x\n"))
    proc, took = run_limited("rubric", "validate", str(bomb), cwd=tmp_path)
    assert proc.returncode == 2 and fragment in proc.stdout and "Traceback" not in proc.stderr + proc.stdout
    bundle = Path(__file__).parent / "data" / "bundles" / "h100-healthy-ndr"
    for opt in ("--rubric", "--attestations"):
        proc, took = run_limited("score", str(bundle), opt, str(bomb), cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert fragment in proc.stderr and "Traceback" not in proc.stderr
        assert took < 15


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (INVENTORY.encode("utf-16"), "the inventory is UTF-16 text; clustermax reads UTF-8"),
        (b"cluster: caf\xe9\nlogin: a\n", "the inventory is not UTF-8 text (byte 0xe9)"),
    ],
)
def test_encodings_exit_2_naming_the_file(tmp_path: Path, data: bytes, fragment: str) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_bytes(data)
    proc, _ = run_limited("audit", "--inventory", str(inv), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2 and str(inv) in proc.stderr and fragment in proc.stderr
    assert "Traceback" not in proc.stderr


def test_anchors_that_real_files_use_still_work() -> None:
    doc = parse_yaml("base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  y: [3]\nagain: *b\n", "f.yaml")
    base = {"x": 1, "y": [1, 2]}
    assert doc.data == {"base": base, "other": {"x": 1, "y": [3]}, "again": base}
    assert doc.line(("again", "y")) == 1  # the alias's lines are the anchor's
    nested = "a:" + "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(MAX_DEPTH - 2)) + " 1\n"
    assert parse_yaml(nested, "f.yaml").data is not None  # just under the depth bound


# -------------------------------------------------------------------------------- generated documents
_SCALARS = st.sampled_from(["x", "1", "-2.5", "true", "null", "'q'", '"a b"', "2024-01-01", "~"])


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """Top-level keys whose values define anchors and use aliases of earlier ones (and of themselves)."""
    lines: list[str] = []
    anchors: list[str] = []
    for i in range(draw(st.integers(1, 14))):
        name = f"a{i}"
        kind = draw(st.sampled_from(["scalar", "seq", "map", "merge", "nest", "self", "mixed"]))
        refs = lambda: draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=12)) if anchors else []  # noqa: E731
        if kind == "scalar" or (kind in ("seq", "map", "merge") and not anchors):
            value = draw(_SCALARS)
        elif kind == "seq":
            value = "[" + ", ".join(f"*{r}" for r in refs()) + "]"
        elif kind == "map":
            value = "{" + ", ".join(f"k{j}: *{r}" for j, r in enumerate(refs())) + "}"
        elif kind == "merge":
            value = "{<<: [" + ", ".join(f"*{r}" for r in refs()) + "], z: 1}"
        elif kind == "nest":
            depth = draw(st.integers(1, 150))
            opener = draw(st.sampled_from(["[", "{k: "]))
            closer = "]" if opener == "[" else "}"
            value = opener * depth + draw(_SCALARS) + closer * depth
        elif kind == "self":
            value = draw(st.sampled_from([f"[*{name}]", f"{{s: *{name}}}", f"[x, [y, *{name}]]"]))
        else:
            parts = [draw(_SCALARS)] + [f"*{r}" for r in (refs() if anchors else [])]
            value = "[" + ", ".join(parts) + ", {m: [" + ", ".join(parts) + "]}]"
        lines.append(f"{name}: &{name} {value}")
        anchors.append(name)
    head = draw(st.sampled_from(["", INVENTORY, "cluster: c\nlogin: a\ncompute: [b, c]\n", "id: r\n"]))
    return head + "\n".join(lines) + "\n"


@given(yaml_documents())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_aliases_and_nesting_end_cleanly_within_bounds(tmp_path_factory: pytest.TempPathFactory,
                                                           text: str) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("yaml") / "doc.yaml"
    path.write_text(text)
    for load in (load_inventory, load_attestations, check_rubric_file):
        tracemalloc.start()
        t0 = time.monotonic()
        try:
            load(path)  # a value, problems, or a ConfigError: nothing else
        except ConfigError as err:
            assert str(path) in err.message and "\n" not in err.message
        finally:
            took = time.monotonic() - t0
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert took < 5, (load.__name__, took)
        assert peak < 200 * 1024 * 1024, (load.__name__, peak)


@given(yaml_documents())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_cli_exits_0_or_2_on_generated_documents(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """The same documents through the real CLI, with 1 GiB of address space: exit 0 or 2, in seconds."""
    work = tmp_path_factory.mktemp("cli")
    path = work / "doc.yaml"
    path.write_text(text)
    bundle = Path(__file__).parent / "data" / "bundles" / "h100-healthy-ndr"
    for args in (("rubric", "validate", str(path)), ("score", str(bundle), "--attestations", str(path))):
        proc, took = run_limited(*args, cwd=work)
        assert proc.returncode in (0, 2), (args, proc.returncode, proc.stderr[-500:])
        assert "Traceback" not in proc.stderr and took < 20
