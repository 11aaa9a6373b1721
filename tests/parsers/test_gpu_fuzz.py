"""Property tests: no input makes a GPU-side parser raise anything but ParseError.

Inputs: random text and bytes, and the real fixtures truncated at any point, with lines shuffled,
dropped or duplicated, numbers replaced by huge values / NaN / negatives, Unicode inserted and
launcher prefixes added (all derived here from the committed real files, never committed).
Successful results must also serialise to JSON (numbers finite: NaN is never emitted).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustermax.parsers import ParsedOutput, ParseError
from clustermax.parsers.dcgmi import detect_dcgmi_diag, parse_dcgmi_diag
from clustermax.parsers.kernel_log import detect_xid, parse_xid
from clustermax.parsers.nccl_tests import detect_nccl_tests, parse_nccl_tests
from clustermax.parsers.nvidia_smi import detect_nvidia_smi, parse_nvidia_smi
from clustermax.parsers.nvidia_smi_topo import detect_nvidia_smi_topo, parse_nvidia_smi_topo

DATA = Path(__file__).resolve().parents[1] / "data"

PARSERS: dict[str, tuple[Callable[[str], ParsedOutput], Callable[[str], float]]] = {
    "nccl-tests": (parse_nccl_tests, detect_nccl_tests),
    "nvidia-smi": (parse_nvidia_smi, detect_nvidia_smi),
    "nvidia-smi-topo": (parse_nvidia_smi_topo, detect_nvidia_smi_topo),
    "dcgmi-diag": (parse_dcgmi_diag, detect_dcgmi_diag),
    "xid": (parse_xid, detect_xid),
}

REAL = sorted(p for kind in PARSERS for p in (DATA / kind).iterdir() if not p.name.endswith(".source"))
CORPUS = [p.read_text(encoding="utf-8") for p in REAL]
NUMBER = re.compile(r"\d+(?:\.\d+)?")
HUGE = ["9" * 400, "9" * 5000, "1" + "0" * 20]  # float() of 400 digits is inf; int() refuses > 4300
WEIRD = [*HUGE, "nan", "NaN", "inf", "-1", "1e309", "0x", "٣", "𝟗", "", "-0", "1e-400"]


def _check(kind: str, text: str) -> None:
    parse, detect = PARSERS[kind]
    confidence = detect(text)
    assert 0.0 <= confidence <= 1.0
    try:
        out = parse(text)
    except ParseError as err:
        assert str(err).startswith(f"{kind}: ") and "\n" not in str(err)
        return
    # strict JSON: a NaN or infinity would make json.loads(..., parse_constant) fail
    json.loads(out.model_dump_json(), parse_constant=lambda c: pytest.fail(f"non-finite number {c}"))
    # model_dump_json() writes inf/NaN as null, so also look at the floats themselves
    json.dumps(out.model_dump(mode="json"), allow_nan=False)


def _mangle(text: str, rnd: random.Random) -> str:
    lines = text.split("\n")
    op = rnd.randrange(8)
    if op == 0:
        return text[: rnd.randrange(len(text) + 1)]
    if op == 1:
        rnd.shuffle(lines)
    elif op == 2 and lines:
        del lines[rnd.randrange(len(lines))]
    elif op == 3 and lines:
        i = rnd.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 4:
        return NUMBER.sub(lambda m: rnd.choice(WEIRD) if rnd.random() < 0.3 else m.group(0), text)
    elif op == 5:
        lines = [line + rnd.choice(["é", "\u200b", "\ufeff", "💥", "\t", " |"]) for line in lines]
    elif op == 6:
        lines = [f"{rnd.randrange(64)}: {line}" if rnd.random() < 0.9 else line for line in lines]
    else:
        lines = [f"[1,{rnd.randrange(64)}]<stdout>:{line}" for line in lines]
    return "\n".join(lines)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=2000))
def test_random_text(kind: str, text: str) -> None:
    _check(kind, text)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=1500))
def test_random_bytes(kind: str, data: bytes) -> None:
    _check(kind, data.decode("utf-8", errors="replace"))


@pytest.mark.parametrize("kind", sorted(PARSERS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(CORPUS) - 1),
    seed=st.integers(0, 2**32 - 1),
    rounds=st.integers(1, 4),
)
def test_mangled_real_outputs(kind: str, index: int, seed: int, rounds: int) -> None:
    rnd = random.Random(seed)
    text = CORPUS[index]
    for _ in range(rounds):
        text = _mangle(text, rnd)
    _check(kind, text)


@pytest.mark.parametrize("kind", sorted(PARSERS))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=len(CORPUS) - 1),
    which=st.lists(st.integers(min_value=0), min_size=1, max_size=4),
    digits=st.sampled_from([21, 310, 4300, 4301, 5000]) | st.integers(1, 6000),
)
def test_numbers_past_int_limits(kind: str, index: int, which: list[int], digits: int) -> None:
    """Some digit runs of a real output replaced by a number of up to 6000 digits (int() refuses
    more than 4300 digits; float() of more than 309 is inf): ParseError or a result, never inf."""
    text = CORPUS[index]
    runs = list(re.finditer(r"\d+", text))
    for k in sorted({w % len(runs) for w in which}, reverse=True) if runs else []:
        m = runs[k]
        text = text[: m.start()] + "7" * digits + text[m.end() :]
    _check(kind, text)


@pytest.mark.parametrize("path", REAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_real_outputs_parse_with_their_own_parser(path: Path) -> None:
    parse, detect = PARSERS[path.parent.name]
    text = path.read_text(encoding="utf-8")
    assert detect(text) >= 0.5
    parse(text)
