"""nvidia-smi output -> :class:`NvidiaSmiOutput`. The format is detected:

* ``table``: the default table, every driver generation (narrow pre-530 layout, 530-545 layout,
  wide 550+ layout), processes present or absent, truncated product names ("Tesla V100-SXM2...")
  and PCI domains above 0000;
* ``query``: ``nvidia-smi -q`` (also ``-q -d SECTION``), old and new key names ("Clocks Throttle
  Reasons" / "Clocks Event Reasons", "Power Readings" / "GPU Power Readings");
* ``csv``: ``--query-gpu=... --format=csv`` with or without header and units. Without a header
  the columns are taken from a ``--query-gpu=`` command line in the text when there is one.

Keys are documented in docs/parsers-gpu.md. Values nvidia-smi prints as N/A are null.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._paste import is_prompt, unwrapped_detect, unwrapped_input
from ._text import bounded_int, leading_number, normalize, to_int
from .base import ParsedOutput, ParseError

KIND = "nvidia-smi"


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_WHICH_RE1 = re.compile(r"^\|\s+\d+\s+.*\s(On|Off)\s*\|\s*[0-9A-Fa-f]{4,8}:", re.M)
_DETECT_NVIDIA_SMI_RE1 = re.compile(r"^GPU [0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d\s*$", re.M)
_WHICH_RE2 = re.compile(r"^GPU [0-9A-Fa-f]{4,8}:", re.M)


class NvidiaSmiGpu(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int | None = None
    name: str | None = None
    name_truncated: bool = Field(default=False, description="nvidia-smi cut the name ('...').")
    bus_id: str | None = Field(default=None, description="PCI bus id as printed, e.g. 00000000:18:00.0.")
    persistence_mode: bool | None = None
    pstate: str | None = None
    temperature_c: float | None = None
    power_draw_w: float | None = None
    power_limit_w: float | None = None
    memory_used_mib: float | None = None
    memory_total_mib: float | None = None
    utilization_pct: float | None = None
    ecc_uncorrected_volatile: int | None = Field(
        default=None, description="Volatile uncorrectable ECC errors."
    )
    ecc_uncorrected_aggregate: int | None = Field(
        default=None, description="Aggregate (lifetime) uncorrectable ECC errors; -q and CSV only."
    )
    fan_pct: float | None = None
    pcie_gen_current: int | None = None
    pcie_gen_max: int | None = None
    pcie_width_current: int | None = None
    pcie_width_max: int | None = None
    remapped_rows_pending: bool | None = None
    remapped_rows_failure: bool | None = None
    retired_pages_pending: bool | None = None
    clocks_event_reasons_active: list[str] | None = Field(
        default=None, description="Clocks event (throttle) reasons that are Active; null when not reported."
    )
    serial: str | None = None
    uuid: str | None = None
    vbios: str | None = None


class NvidiaSmiProcess(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpu: int | None
    pid: int | None
    type: str | None
    name: str | None
    memory_mib: float | None


class NvidiaSmiOutput(ParsedOutput):
    format: Literal["table", "query", "csv", "list"] = Field(
        description="table (default), query (-q), csv (--query-gpu), list (-L: index, name, UUID only)."
    )
    driver_version: str | None = None
    cuda_version: str | None = None
    gpu_count: int = 0
    attached_gpus: int | None = Field(
        default=None, description="'Attached GPUs' of -q (may exceed gpu_count)."
    )
    gpus: list[NvidiaSmiGpu] = Field(default_factory=list)
    processes: list[NvidiaSmiProcess] | None = Field(
        default=None, description="Processes of the table; null when the output has no process table."
    )


# ----------------------------------------------------------------------------------------- table

# driver R610 renamed the labels: "KMD Version:" (kernel-mode driver) and "CUDA UMD Version:"
_HEADER = re.compile(
    r"NVIDIA-SMI\s+(\S+)\s+(?:Driver|KMD) Version:\s*(\S+)(?:\s+CUDA(?: UMD)? Version:\s*(\S+))?"
)
_TABLE_TOP = re.compile(r"^\|\s*NVIDIA-SMI\s+\d", re.M)
_GPU_HEADER_CELL = re.compile(r"^\|\s*GPU\s+Name\b", re.M)
_GPU_ROW_START = re.compile(r"^\|\s+\d+\s+\S")
# nvidia-smi's own health lines printed around its table (driver and NVML messages)
_HEALTH = re.compile(
    r"^(?:WARNING: .*|Unable to determine the device handle for .*|.*GPU is lost.*|"
    r"Failed to initialize NVML.*|NVIDIA-SMI has failed .*|Unknown Error)$"
)
_BUS = re.compile(r"^\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s+(\S+)\s*$")
# the last word is Persistence-M (On/Off), or on Windows the driver model (WDDM, TCC, MCDM)
_GPU_CELL = re.compile(r"^\s*(\d+)\s+(.*?)\s+(On|Off|WDDM|TCC|MCDM|N/A)\s*$")
_PROC = re.compile(r"^\|\s+(\d+|N/A)\s+(?:(\S+)\s+(\S+)\s+)?(\d+)\s+([CGM+]+)\s+(.*?)\s+(\d+MiB|N/A)\s*\|$")
# the process block's own frame: borders, the column header lines, the === rule
_PROC_FRAME = re.compile(r"^\|(?:[=\s-]*|\s+GPU\s+GI\b.*|\s+GPU\s+PID\b.*|\s+ID\s+ID\b.*)\|?\s*$")
_USED_TOTAL = re.compile(r"(\S+)\s*/\s*(\S+)")
# bounded runs, not \d+: searched from every position of a long digit run, \d+ backtracking is quadratic
_WATTS = r"(?<![\d.])\d{1,12}(?:\.\d{1,12})?W"
_POWER = re.compile(rf"({_WATTS}|N/A|ERR!|\[N/A\])\s*/\s*({_WATTS}|N/A|ERR!|\[N/A\])")


def _bool_onoff(v: str | None) -> bool | None:
    if v is None:
        return None
    s = v.strip().lower()
    if s in ("on", "enabled", "yes", "active"):
        return True
    if s in ("off", "disabled", "no", "not active"):
        return False
    return None


def _parse_table(lines: list[str], warnings: list[str]) -> NvidiaSmiOutput:
    driver = cuda = None
    rows: list[dict[str, Any]] = []
    processes: list[NvidiaSmiProcess] | None = None
    tables = 0
    current: dict[str, Any] | None = None
    expect_second = False
    in_procs = False
    skipping = False
    header_unread = False
    proc_lines = proc_unread = 0
    proc_none = False
    gpu_unread: list[str] = []
    health: list[str] = []
    for line in lines:
        if "NVIDIA-SMI" in line:
            m = _HEADER.search(line)
            if m:
                tables += 1
                if tables > 1:
                    skipping = True
                    continue
                driver, cuda = m.group(2), m.group(3)
            elif _TABLE_TOP.match(line):
                header_unread = True
            continue
        if skipping:
            continue
        if not line.startswith(("|", "+")):
            stripped = line.strip()
            if stripped and _HEALTH.match(stripped):
                health.append(stripped)
        if "Processes:" in line:
            in_procs = True
            processes = []
            continue
        if in_procs:
            if line.startswith("|") and not _PROC_FRAME.match(line):
                if "No running processes found" in line:
                    proc_none = True
                    continue
                proc_lines += 1
                pm = _PROC.match(_to_last_bar(line))
                if pm and processes is not None:
                    processes.append(
                        NvidiaSmiProcess(
                            gpu=to_int(pm.group(1)),
                            pid=to_int(pm.group(4)),
                            type=pm.group(5),
                            name=pm.group(6),
                            memory_mib=leading_number(pm.group(7)),
                        )
                    )
                else:
                    proc_unread += 1
            continue
        if not line.startswith("|"):
            expect_second = False
            continue
        cells = line.split("|")
        if len(cells) < 4:
            continue
        if expect_second and current is not None:
            expect_second = False
            _fill_second_line(current, cells, warnings)
            continue
        gm = _GPU_CELL.match(cells[1])
        bm = _BUS.match(cells[2])
        if (
            not (gm and bm)
            and cells[1].lstrip()[:1].isdigit()
            and _GPU_ROW_START.match(line)
            and "MiB" not in line
            and "%" not in line
        ):
            gpu_unread.append(line.strip()[:80])
        if gm and bm:
            name = gm.group(2).strip()
            ecc = cells[3].strip()
            index = bounded_int(gm.group(1))
            if index is None:
                warnings.append(
                    f"GPU {bm.group(1)}: unreadable index ({len(gm.group(1))} digits); kept without an index"
                )
            current = {
                "index": index,
                "name": name,
                "name_truncated": name.endswith("..."),
                "bus_id": bm.group(1),
                "persistence_mode": _bool_onoff(gm.group(3)),
                "ecc_uncorrected_volatile": to_int(ecc),
            }
            rows.append(current)
            expect_second = True
    if tables > 1:
        warnings.append(f"{tables} nvidia-smi tables in one input: only the first is reported")
    if header_unread:
        warnings.append(
            "the table's header line names no driver or CUDA version this parser knows: both are null"
        )
    if gpu_unread:
        warnings.append(
            f"{len(gpu_unread)} GPU row(s) of the table could not be read, first: {gpu_unread[0]}"
        )
    if proc_unread:
        warnings.append(
            f"{proc_unread} of {proc_lines} process row(s) could not be read: the process list is incomplete"
        )
    if processes == [] and not proc_none and not proc_lines:
        warnings.append("the process table has no rows and does not say 'No running processes found'")
    warnings.extend(f"nvidia-smi said: {h}" for h in health)
    # each GPU's two lines are read into one dict, then validated once into its model
    gpus = [NvidiaSmiGpu(**values) for values in rows]
    if any(g.name_truncated for g in gpus):
        warnings.append("nvidia-smi truncated the product name; use -q or --query-gpu=name for the full name")
    return NvidiaSmiOutput(
        format="table",
        driver_version=driver,
        cuda_version=cuda,
        gpu_count=len(gpus),
        gpus=gpus,
        processes=processes,
    )


def _to_last_bar(line: str) -> str:
    """A table row up to its closing ``|`` (whatever a terminal or an editor left after it)."""
    end = line.rfind("|")
    return line[: end + 1] if end > 0 else line.rstrip()


def _fill_second_line(gpu: dict[str, Any], cells: list[str], warnings: list[str]) -> None:
    # "| N/A   30C    P0            100W /  700W |       1MiB /  81559MiB |      0%      Default |"
    first = cells[1]
    new = gpu
    power = None
    pm = _POWER.search(first)
    if pm:
        power = pm.group(1)
        new["power_limit_w"] = leading_number(pm.group(2))
        tokens = first[: pm.start()].split()
    else:
        tokens = first.split()
    if len(tokens) >= 3:
        fan, temp, perf = tokens[0], tokens[1], tokens[2]
        new["fan_pct"] = leading_number(fan)
        new["temperature_c"] = leading_number(temp)
        new["pstate"] = perf if perf.startswith("P") else None
    new["power_draw_w"] = leading_number(power)
    mem = _USED_TOTAL.search(cells[2])
    if mem:
        new["memory_used_mib"] = leading_number(mem.group(1))
        new["memory_total_mib"] = leading_number(mem.group(2))
    util = cells[3].split()
    if util:
        new["utilization_pct"] = leading_number(util[0])


# ----------------------------------------------------------------------------------------- -q

_KV = re.compile(r"^( *)([^:]+?)\s*:\s?(.*?)\s*$")
_GPU_Q = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_TOP_KEYS = {"Driver Version": "driver", "CUDA Version": "cuda", "Attached GPUs": "attached"}


_ELIDED = frozenset(("...", "…", "[...]"))


def _parse_query(lines: list[str], warnings: list[str]) -> NvidiaSmiOutput:
    top: dict[str, str] = {}
    sections: list[tuple[str, dict[str, str]]] = []
    current: dict[str, str] | None = None
    stack: list[tuple[int, str]] = []
    elided = False
    logs = 0
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if "NVSMI LOG" in line:
            logs += 1
            if logs > 1:
                break
            continue
        if stripped in _ELIDED:
            elided = True
            continue
        gm = _GPU_Q.match(line) if line.startswith("GPU ") else None
        if gm:
            current = {}
            sections.append((gm.group(1), current))
            stack = []
            continue
        indent = len(line) - len(line.lstrip(" "))
        # "key : value" (what `^( *)([^:]+?)\s*:\s?(.*?)\s*$` matched, without the regex)
        colon = line.find(":")
        value: str | None
        if colon <= 0:
            key, value = stripped, None
        else:
            key = line[:colon].strip()
            value = line[colon + 1 :]
            if value[:1].isspace():
                value = value[1:]
            value = value.rstrip()
        if current is None:
            if value is not None and key in _TOP_KEYS:
                top[_TOP_KEYS[key]] = value
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        # stack entries carry their joined path prefix ("A/B/"), so a key's path is one concatenation
        path = stack[-1][1] + key if stack else key
        if value is None or value == "":
            stack.append((indent, path + "/"))
            if value == "":
                current[path] = ""
        else:
            current[path] = value
    gpus = [_gpu_from_query(i, bus, kv) for i, (bus, kv) in enumerate(sections)]
    attached = to_int(top.get("attached"))
    if logs > 1:
        warnings.append("several -q logs in one input: only the first is reported")
    if elided:
        warnings.append("the output contains author-elided lines ('...'): some GPUs or fields are missing")
    if attached is not None and attached != len(gpus):
        warnings.append(f"'Attached GPUs' says {attached} but {len(gpus)} GPU section(s) were found")
    return NvidiaSmiOutput(
        format="query",
        driver_version=top.get("driver"),
        cuda_version=top.get("cuda"),
        gpu_count=len(gpus),
        attached_gpus=attached,
        gpus=gpus,
        processes=None,
    )


def _yes_no(v: str | None) -> bool | None:
    return _bool_onoff(v)


def _first(kv: dict[str, str], *keys: str) -> str | None:
    for k in keys:
        v = kv.get(k)
        if v is not None:
            return v
    return None


def _gpu_from_query(index: int, bus: str, kv: dict[str, str]) -> NvidiaSmiGpu:
    name = kv.get("Product Name")
    reasons: list[str] | None = None
    for section in ("Clocks Event Reasons", "Clocks Throttle Reasons"):
        prefix = section + "/"
        items = [(k[len(prefix) :], v) for k, v in kv.items() if k.startswith(prefix)]
        if items:
            reasons = [k.rsplit("/", 1)[-1] for k, v in items if v.strip().lower() == "active"]
            break
    ecc_vals = _ecc_uncorrected(kv, "ECC Errors/Volatile/")
    ecc_aggregate = _ecc_uncorrected(kv, "ECC Errors/Aggregate/")
    return NvidiaSmiGpu(
        index=index,
        name=name,
        name_truncated=bool(name and name.endswith("...")),
        bus_id=bus,
        persistence_mode=_bool_onoff(kv.get("Persistence Mode")),
        pstate=kv.get("Performance State"),
        temperature_c=leading_number(kv.get("Temperature/GPU Current Temp")),
        power_draw_w=leading_number(
            _first(
                kv,
                "GPU Power Readings/Instantaneous Power Draw",
                "GPU Power Readings/Power Draw",
                "Power Readings/Power Draw",
                "GPU Power Readings/Average Power Draw",
            )
        ),
        power_limit_w=leading_number(
            _first(
                kv,
                "GPU Power Readings/Current Power Limit",
                "Power Readings/Enforced Power Limit",
                "Power Readings/Power Limit",
                "GPU Power Readings/Enforced Power Limit",
            )
        ),
        memory_used_mib=leading_number(kv.get("FB Memory Usage/Used")),
        memory_total_mib=leading_number(kv.get("FB Memory Usage/Total")),
        utilization_pct=leading_number(kv.get("Utilization/Gpu")),
        ecc_uncorrected_volatile=sum(ecc_vals) if ecc_vals else None,
        ecc_uncorrected_aggregate=sum(ecc_aggregate) if ecc_aggregate else None,
        fan_pct=leading_number(kv.get("Fan Speed")),
        pcie_gen_current=to_int(kv.get("PCI/GPU Link Info/PCIe Generation/Current")),
        pcie_gen_max=to_int(kv.get("PCI/GPU Link Info/PCIe Generation/Max")),
        pcie_width_current=_width(kv.get("PCI/GPU Link Info/Link Width/Current")),
        pcie_width_max=_width(kv.get("PCI/GPU Link Info/Link Width/Max")),
        remapped_rows_pending=_yes_no(kv.get("Remapped Rows/Pending")),
        remapped_rows_failure=_yes_no(kv.get("Remapped Rows/Remapping Failure Occurred")),
        retired_pages_pending=_yes_no(
            _first(kv, "Retired Pages/Pending Page Blacklist", "Retired Pages/Pending Page Retirement")
        ),
        clocks_event_reasons_active=reasons,
        serial=_na(kv.get("Serial Number")),
        uuid=_na(kv.get("GPU UUID")),
        vbios=_na(kv.get("VBIOS Version")),
    )


def _ecc_uncorrected(kv: dict[str, str], prefix: str) -> list[int]:
    """Uncorrectable counters under ``prefix`` (SRAM parity, SEC-DED, DRAM; old drivers' Double Bit Total)."""
    vals: list[int] = []
    for k, v in kv.items():
        if k.startswith(prefix):
            sub = k[len(prefix) :]
            if "Uncorr" in sub or (sub.startswith("Double Bit") and sub.endswith("Total")):
                n = to_int(v)
                if n is not None:
                    vals.append(n)
    return vals


def _na(v: str | None) -> str | None:
    if v is None or v.strip().upper() in ("N/A", "", "[N/A]"):
        return None
    return v.strip()


def _width(v: str | None) -> int | None:
    return to_int(v.strip().rstrip("xX").lstrip("xX")) if v else None


# ----------------------------------------------------------------------------------------- csv

_QUERY_CMD = re.compile(r"--query-gpu[= ]([A-Za-z0-9_.,]+)")
_CSV_FIELD = re.compile(r"^[a-z_][a-z0-9_.]*(?: \[[^\]]*\])?$")

# clocks_event_reasons bitmask (nvml.h nvmlClocksEventReason*)
_REASON_BITS = (
    (0x1, "Idle"),
    (0x2, "Applications Clocks Setting"),
    (0x4, "SW Power Cap"),
    (0x8, "HW Slowdown"),
    (0x10, "Sync Boost"),
    (0x20, "SW Thermal Slowdown"),
    (0x40, "HW Thermal Slowdown"),
    (0x80, "HW Power Brake Slowdown"),
    (0x100, "Display Clock Setting"),
)


def _csv_header(line: str) -> list[str] | None:
    fields = [f.strip() for f in line.split(",")]
    if (
        len(fields) >= 1
        and all(_CSV_FIELD.match(f) for f in fields)
        and any("." in f or f in _CSV_MAP for f in fields)
    ):
        return [f.split(" [", 1)[0] for f in fields]
    return None


_CSV_MAP = {
    "index": "index",
    "name": "name",
    "gpu_name": "name",
    "pci.bus_id": "bus_id",
    "gpu_bus_id": "bus_id",
    "persistence_mode": "persistence_mode",
    "pstate": "pstate",
    "temperature.gpu": "temperature_c",
    "power.draw": "power_draw_w",
    "power.draw.instant": "power_draw_w",
    "power.draw.average": "power_draw_w",
    "power.limit": "power_limit_w",
    "enforced.power.limit": "power_limit_w",
    "memory.used": "memory_used_mib",
    "memory.total": "memory_total_mib",
    "utilization.gpu": "utilization_pct",
    "ecc.errors.uncorrected.volatile.total": "ecc_uncorrected_volatile",
    "ecc.errors.uncorrected.aggregate.total": "ecc_uncorrected_aggregate",
    "pcie.link.gen.current": "pcie_gen_current",
    "pcie.link.gen.gpucurrent": "pcie_gen_current",
    "pcie.link.gen.max": "pcie_gen_max",
    "pcie.link.gen.gpumax": "pcie_gen_max",
    "pcie.link.width.current": "pcie_width_current",
    "pcie.link.width.max": "pcie_width_max",
    "serial": "serial",
    "uuid": "uuid",
    "gpu_uuid": "uuid",
    "vbios_version": "vbios",
    "fan.speed": "fan_pct",
    "clocks_event_reasons.active": "clocks_event_reasons_active",
    "clocks_throttle_reasons.active": "clocks_event_reasons_active",
    "remapped_rows.pending": "remapped_rows_pending",
    "remapped_rows.failure": "remapped_rows_failure",
    "retired_pages.pending": "retired_pages_pending",
}
_FLOAT_FIELDS = {
    "temperature_c",
    "power_draw_w",
    "power_limit_w",
    "memory_used_mib",
    "memory_total_mib",
    "utilization_pct",
    "fan_pct",
}
_INT_FIELDS = {
    "index",
    "ecc_uncorrected_volatile",
    "ecc_uncorrected_aggregate",
    "pcie_gen_current",
    "pcie_gen_max",
    "pcie_width_current",
    "pcie_width_max",
}
_BOOL_FIELDS = {"persistence_mode", "remapped_rows_pending", "remapped_rows_failure", "retired_pages_pending"}


def _reasons_from_mask(v: str) -> list[str] | None:
    n = to_int(v)
    if n is None:
        return None
    return [name for bit, name in _REASON_BITS if n & bit]


def _parse_csv(lines: list[str], warnings: list[str]) -> NvidiaSmiOutput:
    columns: list[str] | None = None
    driver: str | None = None
    gpus: list[NvidiaSmiGpu] = []
    unnamed = 0
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if "--query-gpu" in s:
            m = _QUERY_CMD.search(s)
            if m:
                columns = [c for c in m.group(1).split(",") if c]
            continue
        header = _csv_header(s) if "," in s or _CSV_FIELD.match(s) else None
        if header is not None:
            columns = header
            continue
        if s.startswith("#") or is_prompt(s):
            continue
        values = [v.strip() for v in s.split(",")]
        if columns is None:
            unnamed += 1
            continue
        if len(values) != len(columns):
            warnings.append(f"CSV row with {len(values)} values for {len(columns)} columns skipped")
            continue
        gpu = NvidiaSmiGpu()
        for col, val in zip(columns, values, strict=False):
            if col == "driver_version":
                driver = driver or (val if val and "N/A" not in val else None)
                continue
            field = _CSV_MAP.get(col)
            if field is None:
                continue
            if field in _FLOAT_FIELDS:
                setattr(gpu, field, leading_number(val))
            elif field in _INT_FIELDS:
                setattr(gpu, field, to_int(val) if field == "index" else _int_lead(val))
            elif field in _BOOL_FIELDS:
                setattr(gpu, field, _bool_onoff(val))
            elif field == "clocks_event_reasons_active":
                gpu.clocks_event_reasons_active = _reasons_from_mask(val)
            else:
                setattr(gpu, field, _na(val))
        if gpu.name:
            gpu.name_truncated = gpu.name.endswith("...")
        if gpu.index is None:
            gpu.index = len(gpus)
        gpus.append(gpu)
    if unnamed:
        warnings.append(
            f"{unnamed} CSV row(s) without a header or --query-gpu command line:"
            " columns unknown, rows skipped"
        )
    return NvidiaSmiOutput(format="csv", driver_version=driver, gpu_count=len(gpus), gpus=gpus)


def _int_lead(v: str) -> int | None:
    f = leading_number(v)
    return int(f) if f is not None and f.is_integer() else None


# ----------------------------------------------------------------------------------------- entry


_LOG_BANNER = re.compile(r"^=+NVSMI LOG=+\s*$", re.M)
_QUERY_KV = re.compile(r"^ {4,}\S[^:]*?\s+: ", re.M)
_LIST_GPU = re.compile(r"^GPU (\d{1,6}): (.+?) \(UUID: (GPU-[0-9A-Fa-f-]+)\)\s*$")
_LIST_MIG = re.compile(r"^\s+MIG \S+\s+Device\s+\d+: \(UUID: MIG-[0-9A-Fa-f-]+\)\s*$")


_QUERY_LINE = re.compile(r"^(?:\S*[$#>] ?|\+ )?(?:sudo )?(?:\S*/)?nvidia-smi\b.*--query-gpu[= ]")


def _value_row(s: str, width: int) -> bool:
    """A CSV row of ``width`` values as nvidia-smi prints them: short fields, not a sentence."""
    fields = s.split(",")
    return len(fields) == width and all(len(f) <= 64 and len(f.split()) <= 6 for f in fields)


def _csv_rows_follow(lines: list[str]) -> bool:
    """A ``--query-gpu`` header (or the nvidia-smi command line) followed by a row with as many fields."""
    width: int | None = None
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if "--query-gpu" in s:
            m = _QUERY_CMD.search(s) if _QUERY_LINE.match(s) else None
            width = len([c for c in m.group(1).split(",") if c]) if m else None
            continue
        header = _csv_header(s) if "," in s else None
        if header is not None and len(header) >= 2:
            width = len(header)
            continue
        if width is not None and not is_prompt(s) and _value_row(s, width):
            return True
        width = None
    return False


def _which(text: str) -> str | None:
    """The format by its structure (never by a word that prose can contain)."""
    # substring checks first: a regex over a large text only when its words are there at all
    if ("NVSMI LOG" in text and _LOG_BANNER.search(text)) or (
        " : " in text and _WHICH_RE2.search(text) and _QUERY_KV.search(text)
    ):
        return "query"
    if _TABLE_TOP.search(text) or _GPU_HEADER_CELL.search(text) or _WHICH_RE1.search(text):
        return "table"
    lines = text.split("\n", 200)[:200]
    if any(_LIST_GPU.match(line) for line in lines):
        return "list"
    if _csv_rows_follow(lines):
        return "csv"
    return None


def _parse_list(lines: list[str], warnings: list[str]) -> NvidiaSmiOutput:
    gpus: list[NvidiaSmiGpu] = []
    mig = 0
    for line in lines:
        m = _LIST_GPU.match(line)
        if m:
            name = m.group(2).strip()
            gpus.append(
                NvidiaSmiGpu(
                    index=bounded_int(m.group(1)),
                    name=name,
                    name_truncated=name.endswith("..."),
                    uuid=m.group(3),
                )
            )
        elif _LIST_MIG.match(line):
            mig += 1
    if mig:
        warnings.append(f"{mig} MIG device line(s) listed (MIG devices are not modelled)")
    warnings.append("nvidia-smi -L lists GPUs only: no health field (ECC, power, clocks) is in it")
    return NvidiaSmiOutput(format="list", gpu_count=len(gpus), gpus=gpus)


@unwrapped_input
def parse_nvidia_smi(text: str) -> NvidiaSmiOutput:
    """Parse any nvidia-smi output format. Raises :class:`ParseError` when it is none of them."""
    if not isinstance(text, str):
        raise ParseError(KIND, "expected text")
    text = normalize(text)
    fmt = _which(text)
    if fmt is None:
        raise ParseError(
            KIND,
            "expected nvidia-smi output: the default table, 'nvidia-smi -q', -L,"
            " or '--query-gpu ... --format=csv' rows",
        )
    lines = text.split("\n")
    warnings: list[str] = []
    if fmt == "table":
        out = _parse_table(lines, warnings)
    elif fmt == "query":
        out = _parse_query(lines, warnings)
    elif fmt == "list":
        out = _parse_list(lines, warnings)
    else:
        out = _parse_csv(lines, warnings)
    if not out.gpus and out.driver_version is None:
        raise ParseError(KIND, f"recognised an nvidia-smi {fmt} but found no GPU and no driver version in it")
    out.warnings = warnings
    return out


@unwrapped_detect
def detect_nvidia_smi(text: str) -> float:
    """Confidence from the output's structure: the table's header line or GPU rows, the -q banner or
    GPU sections of indented ``key : value`` lines, -L GPU lines, a CSV header followed by its rows."""
    if not isinstance(text, str):
        return 0.0
    head = text[:100_000]
    if _LOG_BANNER.search(head) or (_TABLE_TOP.search(head) and _HEADER.search(head)):
        return 0.95
    if _GPU_HEADER_CELL.search(head) and _WHICH_RE1.search(head):
        return 0.9
    if _DETECT_NVIDIA_SMI_RE1.search(head) and _QUERY_KV.search(head):
        return 0.8
    lines = head.split("\n", 200)[:200]
    listed = sum(1 for line in lines if _LIST_GPU.match(line))
    if listed and (listed + sum(1 for line in lines if _LIST_MIG.match(line))) * 2 > len(
        [line for line in lines if line.strip()]
    ):
        return 0.9
    if _csv_rows_follow(lines):
        return 0.8
    if _WHICH_RE1.search(head):
        return 0.7
    return 0.0


# ----------------------------------------------------------------------------------- nvlink -s

_NVLINK_LINK = re.compile(r"^\s*Link \d+:\s*(.*)$", re.MULTILINE)


def nvlink_inactive(text: str) -> int:
    """Links ``nvidia-smi nvlink -s`` prints as inactive (one ``Link N: <speed>|<inactive>`` line each)."""
    return sum(1 for state in _NVLINK_LINK.findall(text) if "inactive" in state.lower())
