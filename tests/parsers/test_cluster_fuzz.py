"""Property tests: no input makes a cluster parser raise anything but ParseError.

Inputs: random text, and the real fixtures truncated, with lines shuffled, dropped or duplicated, with
numbers replaced by huge values / NaN, and with Unicode inserted (all derived here, never committed).
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
from clustermax.parsers.infiniband import detect_ibstat, parse_ibstat
from clustermax.parsers.kubectl import (
    detect_kubectl_nodes,
    detect_kubectl_version,
    parse_kubectl_nodes,
    parse_kubectl_version,
)
from clustermax.parsers.slurm import (
    detect_sacct,
    detect_scontrol_config,
    detect_scontrol_node,
    detect_scontrol_partition,
    detect_sinfo,
    detect_slurm_messages,
    detect_squeue,
    parse_sacct,
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
    parse_sinfo,
    parse_slurm_messages,
    parse_squeue,
)

DATA = Path(__file__).resolve().parents[1] / "data"

PARSERS: dict[str, tuple[Callable[[str], ParsedOutput], Callable[[str], float]]] = {
    "sinfo": (parse_sinfo, detect_sinfo),
    "scontrol-node": (parse_scontrol_node, detect_scontrol_node),
    "scontrol-partition": (parse_scontrol_partition, detect_scontrol_partition),
    "scontrol-config": (parse_scontrol_config, detect_scontrol_config),
    "sacct": (parse_sacct, detect_sacct),
    "squeue": (parse_squeue, detect_squeue),
    "slurm-messages": (parse_slurm_messages, detect_slurm_messages),
    "kubectl-version": (parse_kubectl_version, detect_kubectl_version),
    "kubectl-nodes": (parse_kubectl_nodes, detect_kubectl_nodes),
    "ibstat": (parse_ibstat, detect_ibstat),
}

REAL = sorted(p for kind in PARSERS for p in (DATA / kind).iterdir() if not p.name.endswith(".source"))
CORPUS = [p.read_text() for p in REAL]


def check(kind: str, text: str) -> None:
    parse, detect_fn = PARSERS[kind]
    try:
        result = parse(text)
    except ParseError as err:
        assert str(err).startswith(f"{kind}:")
    else:
        assert isinstance(result, ParsedOutput)
        result.model_dump_json()  # every result serialises
        # and holds no inf/NaN (model_dump_json() would write them as null)
        json.dumps(result.model_dump(mode="json"), allow_nan=False)
    confidence = detect_fn(text)
    assert 0.0 <= confidence <= 1.0


def test_every_fixture_has_a_sidecar_and_parses() -> None:
    assert len(REAL) >= 40
    for path in REAL:
        kind = path.parent.name
        assert path.with_name(path.name + ".source").exists(), path
        parse, detect_fn = PARSERS[kind]
        result = parse(path.read_text())
        assert isinstance(result, ParsedOutput), path
        assert detect_fn(path.read_text()) > 0, path


KINDS = st.sampled_from(sorted(PARSERS))
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(kind=KINDS, text=st.text(max_size=2000))
def test_random_text(kind: str, text: str) -> None:
    check(kind, text)


@FUZZ
@given(kind=KINDS, index=st.integers(min_value=0), cut=st.floats(min_value=0, max_value=1))
def test_truncated_real_outputs(kind: str, index: int, cut: float) -> None:
    text = CORPUS[index % len(CORPUS)]
    check(kind, text[: int(len(text) * cut)])


@FUZZ
@given(kind=KINDS, index=st.integers(min_value=0), seed=st.integers(), mode=st.integers(0, 5))
def test_mangled_real_outputs(kind: str, index: int, seed: int, mode: int) -> None:
    rng = random.Random(seed)
    lines = CORPUS[index % len(CORPUS)].split("\n")
    if mode == 0:
        rng.shuffle(lines)
    elif mode == 1:
        lines = [line for line in lines if rng.random() > 0.3]
    elif mode == 2:
        lines = [line for line in lines for _ in range(rng.randint(1, 3))]
    elif mode == 3:
        huge = rng.choice(["9" * 400, "9" * 5000, "NaN", "inf", "-1", "1e999", "18446744073709551616"])
        lines = [re.sub(r"\d+", huge, line) if rng.random() < 0.5 else line for line in lines]
    elif mode == 4:
        junk = rng.choice(["\u00e9\u00e8", "\u2028", "\x00", "\ufeff", "\U0001f525", "\t\t", "\r"])
        lines = [line[: len(line) // 2] + junk + line[len(line) // 2 :] for line in lines]
    else:
        lines = [line.strip() for line in lines]
    check(kind, "\n".join(lines))


@FUZZ
@given(
    kind=KINDS,
    index=st.integers(min_value=0),
    which=st.lists(st.integers(min_value=0), min_size=1, max_size=4),
    digits=st.sampled_from([21, 310, 4300, 4301, 5000]) | st.integers(1, 6000),
)
def test_numbers_past_int_limits(kind: str, index: int, which: list[int], digits: int) -> None:
    """Some digit runs of a real output replaced by a number of up to 6000 digits (int() refuses
    more than 4300 digits; float() of more than 309 is inf): ParseError or a result, never inf."""
    text = CORPUS[index % len(CORPUS)]
    runs = list(re.finditer(r"\d+", text))
    for k in sorted({w % len(runs) for w in which}, reverse=True) if runs else []:
        m = runs[k]
        text = text[: m.start()] + "7" * digits + text[m.end() :]
    check(kind, text)


@FUZZ
@given(kind=KINDS, a=st.integers(min_value=0), b=st.integers(min_value=0), text=st.text(max_size=200))
def test_real_outputs_glued_to_noise(kind: str, a: int, b: int, text: str) -> None:
    check(kind, CORPUS[a % len(CORPUS)] + text + CORPUS[b % len(CORPUS)])


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_non_text_is_a_parse_error(kind: str) -> None:
    parse, detect_fn = PARSERS[kind]
    with pytest.raises(ParseError):
        parse(None)  # type: ignore[arg-type]
    assert detect_fn(None) == 0.0  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["kubectl-nodes", "kubectl-version"])
def test_deeply_nested_json_and_yaml(kind: str) -> None:
    check(kind, "{" + '"a":{' * 5000 + "}" * 5001)
    check(kind, "items:\n" + "".join("  " * i + "- \n" for i in range(300)))
    check(kind, "[" * 10000)
