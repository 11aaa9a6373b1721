"""Kernel-log Xid parser on real dmesg / dmesg -T / journal lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.kernel_log import detect_xid, parse_xid
from clustermax.parsers.xid_catalog import XID_CATALOG, xid_info

DATA = Path(__file__).resolve().parents[1] / "data" / "xid"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_dmesg_T() -> None:
    out = parse_xid(load("dmesg-T-akash-43-31-94.log"))
    assert out.xids == [31, 43, 94] and len(out.events) == 4 and not out.fallen_off_bus
    e = out.events[0]
    assert (e.xid, e.pci, e.pid, e.process, e.message) == (
        43,
        "0000:00:05",
        1045242,
        "pt_main_thread",
        "Ch 00000008",
    )
    assert e.timestamp == "2024-07-31T23:14:18" and e.timestamp_raw == "Wed Jul 31 23:14:18 2024"
    assert (e.severity, e.category, e.line) == ("low", "application", 5)
    last = out.events[-1]
    assert (last.xid, last.pid, last.process) == (94, None, None)  # pid='<unknown>', name=<unknown>
    assert last.message == "Contained: SM (0x1). RST: No, D-RST: No"
    assert last.timestamp == "2024-08-09T13:32:56"  # "Fri Aug  9" (two spaces)


def test_dmesg_ctime_ignores_other_lines() -> None:
    out = parse_xid(load("dmesg-ctime-gpud-13-109.log"))
    assert [e.xid for e in out.events] == [13, 13, 13, 109]
    assert out.events[3].process == "pt_main_thread" and out.events[3].pid == 1797828
    assert out.critical_events == 0


def test_fallen_off_bus_without_xid_counts_as_79() -> None:
    out = parse_xid(load("dmesg-fallen-off-bus-no-xid.log"))
    assert out.fallen_off_bus and out.xids == [79]
    (e,) = out.events
    assert (e.pci, e.timestamp, e.severity, e.category) == (
        "0000:b3:00.0",
        1843.308145,
        "critical",
        "hardware",
    )
    assert out.critical_events == 1


def test_fallen_off_bus_with_xid_is_not_counted_twice() -> None:
    text = "[ 1843.300000] NVRM: Xid (PCI:0000:b3:00): 79, pid=0, GPU has fallen off the bus.\n" + load(
        "dmesg-fallen-off-bus-no-xid.log"
    )
    out = parse_xid(text)
    assert [e.xid for e in out.events] == [79]
    assert out.events[0].timestamp == 1843.3 and out.events[0].message == "GPU has fallen off the bus."


def test_cause_xid() -> None:
    out = parse_xid(load("kernel-45-caused-by-previous-xid.log"))
    assert [e.cause_xid for e in out.events] == [149, 145, 145, 145, 149, 145, 145]
    assert all(e.category == "informational" for e in out.events)


def test_gsp_timeouts_in_a_report() -> None:
    out = parse_xid(load("kmsg-gsp-timeout-119.log"))
    assert out.xids == [119] and out.critical_events == 2
    assert all(e.timestamp is None for e in out.events)


@pytest.mark.parametrize(
    ("line", "ts", "raw"),
    [
        (
            "[ 9001.000001] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus.",
            9001.000001,
            None,
        ),
        (
            "2024-01-15T03:00:00,000000+00:00 h kernel: NVRM: Xid (PCI:0000:3b:00): 48, pid=1, name=p, DBE",
            "2024-01-15T03:00:00.000000+00:00",
            None,
        ),
        ("Feb 14 05:03:41 gpu-1 kernel: NVRM: Xid (PCI:0000:3b:00): 48, DBE", None, "Feb 14 05:03:41"),
        ("Feb 14 05:03:41 gpu-1 kernel: [ 12.5] NVRM: Xid (PCI:0000:3b:00): 48, DBE", 12.5, "12.5"),
    ],
)
def test_timestamp_shapes(line: str, ts: float | str | None, raw: str | None) -> None:
    (e,) = parse_xid(line + "\n").events
    assert e.timestamp == ts
    if raw is not None:
        assert e.timestamp_raw == raw


def test_clean_log_has_no_events() -> None:
    out = parse_xid("[    0.000000] Linux version 6.8.0\n[    1.0] usb 1-1: new device\n")
    assert out.events == [] and out.xids == [] and out.fallen_off_bus is False


@pytest.mark.parametrize("text", ["", "   \n", "just some words\nand more\n"])
def test_not_a_kernel_log(text: str) -> None:
    with pytest.raises(ParseError, match="kernel log"):
        parse_xid(text)


def test_catalog() -> None:
    assert xid_info(79).category == "hardware" and xid_info(79).severity == "critical"
    assert xid_info(13).category == "application"
    assert xid_info(63).category == "reset-required"
    assert xid_info(99999).category == "unknown"
    for code, info in XID_CATALOG.items():
        assert info.xid == code and info.action


def test_detect() -> None:
    for f in DATA.glob("*.log"):
        assert detect_xid(load(f.name)) >= 0.9, f.name
        assert (DATA / f"{f.name}.source").is_file()


# ---------------------------------------------------- one failure, however many ways its lines name it


@pytest.mark.parametrize(
    "log",
    [
        "dmesg-xid79-two-names-nvswitch-sxid.log",
        "md-quoted-dmesg-xid79-two-names-sxid-as-published.txt",
        "journal-syslog-fallen-off-bus-two-names-vfio.log",
    ],
)
def test_fallen_off_bus_named_twice_counts_once(log: str) -> None:
    """Xid 79 on PCI:0000:91:00 and 'NVRM: GPU 0000:91:00.0: GPU has fallen off the bus.' are one failure."""
    out = parse_xid(load(log))
    assert [e.xid for e in out.events].count(79) == 1 and out.fallen_off_bus
    assert out.critical_events == 1
    assert any(
        w.startswith("1 'fallen off the bus' message(s) tell a failure already reported")
        for w in out.warnings
    )


def test_nvswitch_sxid_lines_are_said_not_dropped() -> None:
    out = parse_xid(load("dmesg-xid79-two-names-nvswitch-sxid.log"))
    assert (
        "7 NVSwitch SXid line(s) (SXid 20034 on 3 switch(es)) are not Xid events and are not evaluated"
        in out.warnings
    )


def test_gpu_id_spellings() -> None:
    from clustermax.parsers.kernel_log import gpu_id

    spellings = ["PCI:0000:91:00", "0000:91:00.0", "00000000:91:00.0", "91:00", "0000:91:00"]
    assert {gpu_id(s) for s in spellings} == {"0000:91:00"}
    assert gpu_id("PCI:0001:0a:00") == "0001:0a:00" and gpu_id("GPU-1234") is None


def test_two_falls_of_one_gpu_far_apart_are_two_events() -> None:
    """The same GPU falling off again later (another Xid 79 after the log went on) is not merged."""
    lines = load("journal-syslog-fallen-off-bus-two-names-vfio.log").split("\n")
    noise = [lines[2]] * 30  # the log's own PCIe AER line, repeated as a long log repeats it
    out = parse_xid("\n".join(lines[:2] + noise + lines[1:2]))
    assert [e.xid for e in out.events].count(79) == 2


def test_words_in_prose_are_no_event() -> None:
    """'fallen off the bus' in a sentence (a README, an issue text) is not a kernel record."""
    prose = (
        "When a GPU has fallen off the bus the driver prints NVRM: lines.\n"
        "Reboot the node once the GPU has fallen off the bus.\n"
    )
    with pytest.raises(ParseError, match="expected a kernel log"):
        parse_xid(prose)
    assert detect_xid(prose) == 0.0
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert detect_xid(readme) == 0.0
    with pytest.raises(ParseError):
        parse_xid(readme)
