"""The srun step's pure parts: which node states can be allocated, the stream, reading the frames back."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from clustermax.engine.runner import ProbeContext
from clustermax.engine.slurm_step import (
    StepOptions,
    build_stream,
    parse_task,
    split_output,
    task_items,
    unavailable_reason,
)
from clustermax.probes.slurm import NodeAvailability, node_availability
from clustermax.probes.specs import load_probe_specs, probe_script

DATA = Path(__file__).resolve().parents[1] / "data"
# `scontrol -o show node` of the real test cluster (Slurm 22.05.8), node2 drained (see its .source)
DRAINED = (DATA / "scontrol-node" / "testcluster-22.05.8-drained-oneliner.txt").read_text()


def node(state: str, gpus: int = 8, used: int = 0, reason: str | None = None) -> NodeAvailability:
    return NodeAvailability("n1", state, reason, gpus, used)


def test_drained_node_from_scontrol_is_not_allocated_with_its_reason() -> None:
    nodes = node_availability(DRAINED)
    assert unavailable_reason(nodes["node1"], StepOptions(), 8) is None
    avail = nodes["node2"]
    assert avail.state == "IDLE+DRAIN" and avail.gpu_count == 8
    why = unavailable_reason(avail, StepOptions(), 8)
    assert why is not None and why.startswith("not allocated: the node is IDLE+DRAIN")
    assert "cmx test drain" in why


@pytest.mark.parametrize(
    ("avail", "opts", "gpus", "fragment"),
    [
        (node("IDLE"), StepOptions(), 8, None),
        (node("MIXED", used=4), StepOptions(), 4, None),
        (node("MIXED", used=4), StepOptions(), 8, "no idle node: 4 of its 8 GPUs are free"),
        (node("MIXED", used=0), StepOptions(exclusive=True), 8, "--exclusive"),
        (node("ALLOCATED"), StepOptions(), 8, "no idle node: the node is ALLOCATED"),
        (node("DOWN*"), StepOptions(), 8, "not allocated: the node is DOWN*"),
        (node("IDLE*"), StepOptions(), 8, "not allocated: the node is IDLE*"),
        (node("MIXED+MAINT"), StepOptions(), 0, "not allocated"),
        (node("IDLE+RESERVED"), StepOptions(), 8, "give --reservation"),
        (node("IDLE+RESERVED"), StepOptions(reservation="r1"), 8, None),
        (None, StepOptions(), 8, "slurmctld does not list this node"),
    ],
)
def test_which_states_the_step_can_get(
    avail: NodeAvailability | None, opts: StepOptions, gpus: int, fragment: str | None
) -> None:
    why = unavailable_reason(avail, opts, gpus)
    assert (why is None) if fragment is None else (why is not None and fragment in why)


def test_srun_options_are_one_argv_element_each() -> None:
    opts = StepOptions(partition="gpu", account="proj a", qos="high", reservation="r", exclusive=True)
    args = opts.srun_args(8, 7)
    assert args == ["--immediate=60", "--time=7", "--partition=gpu", "--account=proj a", "--qos=high",
                    "--reservation=r", "--exclusive", "--gres=gpu:8"]  # fmt: skip


def test_stream_carries_each_nodes_scripts_and_shares_what_is_common() -> None:
    specs = load_probe_specs()
    ids = ["system_info", "fabric"]
    ctx = ProbeContext(role="compute", platform="slurm", nodes=["node1", "node2"])
    plan = {n: task_items([specs[i] for i in ids], n, {i: {} for i in ids}, ctx) for n in ("node1", "node2")}
    stream = build_stream(plan, ctx, 1024).decode()
    # the probe's text is shipped once for both nodes; each node's own header only in its branch
    assert stream.count("cmx_task_probe system_info") == 2
    head, _, cases = stream.partition('case "$CMX_TASK_NODE" in')
    assert "node1)" in cases and "node2)" in cases
    body = hashlib.sha256(probe_script(specs["system_info"]).encode()).hexdigest()[:24]
    assert stream.count(f"cmx_chunk {body} ") == 1 and f"cmx_chunk {body} " in head
    host_line = hashlib.sha256(b"export CMX_HOST=node2\n").hexdigest()[:24]
    assert f"cmx_chunk {host_line} " in cases.split("node2)", 1)[1] and f"cmx_chunk {host_line} " not in head
    for items in plan.values():
        for item in items:
            assert item.digest == hashlib.sha256(item.script.encode()).hexdigest()
    with pytest.raises(ValueError, match="refusing node name"):
        build_stream({"node1;rm -rf /": plan["node1"]}, ctx, 1024)


def frame(
    probe: str, out: bytes, err: bytes = b"", rc: str = "0", end: bool = True, **extra: str
) -> list[str]:
    fields = {"probe": probe, "step": "main", "rc": rc, "start": "1764880000.5", "end": "1764880001.75",
              "outbytes": str(len(out)), "errbytes": str(len(err)), "timedout": "0", "interrupted": "0",
              "http": "", "error": "", **extra}  # fmt: skip
    lines = ["@@CMXSTEP:BEGIN " + " ".join(f"{k}={v}" for k, v in fields.items()) + "@@"]
    lines += base64.encodebytes(out).decode().splitlines()
    lines.append("@@CMXSTEP:STDERR@@")
    lines += base64.encodebytes(err).decode().splitlines()
    return lines + (["@@CMXSTEP:END@@"] if end else [])


def test_frames_of_interleaved_tasks_come_back_per_node() -> None:
    a = ["@@CMXSTEP:TASK node=node1 job=12 step=0 start=1764880000.1@@", *frame("fabric", b"x" * 200),
         "@@CMXSTEP:DONE node=node1 interrupted=0@@"]  # fmt: skip
    b = [
        "@@CMXSTEP:TASK node=node2 job=12 step=0 start=1764880000.2@@",
        *frame("fabric", b"y\n" * 100, b"oops"),
    ]
    # srun interleaves the tasks' lines, each labelled with its task
    mixed = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            mixed.append(f"0: {a[i]}")
        if i < len(b):
            mixed.append(f"1: {b[i]}")
    stdout = "\n".join(
        [*mixed, "@@CMX:BEGIN cleanup@@", "1: not a task line", "@@CMX:END cleanup rc=0@@", ""]
    )
    tasks, own = split_output(stdout)
    assert "1: not a task line" in own and len(tasks[0]) == len(a) and len(tasks[1]) == len(b)
    h1, f1, done1 = parse_task(tasks[0], 1 << 20)
    h2, f2, done2 = parse_task(tasks[1], 1 << 20)
    assert (h1["node"], h1["job"], done1, h2["node"], done2) == ("node1", "12", True, "node2", False)
    [(_, raw1)] = f1
    [(_, raw2)] = f2
    assert raw1.stdout == b"x" * 200 and raw1.exit_code == 0 and abs(raw1.duration_s - 1.25) < 1e-6
    assert raw2.stdout == b"y\n" * 100 and raw2.stderr == b"oops" and not raw2.interrupted


def test_a_frame_cut_by_a_kill_keeps_what_arrived_and_says_interrupted() -> None:
    lines = frame("system_info", b"z" * 300, end=False)[:-2]  # cut before END (and its last base64 line)
    _, [(_, raw)], done = parse_task(lines, 1 << 20)
    assert raw.interrupted and raw.error == "interrupted" and not done
    assert raw.stdout and b"z" * 100 in raw.stdout


def test_caps_and_timeouts_come_back_as_flags() -> None:
    lines = frame("gpu_health", b"q" * 64, rc="", outbytes="999999", timedout="1")
    _, [(_, raw)], _ = parse_task(lines, 64)
    assert raw.stdout_truncated and raw.timed_out and raw.exit_code is None
