"""The paste and fan-out wrappers every parser reads through (``clustermax.parsers._paste``), on recorded
outputs as published (Markdown fences, quotes, list indentation, an export's leading space) and as the
real fan-out tools print them (pdsh, clush, clush -b, ansible; the mpirun and srun prefixes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers import registry
from clustermax.parsers._paste import is_prompt, split_hosts, unwrap

DATA = Path(__file__).resolve().parents[1] / "data"


def read(rel: str) -> str:
    return (DATA / rel).read_text()


def test_every_registered_parser_reads_through_unwrap() -> None:
    for kind, info in registry.PARSERS.items():
        assert getattr(info.parse, "unwraps_input", False), f"{kind}: parse is not @unwrapped_input"
        assert getattr(info.detect, "unwraps_input", False), f"{kind}: detect is not @unwrapped_detect"


@pytest.mark.parametrize(
    ("rel", "notes"),
    [
        (
            "nccl-tests/md-rccl-mi250x-srun-label-allgather-fenced-as-published.txt",
            ("removed 4 Markdown code fence line(s)", "stripped 'srun -l' line prefixes"),
        ),
        (
            "nccl-tests/p5-mpijob-tag-output-list-indented-elided-as-published.log",
            ("stripped 'mpirun --tag-output' line prefixes",),
        ),
        (
            "xid/md-quoted-dmesg-xid79-two-names-sxid-as-published.txt",
            ("removed Markdown quote markers ('> ') from 23 line(s)",),
        ),
        (
            "nvidia-smi/win-rtx4060-560-table-leading-space-wddm-na-process-memory.txt",
            ("removed a common indentation of 1 character(s) from every line",),
        ),
        (
            "nvidia-smi/pdsh-2.34-exec-2hosts-a800x8-csv.txt",
            (
                "stripped 'pdsh/clush' host prefixes ('host: ') of 2 hosts (gpu02, gpu01);"
                " lines grouped by host and read as one output",
            ),
        ),
        (
            "nvidia-smi/ansible-2.14-2hosts-b300x7-csv.txt",
            ("removed ansible block header line(s) of 2 hosts (xe9780-a, xe9780-b)",),
        ),
        (
            "nvidia-smi/clush-1.9.1-b-2hosts-h100x8-table.txt",
            (
                "removed 'clush -b' header(s) of node set(s) gpu[01-02]: a block is the output each node"
                " of its set printed alike",
            ),
        ),
        (
            "xid/pdsh-2.34-exec-1host-dmesg-T-akash.log",
            ("stripped 'pdsh/clush' host prefixes ('host: ') of host node4",),
        ),
    ],
)
def test_wrappers_removed_and_named(rel: str, notes: tuple[str, ...]) -> None:
    assert unwrap(read(rel)).notes == notes


def test_the_tool_text_comes_out_whole() -> None:
    """What is left is the tool's own text: the quoted dmesg is the unquoted fixture of the same lines."""
    quoted = unwrap(read("xid/md-quoted-dmesg-xid79-two-names-sxid-as-published.txt")).text
    plain = read("xid/dmesg-xid79-two-names-nvswitch-sxid.log")
    assert [line for line in quoted.split("\n") if line.strip()] == [
        line for line in plain.split("\n") if line
    ]
    pdsh = unwrap(read("xid/pdsh-2.34-exec-1host-dmesg-T-akash.log")).text
    assert pdsh.rstrip("\n") == read("xid/dmesg-T-akash-43-31-94.log").rstrip("\n")
    ansible = unwrap(read("dcgmi-diag/ansible-2.14-1host-dcgm333-p4de.txt")).text
    assert ansible.strip() == read("dcgmi-diag/dcgm333-p4de-a100x8-r2-pass-all-empty-stress.txt").strip()


@pytest.mark.parametrize(
    "rel",
    [
        "squeue/nano-23.11-default.txt",  # right-aligned job ids: the tool's layout, not a paste's indent
        "squeue/nano-23.11-o-tres.txt",
        "nvidia-smi/h100x8-565-table.txt",
        "nvidia-smi/a10-550-q-swpowercap.txt",
        "kubectl-nodes/describe-hami-477-gpu80.txt",
        "scontrol-node/dev-22.05.8.txt",
        "slurm-messages/dev-22.05.8-srun-badpart.txt",  # "srun: error: ..." is no host prefix
        "xid/kernel-45-caused-by-previous-xid.log",  # "kernel: NVRM: ..." neither
        "ibstat/h20-cx7-400g-ib-deepep-303.txt",
    ],
)
def test_tool_output_as_printed_is_left_alone(rel: str) -> None:
    text = read(rel)
    assert unwrap(text) == unwrap(text.replace("\r\n", "\n"))
    assert unwrap(text).notes == ()


def test_split_hosts_gives_each_host_its_own_lines() -> None:
    pdsh = read("nvidia-smi/pdsh-2.34-exec-2hosts-a800x8-csv.txt")
    parts = split_hosts(pdsh)
    assert [h for h, _ in parts] == ["gpu02", "gpu01"]
    for host, part in parts:
        assert all(line.startswith(f"{host}: ") for line in part.split("\n") if line)
        assert (
            unwrap(part).text.strip()
            == read("nvidia-smi/a800x8-580-csv-spaced-header-compute-cap.txt").strip()
        )
    ansible = split_hosts(read("nvidia-smi/ansible-2.14-2hosts-b300x7-csv.txt"))
    assert [h for h, _ in ansible] == ["xe9780-a", "xe9780-b"]
    # a clush -b block is the output of a node set at once: not split, no host
    assert [h for h, _ in split_hosts(read("nvidia-smi/clush-1.9.1-b-2hosts-h100x8-table.txt"))] == [None]
    assert split_hosts(read("xid/pdsh-2.34-exec-1host-dmesg-T-akash.log"))[0][0] == "node4"
    assert split_hosts(read("nvidia-smi/h100x8-565-table.txt"))[0][0] is None


@pytest.mark.parametrize(
    ("line", "prompt"),
    [
        ("$ squeue", True),
        ("$  sacct -j 67767+1", True),
        ("$nvidia-smi", True),
        ("ubuntu@ip-172-31-35-99:~$ dcgmi diag -r 2", True),
        ("[user@n16 load]$ squeue", True),
        ("PS C:\\Users\\suqin> nvidia-smi", True),
        ("juser@dawn> squeue -M dawn,dusk", True),
        ("JOBID PARTITION NAME USER ST TIME NODES NODELIST", False),
        ("# Avg bus bandwidth    : 52.9753", False),
        ("   300198       dev         bash crixxxxlvl  R", False),
    ],
)
def test_prompt_lines(line: str, prompt: bool) -> None:
    assert is_prompt(line) is prompt


def test_escapes_in_names_from_a_cluster_are_kept() -> None:
    """Unwrapping never turns a hostile name into another one: ANSI escapes stay for the inventory to
    reject (stripping '\\x1b[2J' from 'node1\\x1b[2J' would make it the real node1)."""
    text = read("scontrol-node/dev-22.05.8.txt").replace("NodeName=cpu1 ", "NodeName=cpu1\x1b[2J ", 1)
    assert "cpu1\x1b[2J" in unwrap(text).text
    names = [n.name for n in registry.PARSERS["scontrol-node"].parse(text).nodes]
    assert "cpu1\x1b[2J" in names
