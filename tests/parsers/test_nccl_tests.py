"""nccl-tests / rccl-tests parser on real logs (tests/data/nccl-tests), and variants derived from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.nccl_tests import busbw_factor, detect_nccl_tests, parse_nccl_tests

DATA = Path(__file__).resolve().parents[1] / "data" / "nccl-tests"


def load(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_every_fixture_has_provenance() -> None:
    logs = sorted(DATA.glob("*.log"))
    assert len(logs) >= 7
    for log in logs:
        assert (DATA / f"{log.name}.source").is_file(), log.name


def test_h100_two_nodes_all_reduce() -> None:
    out = parse_nccl_tests(load("h100-2node-allreduce-mpirun.log"))
    assert (out.collective, out.ranks, out.nodes, out.impl) == ("all_reduce", 16, 2, "nccl-tests")
    assert out.hosts == ["ztan-mig-235z", "ztan-mig-gq73"]
    assert out.gpu_model == "NVIDIA H100 80GB HBM3"
    assert len(out.rows) == 31
    first, last = out.rows[0], out.rows[-1]
    assert (first.size_bytes, first.count, first.dtype, first.redop, first.root) == (8, 2, "float", "sum", -1)
    assert (last.size_bytes, last.oop_time_us, last.oop_algbw_gbps, last.oop_busbw_gbps) == (
        8589934592,
        47535.0,
        180.71,
        338.82,
    )
    assert (last.oop_wrong, last.ip_busbw_gbps, last.ip_wrong) == (0, 337.35, 0)
    assert out.avg_busbw_gbps == 70.742
    assert out.peak_busbw_gbps == 338.82
    assert (out.max_size_bytes, out.busbw_at_max_size_gbps) == (8589934592, 338.82)
    assert out.out_of_bounds_ok is True and out.wrong_total == 0
    assert out.busbw_factor == 1.875 and out.busbw_mismatch_rows == 0
    assert out.warnings == []
    assert detect_nccl_tests(load("h100-2node-allreduce-mpirun.log")) > 0.9


def test_old_error_column_with_nccl_info_line() -> None:
    out = parse_nccl_tests(load("k80-old-error-column-nccl-info.log"))
    assert len(out.rows) == 7  # the interleaved "NCCL INFO Launch mode Parallel" is not a row
    row = out.rows[0]
    assert row.oop_wrong is None and row.ip_wrong is None  # a float error column is not #wrong
    assert row.oop_error == 2e-07
    assert row.root is None and row.redop == "sum"
    assert out.wrong_total is None
    # the log never names it; its table does: a reduction op, no root, size = count x 4 bytes
    assert out.collective == "all_reduce"
    assert "inferred from the table (redop sum, no root, size = count x 4 B" in " ".join(out.warnings)
    assert (out.ranks, out.nodes, out.gpu_model) == (4, 1, "Tesla K80")


def test_concatenated_very_old_runs() -> None:
    out = parse_nccl_tests(load("v100-dgx2-old-concatenated.log"))
    assert [r.collective for r in out.runs] == ["all_gather", "all_reduce", "broadcast"]
    gather, reduce_, bcast = out.runs
    assert gather.rows[0].redop is None and gather.rows[0].dtype == "float"  # no redop/root columns
    assert gather.out_of_bounds_ok is False and gather.out_of_bounds_values == 4
    assert bcast.rows[0].root == 0 and bcast.rows[0].redop is None
    assert reduce_.busbw_factor == pytest.approx(2 * 11 / 12, abs=1e-6) and reduce_.busbw_mismatch_rows == 0
    assert reduce_.avg_busbw_gbps == 42.5578 and reduce_.busbw_at_max_size_gbps == 123.56
    # the top level is run 0, and the file says so
    assert out.collective == "all_gather" and len(out.rows) == 31
    assert any("3 runs in one file" in w for w in out.warnings)
    # old all_gather builds printed busbw = algbw, not algbw x (n-1)/n: flagged, not hidden
    assert any(w.startswith("run 0: busbw disagrees") for w in out.warnings)


def test_rccl_newest_header() -> None:
    out = parse_nccl_tests(load("rccl-mi308x-2node-allreduce.log"))
    assert out.impl == "rccl-tests"
    assert (out.collective, out.ranks, out.nodes) == ("all_reduce", 16, 2)
    assert out.nccl_version == "2.27.7"
    assert out.gpu_model == "AMD Instinct MI308X"
    assert len(out.rows) == 22 and out.avg_busbw_gbps == 95.233
    assert out.warnings == []


def test_nccl_tests_version_header_and_mpi_noise() -> None:
    out = parse_nccl_tests(load("rtx6000d-2node-newest-header.log"))
    assert out.nccl_tests_version == "2.18.3"
    assert out.nccl_version == "2.30.3"  # nccl-library=23003
    assert len(out.rows) == 24 and out.rows[0].size_bytes == 1024
    assert out.busbw_mismatch_rows == 0


def test_allgather_without_device_list() -> None:
    out = parse_nccl_tests(load("gke-tcpxo-allgather-noheader.log"))
    # no device list and no name: redop none, size = count x 4 B x 16 -> all_gather over 16 ranks
    assert (out.collective, out.ranks, out.nodes, out.busbw_factor) == ("all_gather", 16, None, 0.9375)
    assert any("or alltoall" in w for w in out.warnings)
    assert out.rows[-1].oop_busbw_gbps == 122.14
    assert out.peak_busbw_gbps == 122.14


def test_wrong_results_counted() -> None:
    out = parse_nccl_tests(load("gh200-2node-srun-wrong-issue369.log"))
    assert out.wrong_total == 128 and out.out_of_bounds_ok is False


def test_recomputed_average_warns_when_footer_disagrees() -> None:
    text = load("a800-24rank-kubeflow.log").replace(
        "Avg bus bandwidth    : 41.6967", "Avg bus bandwidth    : 99.5"
    )
    out = parse_nccl_tests(text)
    assert out.avg_busbw_gbps == 99.5 and out.avg_busbw_computed_gbps == pytest.approx(41.6967, abs=1e-3)
    assert any("differs from the mean of the rows 41.69" in w for w in out.warnings)


def test_busbw_check_uses_the_documented_factor() -> None:
    text = load("h100-2node-allreduce-mpirun.log").replace(" 180.71  338.82 ", " 180.71  300.00 ")
    out = parse_nccl_tests(text)
    assert out.busbw_mismatch_rows == 1
    assert any("size 8589934592: printed 300, algbw x factor = 338.83" in w for w in out.warnings)


@pytest.mark.parametrize(
    ("prefix", "label"),
    [
        (lambda i: f"[1,{i % 16}]<stdout>:", "mpirun --tag-output"),
        (lambda i: f"{i % 16}: ", "srun -l"),
        (lambda i: f"{i % 16:>2}: ", "srun -l"),
    ],
)
def test_launcher_prefixes_on_every_line(prefix, label) -> None:  # type: ignore[no-untyped-def]
    base = parse_nccl_tests(load("h100-2node-allreduce-mpirun.log"))
    lines = load("h100-2node-allreduce-mpirun.log").split("\n")
    text = "\n".join(prefix(i) + line for i, line in enumerate(lines))
    out = parse_nccl_tests(text)
    assert out.rows == base.rows and out.ranks == 16 and out.collective == "all_reduce"
    assert f"stripped '{label}' line prefixes" in out.warnings


def test_truncated_log_parses_what_is_there() -> None:
    text = load("h100-2node-allreduce-mpirun.log")
    cut = text[: text.index("   268435456")]
    out = parse_nccl_tests(cut)
    assert len(out.rows) == 25 and out.avg_busbw_gbps is None
    assert any("footer" in w for w in out.warnings)


def test_crlf_and_ansi() -> None:
    text = "\x1b[0m" + load("k80-old-error-column-nccl-info.log").replace("\n", "\r\n")
    assert len(parse_nccl_tests(text).rows) == 7


@pytest.mark.parametrize("text", ["", "hello world\n", "# just a comment\n", "\x00\x01\x02"])
def test_not_nccl_tests(text: str) -> None:
    with pytest.raises(ParseError, match="expected nccl-tests output"):
        parse_nccl_tests(text)


def test_factors() -> None:
    assert busbw_factor("all_reduce", 8) == 1.75
    assert busbw_factor("all_gather", 8) == 0.875 and busbw_factor("alltoall", 8) == 0.875
    assert busbw_factor("reduce_scatter", 4) == 0.75
    assert busbw_factor("broadcast", 8) == busbw_factor("sendrecv", 2) == 1.0
    assert busbw_factor(None, 8) is None and busbw_factor("all_reduce", None) is None


# ------------------------------------------------------- collective, ranks and columns from the table

EXPECTED = [
    # log, collective, ranks, nodes, how the collective came (None: named in the log)
    ("a3mega-srun-label-allgather-shape-wrong-NA-prose-says-allreduce.log", "all_gather", 16, None, "table"),
    ("b200-gke-a4-2node-allgather-wrapper-script-no-binary-name.log", "all_gather", 16, 2, "table"),
    ("dgxa100-4node-slurm-validation-allreduce-old-nodevices.log", "all_reduce", 32, None, "table"),
    ("dgxa100-k8s-2node-allreduce-old-redop-error-col-nodevices.log", "all_reduce", 16, None, "table"),
    ("gb200-nvl72-1rack-last-rank-only-graphics-device.log", "all_reduce", 72, None, "table"),
    ("gb200-nvl72-20racks-last-rank-only.log", "all_reduce", 1440, None, "table"),
    ("gb200-oci-32node-nccl229-one-rank-line-concluded-only.log", "all_reduce", 128, None, None),
    ("a100-oke-slurm-2node-exec-cmd-echo-elided-ranks.log", "all_reduce", 16, None, None),
    ("rccl-mi300x-oke-slurm-2node-script-echo-elided-ranks.log", "all_reduce", 16, None, None),
    ("p5-aws-batch-tag-output-trailing-spaces-noname.log", "all_reduce", 8, None, "table"),
    ("p5-mpijob-tag-output-list-indented-elided-as-published.log", "all_reduce", 16, None, "table"),
    ("rccl-mi250x-4node-srun-label-allgather-noname.log", "all_gather", 32, None, "table"),
    ("md-rccl-mi250x-srun-label-allgather-fenced-as-published.txt", "all_gather", 32, None, None),
    ("rccl-mi355x-2node-pollara-no-gpu-name-no-footer.log", "all_reduce", 16, 2, "table"),
    ("rtx5090-allgather-perf-mpi-tag-output-stderr.log", "all_gather", 2, 1, None),
    ("superbench-a100x8-allgather-noname-error-na.log", "all_gather", 8, 1, "table"),
    ("superbench-a100x8-alltoall-empty-redop.log", "alltoall", 8, 1, "table"),
    ("superbench-a100x8-broadcast-root-noname.log", "broadcast", 8, 1, "table"),
    ("superbench-a100x8-reducescatter-noname.log", "reduce_scatter", 8, 1, "table"),
    ("rccl-mi300x-2node-slurm-allreduce-binary-path-old-devices.log", "all_reduce", 16, 2, None),
    ("h200-mpijob-2rank-openmpi-warnings-shell-trace.log", "all_reduce", 2, 2, None),
    ("md-h100-a3mega-2node-quoted-cmd-as-published.txt", "all_reduce", 16, 2, None),
]


@pytest.mark.parametrize(
    ("log", "collective", "ranks", "nodes", "how"), EXPECTED, ids=[e[0] for e in EXPECTED]
)
def test_never_unknown_when_the_table_tells(
    log: str, collective: str, ranks: int, nodes: int | None, how: str | None
) -> None:
    out = parse_nccl_tests(load(log))
    assert (out.collective, out.ranks, out.nodes) == (collective, ranks, nodes)
    inferred = [w for w in out.warnings if w.startswith("collective not named in the log: inferred")]
    assert bool(inferred) is (how == "table"), out.warnings
    # the busbw factor of the collective and the rank count agrees with every printed row
    assert out.busbw_mismatch_rows == 0 and out.busbw_factor is not None


def test_inference_warning_says_what_was_read() -> None:
    out = parse_nccl_tests(load("superbench-a100x8-reducescatter-noname.log"))
    assert out.warnings == [
        "collective not named in the log: inferred from the table (redop sum, no root,"
        " size = count x 4 B x 8, busbw/algbw = 0.8750) as reduce_scatter"
    ]


def test_blank_redop_cells_are_not_shifted() -> None:
    """Older alltoall prints a redop header over empty cells: values stay under their own names."""
    out = parse_nccl_tests(load("superbench-a100x8-alltoall-empty-redop.log"))
    last = out.rows[-1]
    assert (last.redop, last.oop_time_us, last.oop_algbw_gbps, last.oop_busbw_gbps) == (
        None,
        33508.0,
        256.36,
        224.31,
    )
    assert out.peak_busbw_gbps is not None and out.busbw_at_max_size_gbps == 224.31
    assert out.warnings[0].startswith("the header has a redop column the rows leave blank")


def test_elided_device_list_does_not_give_the_rank_count() -> None:
    out = parse_nccl_tests(load("a100-oke-slurm-2node-exec-cmd-echo-elided-ranks.log"))
    assert len(out.hosts) == 2 and out.ranks == 16 and out.busbw_factor == 1.875
    assert "device list incomplete (4 line(s), highest rank 15): 16 ranks from the table" in out.warnings[0]
    assert out.warnings[1] == "node count unknown: the incomplete device list names 2 host(s)"


H100 = "h100-2node-allreduce-mpirun.log"


@pytest.mark.parametrize(
    ("binary", "expected"),
    [
        ("all_reduce_perf_mpi", "all_reduce"),
        ("/usr/local/bin/reduce_scatter_perf", "reduce_scatter"),
        ("./build/alltoall_perf_mpi", "alltoall"),
        ("sendrecv_perf", "sendrecv"),
    ],
)
def test_binary_name_variants(binary: str, expected: str) -> None:
    """The command line of a real log with the binary renamed: the name decides (a table that says
    otherwise is a warning, not a silent override)."""
    text = load(H100).replace("/opt/src/nccl-tests/build/all_reduce_perf", binary)
    out = parse_nccl_tests(text)
    assert out.collective == expected
    if expected != "all_reduce":
        assert any(
            w.startswith(f"the log names {expected} but the table's shape says all_reduce")
            for w in out.warnings
        )


def test_unmodelled_collective_is_named_not_guessed() -> None:
    text = load(H100).replace("/opt/src/nccl-tests/build/all_reduce_perf", "gather_perf")
    out = parse_nccl_tests(text)
    assert out.collective is None and out.busbw_factor is None
    assert any(w.startswith("collective gather: not one clustermax models") for w in out.warnings)


def test_no_name_anywhere_reads_the_table() -> None:
    text = "\n".join(line for line in load(H100).split("\n") if "all_reduce_perf" not in line)
    out = parse_nccl_tests(text)
    assert (out.collective, out.ranks, out.nodes) == ("all_reduce", 16, 2)
    assert any("inferred from the table (redop sum, root -1, size = count x 4 B" in w for w in out.warnings)


FM_DOWN = (
    Path(__file__).resolve().parents[1] / "data" / "history-pairs" / "h100x8-fabric-manager-down-issue264.log"
)


def test_an_aborted_run_is_nccl_tests_with_its_failure() -> None:
    """nccl-tests that aborts before any row (here: Fabric Manager down, CUDA 'system not yet
    initialized') is still nccl-tests output: recognised, and its abort line kept, not a parse error."""
    text = FM_DOWN.read_text(encoding="utf-8")
    assert detect_nccl_tests(text) >= 0.8
    out = parse_nccl_tests(text)
    assert out.rows == []
    assert out.failure == "Test CUDA failure common.cu:941 'system not yet initialized'"
    assert out.max_bytes == 134217728
    assert any("the test aborted" in w for w in out.warnings)
    # the same line in prose is not nccl-tests output
    assert detect_nccl_tests("we saw Test CUDA failure common.cu:941 'x' once\nand then\nnothing") == 0.0


def test_an_aborted_run_after_results_keeps_its_rows() -> None:
    lines = load(H100).split("\n")
    cut = next(i for i, line in enumerate(lines) if line.lstrip().startswith("1048576"))
    text = "\n".join([*lines[:cut], "hgpn01: Test NCCL failure common.cu:393 'unhandled system error'"])
    out = parse_nccl_tests(text)
    assert out.rows and out.failure == "Test NCCL failure common.cu:393 'unhandled system error'"
