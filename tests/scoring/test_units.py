"""units.py: the one place where GB/s meets Gb/s."""

from __future__ import annotations

import pytest

from clustermax.models import Unit
from clustermax.units import UnitError, convert, convertible, parse_quantity, parse_unit


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (400.0, Unit.GBITPS, Unit.GBPS, 50.0),  # one NDR port: 400 Gb/s = 50 GB/s
        (50.0, Unit.GBPS, Unit.GBITPS, 400.0),
        (1500.0, Unit.MILLISECONDS, Unit.SECONDS, 1.5),
        (2.0, Unit.SECONDS, Unit.MICROSECONDS, 2_000_000.0),
        (80.0, Unit.GIB, Unit.MIB, 81920.0),
        (1.0, Unit.GIB, Unit.BYTES, 2.0**30),
        (700.0, Unit.WATTS, Unit.WATTS, 700.0),
    ],
)
def test_convert(value: float, src: Unit, dst: Unit, expected: float) -> None:
    assert convert(value, src, dst) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("src", "dst"),
    [(Unit.GBPS, Unit.SECONDS), (Unit.WATTS, Unit.CELSIUS), (Unit.MIB, Unit.GBPS), (Unit.COUNT, Unit.RATIO)],
)
def test_convert_across_dimensions_is_an_error(src: Unit, dst: Unit) -> None:
    assert not convertible(src, dst)
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1.0, src, dst)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("400 Gb/s", (400.0, Unit.GBITPS)),
        ("46GB/s", (46.0, Unit.GBPS)),
        ("0.9", (0.9, None)),
        (" 30 s ", (30.0, Unit.SECONDS)),
        ("-1e3 ms", (-1000.0, Unit.MILLISECONDS)),
    ],
)
def test_parse_quantity(text: str, expected: tuple[float, Unit | None]) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["400 Gbps", "fast", "12 gb/s"])
def test_parse_quantity_rejects_unknown_units(text: str) -> None:
    with pytest.raises(UnitError):
        parse_quantity(text)


def test_case_matters_between_bytes_and_bits() -> None:
    assert parse_unit("GB/s") is Unit.GBPS
    assert parse_unit("Gb/s") is Unit.GBITPS
