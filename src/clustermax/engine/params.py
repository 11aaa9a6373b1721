"""Probe parameters: typed per the probe spec; defaults < inventory overrides < --param flags."""

from __future__ import annotations

from collections.abc import Mapping

from ..models import JSONValue, ParamSpec, ProbeSpec

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce_param(spec: ParamSpec, value: JSONValue, *, from_text: bool = False) -> JSONValue:
    """``value`` as the spec's type; raise ValueError (one sentence) when it cannot be.

    ``from_text`` is for ``--param probe.key=value`` flags, where every value arrives as a string.
    """
    if value is None:
        return None
    kind = spec.type
    if from_text and isinstance(value, str):
        text = value.strip()
        if kind == "int":
            try:
                return int(text)
            except ValueError as err:
                raise ValueError(f"expected an integer, got {value!r}") from err
        if kind == "float":
            try:
                return float(text)
            except ValueError as err:
                raise ValueError(f"expected a number, got {value!r}") from err
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(f"expected true or false, got {value!r}")
        if kind == "list":
            return [item.strip() for item in text.split(",") if item.strip()]
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, (dict, list)) for item in items):
            raise ValueError(f"expected a list of plain values, got {value!r}")
        return list(items)
    if isinstance(value, (dict, list)):
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


def merge_params(spec: ProbeSpec, *layers: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    """Spec defaults, then each layer in order (later wins); keys the spec does not declare are dropped.

    A layer's ``None`` does not erase an earlier value (None means "not set here").
    """
    out: dict[str, JSONValue] = {name: p.default for name, p in spec.params.items()}
    for layer in layers:
        for name, value in layer.items():
            if name in spec.params and value is not None:
                out[name] = value
    return out
