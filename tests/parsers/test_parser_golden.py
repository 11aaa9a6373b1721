"""Golden outputs: the public output of every parser on every real fixture, frozen.

For each registered kind and each fixture under tests/data/<kind>/ this parses the fixture and a few
variants derived here (CRLF line ends, the first 60% of the lines, the text twice), and compares
``model_dump(mode="json")`` (or the one-line ParseError) and the kind's own detect confidence with
tests/data/golden/<kind>/<fixture>.json. Any change in what a parser returns fails here, so the
parsers' internals can be rewritten (for speed) without changing their contract.

The golden files were generated from the parsers as they were before the speed work. Regenerate them
ONLY when an output change is intended (and review the diff):

    .venv/bin/python tests/parsers/test_parser_golden.py --regen
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clustermax.parsers import ParseError
from clustermax.parsers.registry import PARSERS

DATA = Path(__file__).resolve().parents[1] / "data"
GOLDEN = DATA / "golden"


def _fixtures() -> list[tuple[str, Path]]:
    out = []
    for kind in sorted(PARSERS):
        folder = DATA / kind
        if folder.is_dir():
            out.extend(
                (kind, p) for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".source")
            )
    return out


def _head(text: str) -> str:
    lines = text.split("\n")
    return "\n".join(lines[: max(1, len(lines) * 6 // 10)])


VARIANTS: dict[str, Callable[[str], str]] = {
    "as-is": lambda t: t,
    "crlf": lambda t: t.replace("\r\n", "\n").replace("\n", "\r\n"),
    "head-60pct": _head,
    "twice": lambda t: t + ("" if t.endswith("\n") else "\n") + t,
}


def _outcome(kind: str, text: str) -> dict[str, Any]:
    info = PARSERS[kind]
    try:
        result: dict[str, Any] = {"output": info.parse(text).model_dump(mode="json")}
    except ParseError as err:
        result = {"error": str(err)}
    result["detect"] = info.detect(text)
    return result


def compute(kind: str, path: Path) -> dict[str, Any]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return {name: _outcome(kind, make(text)) for name, make in VARIANTS.items()}


def golden_path(kind: str, path: Path) -> Path:
    return GOLDEN / kind / f"{path.name}.json"


def _dump(value: dict[str, Any]) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


CASES = _fixtures()


def test_every_kind_has_fixtures() -> None:
    assert {kind for kind, _ in CASES} == set(PARSERS)


@pytest.mark.parametrize(("kind", "path"), CASES, ids=[f"{k}/{p.name}" for k, p in CASES])
def test_output_matches_golden(kind: str, path: Path) -> None:
    gold = golden_path(kind, path)
    assert gold.is_file(), f"missing {gold}; run: python tests/parsers/test_parser_golden.py --regen"
    expected = json.loads(gold.read_text(encoding="utf-8"))
    # compare through the same JSON round trip the golden file went through (floats, key order)
    actual = json.loads(_dump(compute(kind, path)))
    for variant in VARIANTS:
        assert actual[variant] == expected[variant], f"{kind}/{path.name} [{variant}] differs from golden"


def regen() -> None:
    for kind, path in CASES:
        gold = golden_path(kind, path)
        gold.parent.mkdir(parents=True, exist_ok=True)
        gold.write_text(_dump(compute(kind, path)), encoding="utf-8")
    print(f"wrote {len(CASES)} golden files under {GOLDEN}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        sys.exit("usage: python tests/parsers/test_parser_golden.py --regen")
    regen()
