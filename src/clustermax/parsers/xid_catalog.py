"""NVIDIA Xid codes: what each means, which class it belongs to, and how severe it is for a node.

Sources:

* NVIDIA, "XID Errors" and "Analyzing the Xid catalog" (docs.nvidia.com/deploy/xid-errors/,
  docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html): meaning and the recommended
  immediate action per code (restart the application, reset the GPU, reboot, contact support).
* clustermax domain notes, peer-tools.md section 3 "Xid codes that matter" (AzNHC fail list,
  NVIDIA Health Validation criticals).

Classes (``XidInfo.category``):

* ``application``: usually caused by the application (bad memory access, killed context); count
  them, do not fail the node for them;
* ``driver``: driver/firmware software error; investigate, usually recoverable;
* ``hardware``: points at the GPU, its memory, NVLink or the PCIe path; drain and RMA on repeat;
* ``reset-required``: the GPU needs a reset (or the node a reboot) before it is trustworthy;
* ``informational``: a consequence of an earlier Xid (e.g. 45) or a notice.

``gpu.xid_critical`` counts events whose class is ``hardware`` or ``reset-required``.
Codes not in the table are class ``unknown`` with severity ``medium``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

XidClass = Literal["application", "driver", "hardware", "reset-required", "informational", "unknown"]
XidSeverity = Literal["critical", "high", "medium", "low", "info"]


@dataclass(frozen=True)
class XidInfo:
    xid: int
    name: str
    category: XidClass
    severity: XidSeverity
    action: str


def _x(xid: int, name: str, category: XidClass, severity: XidSeverity, action: str) -> XidInfo:
    return XidInfo(xid, name, category, severity, action)


XID_CATALOG: dict[int, XidInfo] = {
    info.xid: info
    for info in (
        _x(
            8,
            "GPU stopped processing (timeout)",
            "driver",
            "medium",
            "Restart the application; investigate on repeat.",
        ),
        _x(
            13,
            "Graphics engine exception",
            "application",
            "low",
            "Application error: restart it, check its code.",
        ),
        _x(
            31,
            "GPU memory page fault (MMU fault)",
            "application",
            "low",
            "Application error (illegal address).",
        ),
        _x(
            32,
            "Invalid or corrupted push buffer stream",
            "driver",
            "medium",
            "Driver/PCIe issue: check the PCIe link.",
        ),
        _x(38, "Driver firmware error", "driver", "high", "Update the driver; reset the GPU."),
        _x(43, "GPU stopped processing", "application", "low", "Application fault: restart the application."),
        _x(44, "Graphics engine fault during context switch", "driver", "medium", "Restart the application."),
        _x(
            45,
            "Preemptive cleanup, due to previous errors",
            "informational",
            "info",
            "Follows another Xid; see it.",
        ),
        _x(46, "GPU stopped processing", "reset-required", "critical", "Reset the GPU; RMA on repeat."),
        _x(48, "Double-bit ECC error (DBE)", "hardware", "critical", "Reset the GPU; RMA on repeat."),
        _x(56, "Display engine error", "hardware", "medium", "Hardware: investigate on repeat."),
        _x(57, "Error programming video memory interface", "hardware", "high", "Hardware: drain and RMA."),
        _x(58, "Unstable video memory interface detected", "hardware", "high", "Hardware: drain and RMA."),
        _x(61, "Internal micro-controller breakpoint/warning", "reset-required", "high", "Reset the GPU."),
        _x(
            62,
            "Internal micro-controller halt",
            "reset-required",
            "critical",
            "Reset the GPU; RMA on repeat.",
        ),
        _x(
            63,
            "ECC page retirement or row remapping recording event",
            "reset-required",
            "medium",
            "A remap is pending: reset the GPU to apply it.",
        ),
        _x(
            64,
            "ECC page retirement or row remapper recording failure",
            "hardware",
            "critical",
            "RMA candidate.",
        ),
        _x(65, "Video processor exception", "hardware", "high", "Reset the GPU; RMA on repeat."),
        _x(68, "NVDEC0 exception", "driver", "medium", "Investigate (video decoder)."),
        _x(69, "Graphics engine class error", "driver", "medium", "Investigate; restart the application."),
        _x(73, "NVENC2 error", "driver", "medium", "Investigate (video encoder)."),
        _x(
            74, "NVLink error", "hardware", "high", "Check NVLink counters; reset; persistent means hardware."
        ),
        _x(79, "GPU has fallen off the bus", "hardware", "critical", "Drain, power-cycle, RMA on repeat."),
        _x(80, "Corrupted data sent to GPU", "hardware", "high", "Check the PCIe path; reset the GPU."),
        _x(81, "VGA subsystem error", "hardware", "high", "Hardware: drain and investigate."),
        _x(
            92,
            "High single-bit ECC error rate",
            "hardware",
            "medium",
            "Degrading memory: watch, RMA on growth.",
        ),
        _x(
            94,
            "Contained ECC error",
            "application",
            "medium",
            "Restart the affected application; a row remap is pending (reset when convenient).",
        ),
        _x(
            95,
            "Uncontained ECC error",
            "reset-required",
            "critical",
            "Reset the GPU: every application is affected.",
        ),
        _x(
            109,
            "Context switch timeout",
            "driver",
            "medium",
            "Restart the application; investigate on repeat.",
        ),
        _x(
            119,
            "GSP RPC timeout",
            "reset-required",
            "critical",
            "Reset the GPU or reboot; update driver/firmware.",
        ),
        _x(
            120, "GSP error", "reset-required", "critical", "Reset the GPU or reboot; update driver/firmware."
        ),
        _x(121, "C2C link error", "hardware", "high", "Reset; persistent means hardware."),
        _x(122, "SPI PMU RPC read failure", "driver", "medium", "Investigate."),
        _x(123, "SPI PMU RPC write failure", "driver", "medium", "Investigate."),
        _x(136, "Link training failure", "hardware", "high", "Hardware: check the link; reset."),
        _x(140, "Unrecovered ECC error", "reset-required", "critical", "Reset the GPU; RMA on repeat."),
        _x(143, "GPU initialization failure", "hardware", "critical", "Reset or reboot; RMA on repeat."),
        _x(144, "NVLink SAW error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(145, "NVLink RLW error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(146, "NVLink TLW error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(147, "NVLink TREX error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(148, "NVLink NVLPW_CTRL error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(149, "NVLink NETIR error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(150, "NVLink MSE error", "hardware", "high", "NVLink: reset; persistent means hardware."),
        _x(
            154,
            "GPU recovery action changed",
            "reset-required",
            "high",
            "Read the required action (reset, reboot or drain) in the message and apply it.",
        ),
    )
}

CRITICAL_CLASSES: frozenset[str] = frozenset({"hardware", "reset-required"})


def xid_info(xid: int) -> XidInfo:
    """Catalog entry of ``xid``; an ``unknown``/``medium`` entry for codes not in the table."""
    info = XID_CATALOG.get(xid)
    if info is not None:
        return info
    return XidInfo(xid, "Unknown Xid", "unknown", "medium", "Look it up in the NVIDIA Xid catalog.")
