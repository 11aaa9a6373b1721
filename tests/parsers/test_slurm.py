"""Slurm parsers on real outputs (tests/data/<kind>/, provenance in the .source sidecars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers import ParseError
from clustermax.parsers.registry import detect, parse
from clustermax.parsers.slurm import (
    is_unavailable_state,
    parse_gres,
    parse_sacct,
    parse_scontrol_config,
    parse_scontrol_node,
    parse_scontrol_partition,
    parse_sinfo,
    parse_slurm_messages,
    parse_squeue,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def read(kind: str, name: str) -> str:
    return (DATA / kind / name).read_text()


# --------------------------------------------------------------------------------------------- sinfo


def test_sinfo_default_sums_rows_per_partition_and_marks_default() -> None:
    out = parse_sinfo(read("sinfo", "dev-22.05.8-default.txt"))
    gpu, cpu = out.partitions
    assert (gpu.name, gpu.default, gpu.avail, gpu.timelimit) == ("gpu", True, "up", "2-00:00:00")
    assert gpu.nodes_by_state == {"drained": 1, "mixed": 1, "allocated": 1}
    assert gpu.nodes_total == 3
    assert (cpu.name, cpu.default, cpu.timelimit, cpu.nodes_by_state) == (
        "cpu",
        False,
        "infinite",
        {"down": 1},
    )
    assert out.nodes is None


def test_sinfo_summary_reads_aiot() -> None:
    out = parse_sinfo(read("sinfo", "dev-22.05.8-s.txt"))
    assert out.partitions[0].nodes_by_state == {"allocated": 2, "idle": 0, "other": 1}
    assert out.partitions[0].nodes_total == 3
    assert out.partitions[0].nodelists == ["gpu[1-3]"]
    custom = parse_sinfo(read("sinfo", "dev-22.05.8-o-F.txt"))
    assert custom.partitions == out.partitions


def test_sinfo_long_and_short_state_names_agree() -> None:
    short = parse_sinfo(read("sinfo", "dev-22.05.8-N.txt"))
    long = parse_sinfo(read("sinfo", "dev-22.05.8-N-l.txt"))
    assert short.partitions[1].nodes_by_state == long.partitions[1].nodes_by_state
    assert short.nodes is not None and long.nodes is not None
    assert [n.name for n in short.nodes] == ["cpu1", "gpu1", "gpu2", "gpu3"]
    gpu3 = long.nodes[3]
    assert (gpu3.state, gpu3.partitions, gpu3.memory_mb) == ("drained", ["gpu"], 4096)
    assert gpu3.reason == "NHC: check_hw_ib: No"  # sinfo itself cuts REASON at 20 characters


def test_sinfo_reasons_keep_spaces_in_reason() -> None:
    out = parse_sinfo(read("sinfo", "dev-22.05.8-R.txt"))
    assert out.reasons is not None
    assert [(r.reason, r.user, r.nodelist) for r in out.reasons] == [
        ("NHC: check_hw_ib: No", "root", "gpu3"),
        ("bad dimm", "root", "cpu1"),
    ]


def test_sinfo_custom_node_formats() -> None:
    out = parse_sinfo(read("sinfo", "dev-22.05.8-O-gres.txt"))
    assert out.nodes is not None
    assert [(n.state, n.gres, n.gres_used) for n in out.nodes][2] == (
        "allocated",
        "gpu:h100:8",
        "gpu:h100:2(IDX:0-1)",
    )
    assert out.nodes[3].gres is None  # (null)
    ngt = parse_sinfo(read("sinfo", "dev-22.05.8-o-NGt.txt"))
    assert ngt.nodes is not None and [n.state for n in ngt.nodes] == ["drain", "mix", "alloc", "down"]


def test_sinfo_long_format_skips_the_date_line() -> None:
    out = parse_sinfo(read("sinfo", "dev-22.05.8-l.txt"))
    assert [p.name for p in out.partitions] == ["gpu", "cpu"]
    assert out.partitions[0].nodes_by_state["drained"] == 1


def test_sinfo_suffix_flags_and_cut_timelimit() -> None:
    out = parse_sinfo(read("sinfo", "arjuna-69-state-flags.txt"))
    cpu, gpu, debug = out.partitions[:3]
    assert cpu.nodes_by_state == {"draining": 55, "fail": 1}
    assert (
        gpu.nodes_by_state == {"draining": 12, "maint": 5, "fail": 3, "mixed": 7}
        and gpu.timelimit == "14-00:00:0"
    )
    assert debug.default and cpu.nodes_total == 56


def test_sinfo_without_header_reads_default_format_with_warning() -> None:
    body = "\n".join(read("sinfo", "dev-22.05.8-default.txt").splitlines()[1:])
    out = parse_sinfo(body)
    assert [p.name for p in out.partitions] == ["gpu", "cpu"]
    assert out.warnings


@pytest.mark.parametrize(
    "text", ["", "   \n", "hello world\nfoo bar\n", "sinfo: error: slurm_load_partitions"]
)
def test_sinfo_rejects_non_sinfo(text: str) -> None:
    with pytest.raises(ParseError):
        parse_sinfo(text)


# ------------------------------------------------------------------------------------- scontrol node


def test_scontrol_node_multiline_and_oneliner_agree() -> None:
    multi = parse_scontrol_node(read("scontrol-node", "dev-22.05.8.txt"))
    one = parse_scontrol_node(read("scontrol-node", "dev-22.05.8-oneliner.txt"))
    strip = ("fields",)
    assert [n.model_dump(exclude=set(strip)) for n in multi.nodes] == [
        n.model_dump(exclude=set(strip)) for n in one.nodes
    ]
    cpu1, gpu1, gpu2, gpu3 = multi.nodes
    assert (cpu1.state, cpu1.unavailable, cpu1.gpu_count, cpu1.gpu_type) == ("DOWN", True, 0, None)
    assert cpu1.reason == "bad dimm [root@2026-11-26T15:46:00]"
    assert (cpu1.reason_user, cpu1.reason_time) == ("root", "2026-11-26T15:46:00")
    assert (gpu1.gpu_count, gpu1.gpu_type, gpu1.cpus_total, gpu1.cpus_allocated) == (8, "h100", 2, 2)
    assert gpu1.gpus_allocated is None  # AllocTRES does not track gres/gpu without slurmdbd
    assert (gpu2.state, gpu2.unavailable) == ("MIXED", False)
    assert (gpu3.state, gpu3.unavailable) == ("IDLE+DRAIN", True)
    assert gpu3.reason == "NHC: check_hw_ib: No IB port mlx5_0:1 is ACTIVE [root@2026-11-26T15:46:00]"
    assert {n.slurm_version for n in multi.nodes} == {"22.05.8"}
    assert gpu1.fields["OS"] == "Linux 6.18.44-fc-v657 #1 SMP PREEMPT_DYNAMIC @0"


def test_scontrol_node_23_11_socket_affinity_and_alloc_tres() -> None:
    (node,) = parse_scontrol_node(read("scontrol-node", "nano-23.11.11-h100-mixed.txt")).nodes
    assert (node.name, node.gpu_count, node.gpu_type, node.gpus_allocated) == ("hgpn01", 8, "H100", 2)
    assert (node.real_memory_mb, node.cpus_total, node.slurm_version) == (1900000, 112, "23.11.11")
    assert node.gres[0].detail == "S:0-1"
    assert node.cfg_tres["gres/gpu"] == "8"


def test_scontrol_node_public_24_05_drain_reason_with_spaces() -> None:
    (node,) = parse_scontrol_node(read("scontrol-node", "awslabs-195-24.05-drain.txt")).nodes
    assert (node.gpu_count, node.gpu_type, node.slurm_version) == (1, "nvidia-rtx-3090", "24.05.0-0rc1")
    assert node.gpus_allocated == 0  # CfgTRES tracks gres/gpu and AllocTRES has none
    assert node.reason == "gres/gpu count reported lower than configured (0 < 1) [slurm@2024-12-19T11:03:34]"
    assert node.reason_user == "slurm" and node.unavailable is True


@pytest.mark.parametrize(
    ("gres", "count", "gtype"),
    [
        ("gpu:h100:8(S:0-1)", 8, "h100"),
        ("gpu:8", 8, None),
        ("gpu:a100:4,gpu:v100:2", 6, "a100,v100"),
        ("gpu:H100:8(S:0-1),nvme:1", 8, "H100"),
        ("gpu:tesla:2(S:0,1)", 2, "tesla"),
        ("shard:h100:64", 0, None),
        ("(null)", 0, None),
        ("gpu", 1, None),
    ],
)
def test_gres_gpu_counts(gres: str, count: int, gtype: str | None) -> None:
    text = f"NodeName=n1 Arch=x86_64 CPUTot=4 Gres={gres} State=IDLE\n"
    (node,) = parse_scontrol_node(text).nodes
    assert (node.gpu_count, node.gpu_type) == (count, gtype)


def test_gres_used_gives_allocated_gpus() -> None:
    entries = parse_gres("gpu:h100:4(IDX:0-3),gpu:h100:0(IDX:N/A)")
    assert [(e.type, e.count, e.detail) for e in entries] == [("h100", 4, "IDX:0-3"), ("h100", 0, "IDX:N/A")]
    text = "NodeName=n1 CPUTot=4 Gres=gpu:h100:8 GresUsed=gpu:h100:4(IDX:0-3) State=MIXED\n"
    assert parse_scontrol_node(text).nodes[0].gpus_allocated == 4


@pytest.mark.parametrize(
    ("state", "unavailable"),
    [
        ("IDLE", False),
        ("MIXED", False),
        ("ALLOCATED+COMPLETING", False),
        ("IDLE+DRAIN", True),
        ("MIXED+DRAIN", True),
        ("DOWN*", True),
        ("IDLE*", True),
        ("DOWN+NOT_RESPONDING", True),
        ("FAIL", True),
        ("INVAL", True),
        ("drng@", True),
        ("mix", False),
        ("IDLE+CLOUD+POWERED_DOWN", False),
        ("", None),
    ],
)
def test_unavailable_states(state: str, unavailable: bool | None) -> None:
    assert is_unavailable_state(state) is unavailable


def test_scontrol_node_rejects_other_text() -> None:
    with pytest.raises(ParseError, match="NodeName"):
        parse_scontrol_node("Node gpu9 not found\n")


# -------------------------------------------------------------------------------- scontrol partition


def test_scontrol_partition_dev_capture() -> None:
    multi = parse_scontrol_partition(read("scontrol-partition", "dev-22.05.8.txt"))
    one = parse_scontrol_partition(read("scontrol-partition", "dev-22.05.8-oneliner.txt"))
    assert [p.model_dump(exclude={"fields"}) for p in multi.partitions] == [
        p.model_dump(exclude={"fields"}) for p in one.partitions
    ]
    gpu, cpu = multi.partitions
    assert (gpu.name, gpu.default, gpu.state, gpu.max_time, gpu.default_time) == (
        "gpu",
        True,
        "UP",
        "2-00:00:00",
        "01:00:00",
    )
    assert (gpu.def_mem_per_gpu, gpu.def_cpu_per_gpu, gpu.total_cpus, gpu.total_nodes) == (512, 1, 6, 3)
    assert gpu.tres == {"cpu": "6", "mem": "12G", "node": "3", "billing": "6"} and gpu.gpus_total is None
    assert (cpu.default, cpu.default_time, cpu.def_mem_per_gpu) == (False, None, None)


def test_scontrol_partition_23_11_with_gpu_tres() -> None:
    dev, eight = parse_scontrol_partition(
        read("scontrol-partition", "nano-23.11-two-partitions.txt")
    ).partitions
    assert (dev.name, dev.max_time, dev.gpus_total, dev.def_mem_per_gpu) == ("dev", "04:00:00", 1024, None)
    assert (eight.name, eight.def_mem_per_gpu, eight.total_nodes) == ("8gpus", 204800, 128)
    assert eight.nodes == "25a-hgpn[001-124,142-145]"


# ----------------------------------------------------------------------------------- scontrol config


def test_scontrol_config_settings_and_conveniences() -> None:
    out = parse_scontrol_config(read("scontrol-config", "dev-22.05.8.txt"))
    assert out.configuration_time == "2026-11-26T15:46:52"
    assert (out.slurm_version, out.cluster_name) == ("22.05.8", "cmx")
    assert (out.topology_plugin, out.health_check_program, out.prolog, out.epilog) == (
        "topology/none",
        None,
        None,
        None,
    )
    assert (out.mpi_default, out.select_type, out.scheduler_parameters) == (
        "none",
        "select/cons_tres",
        "batch_sched_delay=0",
    )
    assert out.accounting_storage_type == "accounting_storage/none"
    assert out.settings["SlurmctldHost[0]"] == "vm(localhost)"
    assert out.settings["PowerPlugin"] == ""
    assert out.settings["InteractiveStepOptions"] == "--interactive --preserve-env --pty $SHELL"
    assert out.controllers == ["Slurmctld(primary) at vm is UP"]
    assert len(out.settings) > 180


def test_scontrol_config_plugin_sections_and_grep_fragment() -> None:
    text = (
        "Configuration data as of 2024-05-01T10:00:00\n"
        "DefMemPerGPU            = 16384\n"
        "JobDefaults             = DefCpuPerGPU=12\n"
        "HealthCheckProgram      = /usr/sbin/nhc\n"
        "SLURM_VERSION           = 23.11.4\n"
        "\n"
        "MPI Plugins Configuration:\n"
        "PMIxCliTmpDirBase       = (null)\n"
    )
    out = parse_scontrol_config(text)
    assert (out.def_mem_per_gpu, out.def_cpu_per_gpu, out.health_check_program) == (
        16384,
        12,
        "/usr/sbin/nhc",
    )
    assert out.sections["MPI Plugins Configuration"] == {"PMIxCliTmpDirBase": "(null)"}
    assert "PMIxCliTmpDirBase" not in out.settings
    fragment = parse_scontrol_config("TopologyPlugin          = topology/tree\n")
    assert fragment.topology_plugin == "topology/tree" and fragment.warnings


# ------------------------------------------------------------------------------------ sacct / squeue


def test_sacct_parsable_and_fixed_width_agree_except_truncation() -> None:
    p2 = parse_sacct(read("sacct", "dev-22.05.8-c-P.txt"))
    p1 = parse_sacct(read("sacct", "dev-22.05.8-c-p.txt"))
    fixed = parse_sacct(read("sacct", "dev-22.05.8-c-cols.txt"))
    assert p2.parsable and p1.parsable and not fixed.parsable
    assert [j.job_id for j in p2.jobs] == [j.job_id for j in fixed.jobs] == [j.job_id for j in p1.jobs]
    six = next(j for j in p2.jobs if j.job_id == "6")
    assert (six.name, six.partition, six.state, six.exit_code, six.elapsed) == (
        "long-training-job-name",
        "gpu",
        "CANCELLED",
        "0:0",
        "00:00:50",
    )
    six_fixed = next(j for j in fixed.jobs if j.job_id == "6")
    assert (six_fixed.name, six_fixed.truncated) == ("long-trai+", ["name"])
    eleven = next(j for j in fixed.jobs if j.job_id == "11")
    assert eleven.elapsed == "20783-15:46:23"  # overflowed its column as sacct printed it
    assert any("cut by sacct" in w for w in fixed.warnings)
    assert any("Invalid time specification" in w for w in p2.warnings)


def test_sacct_default_columns_have_no_exit_code() -> None:
    out = parse_sacct(read("sacct", "dev-22.05.8-c-default.txt"))
    first = out.jobs[0]
    assert (first.job_id, first.name, first.state, first.exit_code, first.elapsed) == (
        "3",
        "wrap",
        "FAILED",
        None,
        None,
    )
    assert first.fields["NodeList"] == "(null)"


def test_sacct_disabled_and_state_with_spaces() -> None:
    disabled = parse_sacct(read("sacct", "dev-22.05.8-disabled.txt"))
    assert disabled.accounting_disabled and disabled.jobs == []
    (job,) = parse_sacct(read("sacct", "citc-11-default.txt")).jobs
    assert (job.job_id, job.name, job.partition, job.state, job.exit_code) == (
        "3",
        "test",
        "compute",
        "PENDING",
        "0:0",
    )
    assert job.fields["Account"] == ""
    cancelled = "JobID|JobName|State|ExitCode\n7|train|CANCELLED by 1000|0:15\n7.batch|batch|CANCELLED|0:15\n"
    jobs = parse_sacct(cancelled).jobs
    assert jobs[0].state == "CANCELLED by 1000" and not jobs[0].is_step and jobs[1].is_step


def test_squeue_formats() -> None:
    default = parse_squeue(read("squeue", "dev-22.05.8-default.txt"))
    assert [(j.job_id, j.state) for j in default.jobs] == [
        ("8", "PENDING"),
        ("7", "PENDING"),
        ("6", "RUNNING"),
        ("9", "RUNNING"),
    ]
    assert default.jobs[0].fields["NODELIST(REASON)"].startswith("(Nodes required for job are DOWN, DRAINED")
    assert default.jobs[2].name == "long-tra"  # squeue cuts at 8 without a marker
    wide = parse_squeue(read("squeue", "dev-22.05.8-o.txt"))
    assert wide.jobs[2].name == "long-training-job-name"
    assert [j.state for j in parse_squeue(read("squeue", "dev-22.05.8-l.txt")).jobs] == [
        j.state for j in default.jobs
    ]
    assert parse_squeue(read("squeue", "dev-22.05.8-empty.txt")).jobs == []
    tres = parse_squeue(read("squeue", "nano-23.11-o-tres.txt"))
    assert tres.jobs[4].fields["TRES_PER_NODE"] == "gres/gpu:8" and tres.jobs[4].elapsed == "1-13:10:14"
    public = parse_squeue(read("squeue", "nano-23.11-default.txt"))
    assert public.jobs[0].fields["NODELIST(REASON)"] == "(Dependency)"


# ---------------------------------------------------------------------------------- slurm messages


@pytest.mark.parametrize(
    ("name", "job_id", "events", "errors"),
    [
        ("dev-22.05.8-sbatch.txt", "1", ["submitted"], 0),
        ("dev-22.05.8-sbatch-parsable.txt", "2", ["submitted"], 0),
        ("dev-22.05.8-sbatch-error.txt", None, ["error"], 1),
        (
            "dev-22.05.8-salloc-granted.txt",
            "10",
            ["pending", "queued", "allocated", "granted", "relinquished"],
            0,
        ),
        ("dev-22.05.8-salloc-revoked.txt", "11", ["node-not-available", "pending", "queued", "revoked"], 0),
        ("dev-22.05.8-srun-revoked.txt", "12", ["node-not-available", "queued", "revoked", "terminated"], 0),
        ("dev-22.05.8-srun-ok.txt", "13", ["queued", "allocated"], 0),
        ("dev-22.05.8-srun-error.txt", None, ["error"], 1),
        ("dev-22.05.8-srun-badpart.txt", None, ["error", "error"], 2),
        ("nano-23.11-srun-queued.txt", "249826", ["queued", "allocated"], 0),
        ("nano-23.11-salloc-granted.txt", "258152", ["granted", "nodes-ready"], 0),
    ],
)
def test_slurm_messages(name: str, job_id: str | None, events: list[str], errors: int) -> None:
    out = parse_slurm_messages(read("slurm-messages", name))
    assert out.job_id == job_id
    assert [e.event for e in out.events] == events
    assert len(out.errors) == errors


def test_slurm_messages_parsable_with_cluster_and_errors_text() -> None:
    out = parse_slurm_messages("1234;cluster2\n")
    assert (out.job_id, out.cluster) == ("1234", "cluster2")
    err = parse_slurm_messages(read("slurm-messages", "dev-22.05.8-sbatch-error.txt"))
    assert err.errors == ["Batch job submission failed: Requested node configuration is not available"]
    ready = parse_slurm_messages(read("slurm-messages", "nano-23.11-salloc-granted.txt"))
    assert ready.events[1].job_id == "258152"
    with pytest.raises(ParseError):
        parse_slurm_messages("hello\nworld\n")


# ------------------------------------------------------------------------------ registry / detection


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("sinfo", "dev-22.05.8-default.txt"),
        ("sinfo", "dev-22.05.8-N.txt"),
        ("scontrol-node", "dev-22.05.8.txt"),
        ("scontrol-node", "nano-23.11.11-h100-mixed.txt"),
        ("scontrol-partition", "dev-22.05.8.txt"),
        ("scontrol-config", "dev-22.05.8.txt"),
        ("sacct", "dev-22.05.8-c-P.txt"),
        ("sacct", "dev-22.05.8-c-cols.txt"),
        ("squeue", "dev-22.05.8-default.txt"),
        ("slurm-messages", "dev-22.05.8-sbatch.txt"),
        ("slurm-messages", "dev-22.05.8-salloc-granted.txt"),
    ],
)
def test_detection_picks_the_right_kind(kind: str, name: str) -> None:
    text = read(kind, name)
    assert detect(text)[0][0] == kind
    assert parse(kind, text).warnings is not None


# --------------------------------------------------- repeated listings: squeue -i, pasted runs, squeue -M


def test_squeue_iterations_report_the_last_one_once() -> None:
    out = parse(kind="squeue", text=(DATA / "squeue" / "dev-22.05.8-i2-three-iterations.txt").read_text())
    assert [(j.job_id, j.state, j.elapsed) for j in out.jobs] == [
        ("3", "PENDING", "0:00"),
        ("1", "RUNNING", "0:05"),
        ("2", "RUNNING", "0:05"),
    ]
    assert out.warnings == [
        "3 listings of the queue in one output (repeated headers, squeue -i iterations): the jobs of the last"
        " one (Fri Dec 04 01:49:26 2026) are reported, 2 earlier one(s) left out"
    ]


def test_squeue_repeated_header_is_never_a_job() -> None:
    out = parse(
        kind="squeue",
        text=(DATA / "squeue" / "schedmd-gang-four-squeue-runs-repeated-headers-prompts.txt").read_text(),
    )
    assert [(j.job_id, j.state) for j in out.jobs] == [
        ("9", "RUNNING"),
        ("10", "RUNNING"),
        ("11", "SUSPENDED"),
    ]
    assert all(j.job_id != "JOBID" for j in out.jobs)


def test_squeue_M_blocks_keep_their_cluster() -> None:
    out = parse(
        kind="squeue", text=(DATA / "squeue" / "schedmd-M-two-cluster-blocks-bp-list.txt").read_text()
    )
    assert [(j.cluster, j.job_id) for j in out.jobs] == [
        ("dawn", "76897"),
        ("dawn", "76898"),
        ("dawn", "16899"),
        ("dusk", "11950"),
        ("dusk", "11949"),
        ("dusk", "11946"),
    ]
    assert out.warnings == []


def test_sacct_pasted_runs_list_each_job_once() -> None:
    out = parse(
        kind="sacct",
        text=(DATA / "sacct" / "schedmd-hetjob-four-sacct-runs-repeated-headers-prompts.txt").read_text(),
    )
    assert [(j.job_id, j.fields["AllocCPUS"]) for j in out.jobs] == [("67767+0", "2"), ("67767+1", "4")]
    assert out.warnings == [
        "4 sacct listings in one output (a header line each): their rows are read together",
        "3 sacct row(s) repeat a job listed earlier: one row per job, the last kept",
    ]


def test_a_row_that_is_no_job_is_skipped_by_name() -> None:
    text = (DATA / "squeue" / "dev-22.05.8-default.txt").read_text() + "done: 3 jobs shown by squeue on gpu\n"
    out = parse(kind="squeue", text=text)
    assert len(out.jobs) == 4
    assert any("is not a job id, skipped" in w for w in out.warnings)


def test_sinfo_columns_without_node_states_say_so() -> None:
    out = parse(kind="sinfo", text=(DATA / "sinfo" / "p5-o-custom-sockets-cores-threads.txt").read_text())
    assert [p.name for p in out.partitions] == ["p5"] and out.partitions[0].nodes_total is None
    assert out.warnings == [
        "the columns (PARTITION CPUS S:C:T SOCKETS CORES THREADS) include no node state or count:"
        " no node counts"
    ]
