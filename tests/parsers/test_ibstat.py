"""ibstat / ibstatus / ibv_devinfo parser on real outputs (tests/data/ibstat/, provenance in .source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers import ParseError
from clustermax.parsers.infiniband import parse_ibstat
from clustermax.parsers.registry import detect

DATA = Path(__file__).resolve().parents[1] / "data" / "ibstat"


def ports(name: str) -> list[tuple[object, ...]]:
    out = parse_ibstat((DATA / name).read_text())
    return [
        (p.ca, p.port, p.state, p.physical_state, p.rate_gbps, p.link_layer, p.firmware) for p in out.ports
    ]


def test_cx7_ndr_400g_infiniband() -> None:
    got = ports("h20-cx7-400g-ib-deepep-303.txt")
    assert got[:2] == [
        ("mlx5_0", 1, "active", "linkup", 400.0, "InfiniBand", "28.43.2026"),
        ("mlx5_1", 1, "active", "linkup", 400.0, "InfiniBand", "28.43.2026"),
    ]
    # the third CA is cut mid-port in the source: what is there is kept, the rest is null
    assert got[2] == ("mlx5_2", 1, "active", "linkup", None, None, "28.43.2026")


def test_ports_down_disabled_and_polling() -> None:
    assert ports("cx6-200g-one-down-nccl-tests-128.txt")[1] == (
        "mlx5_1",
        1,
        "down",
        "disabled",
        10.0,
        "InfiniBand",
        "20.33.1048",
    )
    assert ports("cx7-down-polling-gpud-482.txt") == [
        ("mlx5_10", 1, "down", "polling", 10.0, "InfiniBand", "28.39.1002")
    ]
    roce = ports("gb10-cx7-roce-one-disabled.txt")
    assert [(p[0], p[2], p[4], p[5]) for p in roce] == [
        ("roceP2p1s0f0", "active", 200.0, "Ethernet"),
        ("roceP2p1s0f1", "down", 40.0, "Ethernet"),
        ("rocep1s0f0", "active", 200.0, "Ethernet"),
    ]
    assert ports("cx6dx-100g-roce-l2fwd-nv-6.txt")[0][4] == 100.0


def test_ibstatus() -> None:
    out = parse_ibstat((DATA / "ibstatus-100g-eth-nccl-1866.txt").read_text())
    assert out.format == "ibstatus"
    first = out.ports[0]
    assert (first.ca, first.port, first.state, first.physical_state, first.rate_gbps) == (
        "mlx5_0",
        1,
        "active",
        "linkup",
        100.0,
    )
    assert (first.width, first.speed, first.link_layer, first.firmware) == ("4X", "EDR", "Ethernet", None)
    assert out.ports[2].state is None and any("mlx5_2" in w for w in out.warnings)


def test_ibv_devinfo_without_and_with_verbose() -> None:
    plain = parse_ibstat((DATA / "ibv_devinfo-cx7-down-deepep-60.txt").read_text())
    (p,) = plain.ports
    assert (p.ca, p.port, p.state, p.rate_gbps, p.link_layer, p.firmware, p.ca_type) == (
        "mlx5_0",
        1,
        "down",
        None,
        "InfiniBand",
        "28.39.2048",
        "4129",
    )
    # -v adds phys_state/active_width/active_speed; the four port lines below are as quoted from
    # `ibv_devinfo -d rocep1s0f0 -v` in a public GB10 write-up, spliced into the real capture above
    real = (DATA / "ibv_devinfo-cx7-down-deepep-60.txt").read_text()
    quoted = (
        "state:\t\t\tPORT_ACTIVE (4)\nphys_state:\t\tLINK_UP (5)\n"
        "active_width:\t\t2X (16)\nactive_speed:\t\t100.0 Gbps (128)"
    )
    verbose = real.replace("state:                  PORT_DOWN (1)", quoted)
    (v,) = parse_ibstat(verbose).ports
    assert (v.state, v.physical_state, v.width, v.speed, v.rate_gbps) == (
        "active",
        "linkup",
        "2X",
        "100.0 Gbps",
        200.0,
    )


@pytest.mark.parametrize(
    ("state", "normal"),
    [("Active", "active"), ("Down", "down"), ("Initializing", "init"), ("Armed", "armed"), ("Init", "init")],
)
def test_state_normalisation(state: str, normal: str) -> None:
    text = f"CA 'mlx5_0'\n\tPort 1:\n\t\tState: {state}\n\t\tPhysical state: LinkUp\n\t\tRate: 400\n"
    assert parse_ibstat(text).ports[0].state == normal


@pytest.mark.parametrize("text", ["", "ibstat: command not found\n", "random\nlines\n"])
def test_rejects_other_text(text: str) -> None:
    with pytest.raises(ParseError):
        parse_ibstat(text)


def test_ibpanic_line_becomes_a_warning() -> None:
    # as in https://github.com/leptonai/gpud/pull/752: a CA block followed by an ibpanic line
    text = (DATA / "cx7-down-polling-gpud-482.txt").read_text() + (
        "ibpanic: [1323906] main: stat of IB device 'mlx5_8' failed: No such file or directory\n"
    )
    out = parse_ibstat(text)
    assert len(out.ports) == 1 and any("ibpanic" in w for w in out.warnings)


@pytest.mark.parametrize(
    "name",
    [
        "h20-cx7-400g-ib-deepep-303.txt",
        "ibstatus-100g-eth-nccl-1866.txt",
        "ibv_devinfo-cx7-down-deepep-60.txt",
    ],
)
def test_detection(name: str) -> None:
    assert detect((DATA / name).read_text())[0][0] == "ibstat"
