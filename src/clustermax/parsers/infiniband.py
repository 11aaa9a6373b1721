"""Parser for InfiniBand / RoCE port listings: ``ibstat``, ``ibstatus`` and ``ibv_devinfo [-v]``.

States are normalised to lower case (``active``, ``down``, ``init``, ``armed``, ``active_defer``) and
physical states to lower case without separators (``linkup``, ``polling``, ``disabled``, ``sleep``,
``portconfigurationtraining``, ``linkerrorrecovery``, ``phytest``).

``rate_gbps`` is in Gb/s: ibstat's ``Rate:`` as printed, ibstatus's leading number of
``400 Gb/sec (4X NDR)``, and for ``ibv_devinfo -v`` the active width times the lane speed
(``4X`` x ``100.0 Gbps`` = 400). Plain ``ibv_devinfo`` prints neither, so its rate is null.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import bounded_int
from .base import ParsedOutput, ParseError

__all__ = ["IbPort", "IbstatOutput", "detect_ibstat", "parse_ib_sysfs", "parse_ibstat"]


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_NORM_STATE_RE1 = re.compile(r"^\d+:\s*(.+)$")
_NORM_STATE_RE2 = re.compile(r"\s*\(\d+\)\s*$")
_NUMBER_RE1 = re.compile(r"^\s*(\d{1,6}(?:\.\d+)?)(?!\d)")  # a longer number is garbage, not its first digits
_PARSE_IBSTAT_RE1 = re.compile(r"^\s*CA '[^']*'", re.M)
_PARSE_IBSTAT_RE2 = re.compile(r"^\s*Infiniband device '[^']*' port \d+ status:", re.M)
_PARSE_IBSTAT_RE3 = re.compile(r"^\s*hca_id:\s*\S+", re.M)
_PARSE_IBSTAT_RE4 = re.compile(r"^\s*CA '(?P<ca>[^']*)'")
_PARSE_IBSTAT_RE5 = re.compile(r"^\s*Port (?P<n>\d+):\s*$")
_PARSE_IBSTATUS_RE1 = re.compile(r"^\s*Infiniband device '(?P<ca>[^']*)' port (?P<p>\d+) status:")
_PARSE_DEVINFO_RE1 = re.compile(r"^\s*hca_id:\s*(?P<ca>\S+)")
_PARSE_DEVINFO_RE2 = re.compile(r"^\s*port:\s*(?P<n>\d+)\s*$")
_NORM_PHYS_RE1 = re.compile(r"[\s_\-]")
_FLUSH_RE1 = re.compile(r"\s*\(\d+\)$")


class IbPort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ca: str = Field(description="HCA name, e.g. mlx5_0.")
    port: int | None = Field(description="Port number on the HCA.")
    state: str | None = Field(default=None, description="active, down, init, armed, active_defer.")
    physical_state: str | None = Field(default=None, description="linkup, polling, disabled, sleep ...")
    rate_gbps: float | None = Field(default=None, description="Link rate in Gb/s (see module doc).")
    link_layer: str | None = Field(default=None, description="InfiniBand or Ethernet, as printed.")
    firmware: str | None = Field(default=None, description="HCA firmware version (not in ibstatus).")
    ca_type: str | None = Field(default=None, description="CA type (MT4129 = ConnectX-7) or vendor_part_id.")
    width: str | None = Field(default=None, description="Active width (ibstatus / ibv_devinfo -v), e.g. 4X.")
    speed: str | None = Field(
        default=None, description="Lane speed or generation as printed (NDR, 100.0 Gbps)."
    )
    base_lid: str | None = None
    sm_lid: str | None = None


class IbstatOutput(ParsedOutput):
    ports: list[IbPort] = Field(default_factory=list)
    format: str | None = Field(default=None, description="ibstat, ibstatus or ibv_devinfo.")


def _norm_state(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    m = _NORM_STATE_RE1.match(value)  # ibstatus: "4: ACTIVE"
    if m:
        value = m.group(1)
    value = _NORM_STATE_RE2.sub("", value)  # ibv_devinfo: "PORT_ACTIVE (4)"
    value = value.strip().upper()
    if value.startswith("PORT_"):
        value = value[5:]
    value = {"INITIALIZE": "INIT", "INITIALIZED": "INIT", "INITIALIZING": "INIT"}.get(value, value)
    return value.lower() or None


def _norm_phys(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    m = _NORM_STATE_RE1.match(value)
    if m:
        value = m.group(1)
    value = _NORM_STATE_RE2.sub("", value)
    value = _NORM_PHYS_RE1.sub("", value).lower()
    return value or None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    m = _NUMBER_RE1.match(value)
    if not m:
        return None
    number = float(m.group(1))
    return number


def _text(text: object) -> str:
    if not isinstance(text, str):
        raise ParseError("ibstat", f"expected text, got {type(text).__name__}")
    body = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not body.strip():
        raise ParseError("ibstat", "empty output")
    return body


_KV = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z0-9_ ]*?)\s*:\s*(?P<value>.*?)\s*$")


@unwrapped_input
def parse_ibstat(text: str) -> IbstatOutput:
    """Parse ``ibstat``, ``ibstatus`` or ``ibv_devinfo`` output (the format is recognised from the text)."""
    body = _text(text)
    if _PARSE_IBSTAT_RE1.search(body):
        return _parse_ibstat(body)
    if _PARSE_IBSTAT_RE2.search(body):
        return _parse_ibstatus(body)
    if _PARSE_IBSTAT_RE3.search(body):
        return _parse_devinfo(body)
    raise ParseError("ibstat", "no \"CA '...'\", \"Infiniband device '...'\" or 'hca_id:' line")


def _finish(ports: list[IbPort], fmt: str, warnings: list[str]) -> IbstatOutput:
    if not ports:
        warnings.append("no port found (the HCAs may have no ports, or the output is cut)")
    for p in ports:
        if p.state is None:
            warnings.append(f"{p.ca} port {p.port}: no state (the output may be cut here)")
    return IbstatOutput(ports=ports, format=fmt, warnings=warnings)


def _port_no(digits: str, number: int, warnings: list[str]) -> int | None:
    """The port number of a port header line; None (and a warning) for a digit run no port has."""
    port_no = bounded_int(digits)
    if port_no is None:
        warnings.append(
            f"line {number}: unreadable port number ({len(digits)} digits); port kept with no number"
        )
    return port_no


def _parse_ibstat(body: str) -> IbstatOutput:
    ports: list[IbPort] = []
    warnings: list[str] = []
    ca: str | None = None
    ca_info: dict[str, str] = {}
    port: dict[str, str] | None = None
    port_no: int | None = None

    def flush() -> None:
        nonlocal port
        if ca is not None and port is not None:
            ports.append(_ibstat_port(ca, port_no, port, ca_info))
        port = None

    for number, line in enumerate(body.split("\n"), start=1):
        if not line.strip():
            continue
        m_ca = _PARSE_IBSTAT_RE4.match(line)
        if m_ca:
            flush()
            ca, ca_info = m_ca.group("ca"), {}
            continue
        m_port = _PARSE_IBSTAT_RE5.match(line)
        if m_port and ca is not None:
            flush()
            port, port_no = {}, _port_no(m_port.group("n"), number, warnings)
            continue
        if line.strip().startswith(("ibpanic", "ibwarn", "ibstat:", "ibstat ")):
            warnings.append(f"line {number}: {line.strip()[:160]}")
            continue
        m = _KV.match(line)
        if m and ca is not None:
            key = m.group("key").strip().lower()
            if port is not None:
                port.setdefault(key, m.group("value"))
            else:
                ca_info.setdefault(key, m.group("value"))
            continue
        warnings.append(f"line {number} ignored: {line.strip()[:160]}")
    flush()
    return _finish(ports, "ibstat", warnings)


def _ibstat_port(ca: str, port_no: int | None, port: dict[str, str], ca_info: dict[str, str]) -> IbPort:
    rate_text = port.get("rate")
    return IbPort(
        ca=ca,
        port=port_no,
        state=_norm_state(port.get("state")),
        physical_state=_norm_phys(port.get("physical state")),
        rate_gbps=_number(rate_text),
        link_layer=port.get("link layer") or None,
        firmware=ca_info.get("firmware version") or None,
        ca_type=ca_info.get("ca type") or None,
        width=port.get("active width") or None,
        speed=None,
        base_lid=port.get("base lid"),
        sm_lid=port.get("sm lid"),
    )


def _parse_ibstatus(body: str) -> IbstatOutput:
    ports: list[IbPort] = []
    warnings: list[str] = []
    current: dict[str, str] | None = None
    ca = ""
    port_no: int | None = None

    def flush() -> None:
        if current is not None:
            rate = current.get("rate")
            width, speed = _rate_parts(rate)
            ports.append(
                IbPort(
                    ca=ca,
                    port=port_no,
                    state=_norm_state(current.get("state")),
                    physical_state=_norm_phys(current.get("phys state")),
                    rate_gbps=_number(rate),
                    link_layer=current.get("link_layer") or None,
                    width=width,
                    speed=speed,
                    base_lid=current.get("base lid"),
                    sm_lid=current.get("sm lid"),
                )
            )

    for number, line in enumerate(body.split("\n"), start=1):
        m_dev = _PARSE_IBSTATUS_RE1.match(line)
        if m_dev:
            flush()
            current, ca, port_no = {}, m_dev.group("ca"), _port_no(m_dev.group("p"), number, warnings)
            continue
        m = _KV.match(line)
        if m and current is not None:
            current.setdefault(m.group("key").strip().lower(), m.group("value"))
        elif line.strip() and current is None:
            warnings.append(f"ignored: {line.strip()[:160]}")
    flush()
    return _finish(ports, "ibstatus", warnings)


_RATE_PARTS = re.compile(r"\((?P<w>\d+X)\s+(?P<s>[^)]+)\)")


def _rate_parts(rate: str | None) -> tuple[str | None, str | None]:
    """Width and speed of a ``400 Gb/sec (4X NDR)`` rate (ibstatus, sysfs)."""
    m = _RATE_PARTS.search(rate) if rate else None
    return (m.group("w"), m.group("s").strip()) if m else (None, None)


_WIDTH = re.compile(r"^(?P<n>\d{1,20})X\b", re.I)


def _parse_devinfo(body: str) -> IbstatOutput:
    ports: list[IbPort] = []
    warnings: list[str] = []
    ca: str | None = None
    ca_info: dict[str, str] = {}
    port: dict[str, str] | None = None
    port_no: int | None = None

    def flush() -> None:
        nonlocal port
        if ca is not None and port is not None:
            width_text = port.get("active_width")
            speed_text = port.get("active_speed")
            rate = None
            if width_text and speed_text:
                wm = _WIDTH.match(width_text.strip())
                lane = _number(speed_text)
                if wm and lane is not None:
                    rate = round(int(wm.group("n")) * lane, 3)
            ports.append(
                IbPort(
                    ca=ca,
                    port=port_no,
                    state=_norm_state(port.get("state")),
                    physical_state=_norm_phys(port.get("phys_state")),
                    rate_gbps=rate,
                    link_layer=port.get("link_layer") or None,
                    firmware=ca_info.get("fw_ver") or None,
                    ca_type=ca_info.get("vendor_part_id") or None,
                    width=_FLUSH_RE1.sub("", width_text) if width_text else None,
                    speed=_FLUSH_RE1.sub("", speed_text) if speed_text else None,
                    base_lid=port.get("port_lid"),
                    sm_lid=port.get("sm_lid"),
                )
            )
        port = None

    for number, line in enumerate(body.split("\n"), start=1):
        if not line.strip():
            continue
        m_hca = _PARSE_DEVINFO_RE1.match(line)
        if m_hca:
            flush()
            ca, ca_info = m_hca.group("ca"), {}
            continue
        m_port = _PARSE_DEVINFO_RE2.match(line)
        if m_port and ca is not None:
            flush()
            port, port_no = {}, _port_no(m_port.group("n"), number, warnings)
            continue
        m = _KV.match(line)
        if m and ca is not None:
            key = m.group("key").strip().lower()
            (port if port is not None else ca_info).setdefault(key, m.group("value"))
    flush()
    return _finish(ports, "ibv_devinfo", warnings)


@unwrapped_detect
def detect_ibstat(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:6000]
    if _PARSE_IBSTAT_RE1.search(head) and "Port " in head:
        return 0.95
    if _PARSE_IBSTAT_RE2.search(head):
        return 0.95
    if _PARSE_IBSTAT_RE3.search(head) and "transport:" in head:
        return 0.95
    return 0.0


_SYSFS = re.compile(
    r"^/sys/class/infiniband/(?P<ca>[^/]+)/(?:ports/(?P<port>\d{1,20})/)?(?P<attr>[a-z_]+):(?P<value>.*)$"
)


def parse_ib_sysfs(text: str) -> IbstatOutput:
    """``grep -H . /sys/class/infiniband/*/{fw_ver,hca_type} .../ports/*/{state,phys_state,rate,link_layer}``
    lines (what the fabric probe reads when ibstat is not installed) -> the same ports as ibstat gives.

    sysfs prints ``4: ACTIVE`` / ``5: LinkUp`` / ``400 Gb/sec (4X NDR)``; they are normalised as above.
    Not registered as a parser kind: no one pastes this, only the probe produces it.
    """
    if not isinstance(text, str):
        raise ParseError("ib-sysfs", f"expected text, got {type(text).__name__}")
    ports: dict[tuple[str, int], dict[str, str]] = {}
    ca_info: dict[str, dict[str, str]] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        m = _SYSFS.match(line.strip())
        if not m:
            continue
        ca, attr, value = m.group("ca"), m.group("attr"), m.group("value").strip()
        if m.group("port") is None:
            ca_info.setdefault(ca, {})[attr] = value
        else:
            ports.setdefault((ca, int(m.group("port"))), {})[attr] = value
    out: list[IbPort] = []
    for (ca, port_no), attrs in sorted(ports.items()):
        info = ca_info.get(ca, {})
        rate = attrs.get("rate")
        width, speed = _rate_parts(rate)
        out.append(
            IbPort(
                ca=ca,
                port=port_no,
                state=_norm_state(attrs.get("state")),
                physical_state=_norm_phys(attrs.get("phys_state")),
                rate_gbps=_number(rate),
                link_layer=attrs.get("link_layer") or None,
                firmware=info.get("fw_ver") or None,
                ca_type=info.get("hca_type") or None,
                width=width,
                speed=speed,
            )
        )
    return _finish(out, "sysfs", [])
