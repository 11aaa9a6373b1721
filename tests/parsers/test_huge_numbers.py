"""Numbers far too long to be real must never make a parser raise anything but ParseError.

CPython's int() refuses strings over 4300 digits with a ValueError (not a ParseError), and float()
of a long digit string is an infinity. For every registered kind and every real fixture under
tests/data/<kind>/ this derives (here, never committed) variants whose digit runs are replaced by a
5000-digit number -- in the whole text, in one line at a time (a sample of lines per fixture), and one
number at a time within those lines -- and by numbers just past the usual widths (21 and 400 digits).
Each variant must parse or raise ParseError; a result must hold no infinite or NaN float (an absent
value is null) and must serialise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clustermax.parsers import ParsedOutput, ParseError
from clustermax.parsers._text import bounded_int
from clustermax.parsers.dcgmi import parse_dcgmi_diag
from clustermax.parsers.infiniband import parse_ibstat
from clustermax.parsers.kernel_log import parse_xid
from clustermax.parsers.kubectl import parse_kubectl_nodes, parse_kubectl_version
from clustermax.parsers.nvidia_smi import parse_nvidia_smi
from clustermax.parsers.registry import PARSERS
from clustermax.parsers.slurm import parse_scontrol_node

DATA = Path(__file__).resolve().parents[1] / "data"
DIGITS = re.compile(r"\d+")
BIG = "9" * 5000  # past int()'s 4300-digit limit; float() of it is inf
WIDE = {"5000": BIG, "400": "7" * 400, "21": "1" + "0" * 20}
LINES_PER_FILE = 40
RUNS_PER_LINE = 8


def _fixtures() -> list[tuple[str, Path]]:
    out = []
    for kind in sorted(PARSERS):
        folder = DATA / kind
        if folder.is_dir():
            out.extend(
                (kind, p) for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".source")
            )
    return out


CASES = _fixtures()
IDS = [f"{kind}/{path.name}" for kind, path in CASES]


def _non_finite(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, float):
        if not math.isfinite(value):
            yield f"{where or '<root>'} = {value}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{where}[{i}]")


def _check(kind: str, text: str, what: str) -> None:
    info = PARSERS[kind]
    try:
        out = info.parse(text)
    except ParseError as err:
        assert str(err).startswith(f"{kind}: ") and "\n" not in str(err), what
    except Exception as err:
        pytest.fail(f"{kind} raised {type(err).__name__} ({str(err)[:120]}) on {what}")
    else:
        assert isinstance(out, ParsedOutput), what
        bad = list(_non_finite(out.model_dump()))
        assert not bad, f"{kind}: non-finite floats on {what}: {bad[:5]}"
        out.model_dump_json()
    try:
        confidence = info.detect(text)
    except Exception as err:
        pytest.fail(f"detect for {kind} raised {type(err).__name__} ({str(err)[:120]}) on {what}")
    assert 0.0 <= confidence <= 1.0, what


def _sample_lines(lines: list[str]) -> list[int]:
    """Indices of up to LINES_PER_FILE lines holding digits, spread evenly over the file."""
    with_digits = [i for i, line in enumerate(lines) if DIGITS.search(line)]
    if len(with_digits) <= LINES_PER_FILE:
        return with_digits
    step = len(with_digits) / LINES_PER_FILE
    return [with_digits[int(k * step)] for k in range(LINES_PER_FILE)]


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def test_every_kind_has_fixtures() -> None:
    assert {kind for kind, _ in CASES} == set(PARSERS)


@pytest.mark.parametrize("width", sorted(WIDE))
@pytest.mark.parametrize(("kind", "path"), CASES, ids=IDS)
def test_every_number_huge(kind: str, path: Path, width: str) -> None:
    text = _read(path)
    _check(kind, DIGITS.sub(WIDE[width], text), f"{path.name}, every digit run -> {width} digits")


@pytest.mark.parametrize(("kind", "path"), CASES, ids=IDS)
def test_one_line_huge(kind: str, path: Path) -> None:
    lines = _read(path).split("\n")
    for i in _sample_lines(lines):
        line = lines[i]
        variants = [("every digit run", DIGITS.sub(BIG, line))]
        for n, m in enumerate(DIGITS.finditer(line)):
            if n == RUNS_PER_LINE:
                break
            variants.append((f"digit run {n}", line[: m.start()] + BIG + line[m.end() :]))
            if n < 2:
                variants.append((f"digit run {n} -> 21", line[: m.start()] + WIDE["21"] + line[m.end() :]))
        for label, new in variants:
            _check(kind, "\n".join([*lines[:i], new, *lines[i + 1 :]]), f"{path.name} line {i + 1}, {label}")


def test_checker_catches_infinities() -> None:
    """The non-finite walk finds an inf nested in lists and dicts (else the tests above prove nothing)."""
    assert list(_non_finite({"a": [1.0, {"b": float("inf")}], "c": None})) == [".a[1].b = inf"]
    assert list(_non_finite({"a": [1.0, {"b": 2}], "c": None, "d": "inf"})) == []


# --- what becomes of the absurd number: the rest of the parse is kept, the value is null ---------------


def _fixture(kind: str, name: str) -> str:
    return _read(DATA / kind / name)


def test_bounded_int() -> None:
    assert bounded_int("42") == 42
    assert bounded_int("-7") == -7 and bounded_int("+7") == 7
    assert bounded_int("1" * 20) == int("1" * 20)
    for bad in (None, "", "-", "1" * 21, BIG, "12a", " 1", "٣", "0x1f"):
        assert bounded_int(bad) is None, bad
    assert bounded_int("9" * 400, 4300) == int("9" * 400)
    assert bounded_int(BIG, 4300) is None


def test_xid_numbers() -> None:
    text = _fixture("xid", "kernel-45-caused-by-previous-xid.log")
    base = parse_xid(text)
    first = text.split("\n", 1)[0]
    assert "pid=1818990" in first and "previous Xid 149" in first
    out = parse_xid(
        text.replace("pid=1818990", f"pid={BIG}").replace("previous Xid 149", f"previous Xid {BIG}")
    )
    assert out.events[0].xid == base.events[0].xid == 45
    assert out.events[0].pid is None and out.events[0].cause_xid is None
    assert base.events[0].pid == 1818990 and base.events[0].cause_xid == 149
    # an Xid code of thousands of digits is no Xid (not its first six digits): that line is no event
    out = parse_xid(text.replace("00): 45, pid=1818990", f"00): {BIG}, pid=1818990", 1))
    assert len(out.events) == len(base.events) - 1 and 999999 not in out.xids


def test_xid_boot_timestamp_of_thousands_of_digits_is_null() -> None:
    # (a stamp is looked for in the first 80 characters only, so it can never overflow to inf)
    text = _fixture("xid", "dmesg-fallen-off-bus-no-xid.log")
    assert parse_xid(text).events[0].timestamp == 1843.308145
    out = parse_xid(text.replace("[ 1843.308145]", f"[ {BIG}.308145]"))
    assert out.fallen_off_bus and out.events[0].timestamp is None


def test_dcgmi_gpu_ids() -> None:
    text = _fixture("dcgmi-diag", "dcgm-r2-fail-gpu0-excerpt.txt")
    base = parse_dcgmi_diag(text)
    assert [t.failed_gpus for t in base.tests if t.result == "fail"] == [[0]]
    padded = f"{'Fail - GPU: ' + BIG:<46}"
    out = parse_dcgmi_diag(text.replace(f"{'Fail - GPU: 0':<46}", padded))
    assert [t.result for t in out.tests] == [t.result for t in base.tests]
    assert all(g < 10**20 for t in out.tests for g in t.failed_gpus)


def test_ibstat_port_number() -> None:
    text = _fixture("ibstat", "cx6-200g-one-down-nccl-tests-128.txt")
    base = parse_ibstat(text)
    out = parse_ibstat(text.replace("Port 1:", f"Port {BIG}:", 1))
    assert len(out.ports) == len(base.ports)
    assert out.ports[0].port is None and out.ports[0].state == base.ports[0].state
    assert out.ports[1:] == base.ports[1:]
    assert any("unreadable port number (5000 digits)" in w for w in out.warnings)
    status = _fixture("ibstat", "ibstatus-100g-eth-nccl-1866.txt")
    out = parse_ibstat(status.replace("port 1 status:", f"port {BIG} status:", 1))
    assert out.ports[0].port is None and out.ports[1].port == 1


def test_nvidia_smi_table_index() -> None:
    text = _fixture("nvidia-smi", "h100x8-565-table.txt")
    base = parse_nvidia_smi(text)
    row = next(line for line in text.split("\n") if line.startswith("|   0  "))
    out = parse_nvidia_smi(text.replace(row, row.replace("|   0  ", f"|   {BIG}  ", 1)))
    assert out.gpu_count == base.gpu_count == 8
    assert out.gpus[0].index is None and out.gpus[0].bus_id == base.gpus[0].bus_id
    assert any("unreadable index" in w for w in out.warnings)


def test_nvidia_smi_power_of_thousands_of_digits_is_null() -> None:
    text = _fixture("nvidia-smi", "h100x8-565-table.txt")
    base = parse_nvidia_smi(text)
    out = parse_nvidia_smi(text.replace("100W /  700W", f"{BIG}W /  700W", 1))
    assert base.gpus[0].power_draw_w == 100.0 and out.gpus[0].power_draw_w is None


def test_slurm_gres_count() -> None:
    text = _fixture("scontrol-node", "dev-22.05.8-oneliner.txt")
    base = {n.name: n for n in parse_scontrol_node(text).nodes}
    assert base["gpu1"].gpu_count == 8
    out = {
        n.name: n
        for n in parse_scontrol_node(text.replace("Gres=gpu:h100:8", f"Gres=gpu:h100:{BIG}", 1)).nodes
    }
    assert out["gpu1"].gpu_count is None and out["gpu2"].gpu_count == 8


def test_kubectl_yaml_and_json_ints() -> None:
    text = _fixture("kubectl-nodes", "status-yaml-podman-desktop-7778.yaml")
    out = parse_kubectl_nodes(
        text.replace('nvidia.com/gpu: "1"\n    pods', f"nvidia.com/gpu: {BIG}\n    pods", 1)
    )
    assert out.nodes[0].gpu_allocatable is None and out.nodes[0].gpu_capacity == 1
    plain = parse_kubectl_nodes(
        text.replace('nvidia.com/gpu: "1"\n    pods', "nvidia.com/gpu: 8\n    pods", 1)
    )
    assert plain.nodes[0].gpu_allocatable == 8
    js = _fixture("kubectl-nodes", "nodelist-json-k3s-orbstack.json")
    assert '"Port": 10250' in js
    base = parse_kubectl_nodes(js)
    assert parse_kubectl_nodes(js.replace('"Port": 10250', f'"Port": {BIG}')) == base
    version = "clientVersion:\n  major: " + BIG + '\n  gitVersion: v1.32.4\n  minor: "32"\n'
    assert parse_kubectl_version(version).client_version == "v1.32.4"


@pytest.mark.parametrize("value", ["!!int foo", "!!float foo", "!!bool maybe", "!!timestamp 2020-13-45"])
def test_kubectl_yaml_values_that_cannot_be_built(value: str) -> None:
    text = _fixture("kubectl-nodes", "status-yaml-podman-desktop-7778.yaml")
    bad = text.replace("type: InternalIP", f"type: {value}", 1)
    try:
        out = parse_kubectl_nodes(bad)
    except ParseError as err:
        assert str(err).startswith("kubectl-nodes: ")
    else:  # '!!int foo' is an unreadable int: null, the node still parses
        assert value == "!!int foo" and out.nodes[0].gpu_capacity == 1
