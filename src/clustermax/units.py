"""Unit conversions: the one place where GB/s becomes Gb/s or GiB/s, ms becomes s, MiB becomes GiB.

Every :class:`~clustermax.models.Unit` belongs to one dimension; values convert only within a
dimension, through the dimension's base unit (bytes per second, seconds, bytes). Units that have no
dimension (W, C, count, bool, text ...) convert only to themselves.
"""

from __future__ import annotations

import re

from .models.common import Unit

# unit -> (dimension, factor to the dimension's base unit)
_SCALE: dict[Unit, tuple[str, float]] = {
    Unit.GBPS: ("bandwidth", 1e9),  # 10^9 bytes per second (nccl-tests busbw)
    Unit.GBITPS: ("bandwidth", 1e9 / 8),  # 10^9 bits per second (ibstat rate)
    Unit.GIBPS: ("bandwidth", float(2**30)),  # 2^30 bytes per second (storage throughput)
    Unit.SECONDS: ("time", 1.0),
    Unit.MILLISECONDS: ("time", 1e-3),
    Unit.MICROSECONDS: ("time", 1e-6),
    Unit.BYTES: ("size", 1.0),
    Unit.MIB: ("size", float(2**20)),
    Unit.GIB: ("size", float(2**30)),
}

NUMERIC_UNITS: frozenset[Unit] = frozenset(u for u in Unit if u not in (Unit.BOOL, Unit.TEXT, Unit.VERSION))
"""Units whose values are numbers."""


class UnitError(ValueError):
    """Two units that cannot be converted into each other, or a unit name that does not exist."""


def dimension(unit: Unit) -> str:
    """The dimension of a unit ('bandwidth', 'time', 'size'), or the unit's own name."""
    scale = _SCALE.get(unit)
    return scale[0] if scale else unit.value


def convertible(src: Unit, dst: Unit) -> bool:
    return src == dst or (dimension(src) == dimension(dst) and src in _SCALE and dst in _SCALE)


def convert(value: float, src: Unit, dst: Unit) -> float:
    """``value`` in ``src`` expressed in ``dst``. Raises :class:`UnitError` across dimensions."""
    if src == dst:
        return value
    if not convertible(src, dst):
        raise UnitError(f"cannot convert {src.value} to {dst.value}")
    return value * _SCALE[src][1] / _SCALE[dst][1]


def parse_unit(text: str) -> Unit:
    """A unit from its symbol ('GB/s', 'Gb/s', 'MiB' ...). Case matters: GB/s and Gb/s differ."""
    try:
        return Unit(text.strip())
    except ValueError as err:
        known = ", ".join(u.value for u in Unit)
        raise UnitError(f"unknown unit {text.strip()!r} (known: {known})") from err


_QUANTITY = re.compile(r"^\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>\S.*?)?\s*$")


def parse_quantity(text: str) -> tuple[float, Unit | None]:
    """'400 Gb/s' -> (400.0, Unit.GBITPS); '0.9' -> (0.9, None). Raises UnitError on a bad unit."""
    m = _QUANTITY.match(text)
    if not m:
        raise UnitError(f"not a number with a unit: {text!r} (write e.g. '400 Gb/s')")
    unit = m.group("unit")
    return float(m.group("num")), parse_unit(unit) if unit else None
