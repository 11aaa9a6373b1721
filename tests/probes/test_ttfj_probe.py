"""Time to first job on Slurm: the parser on recorded real runs, and the probe against the real test Slurm,
including that nothing stays queued after success, a timeout, a Ctrl-C or a dropped SSH connection."""

from __future__ import annotations

import pwd
import re
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clustermax.engine.runner import ProbeContext, build_script, run_probe
from clustermax.models import Measurement, ProbeSpec, ProbeStatus, Severity, SubStatus
from clustermax.parsers.slurm.scontrol_job import job_fields
from clustermax.probes.base import ProbeInput, ProbeOutput, Section, split_sections
from clustermax.probes.specs import load_probe_spec
from clustermax.probes.ttfj import from_sections, job_output, key_values, spread
from clustermax.resources import probes_dir
from tests.infra.cluster import TestCluster
from tests.probes.standins import ssh_transport

DATA = Path(__file__).resolve().parents[1] / "data" / "probe_ttfj"


@pytest.fixture(scope="module")
def spec() -> ProbeSpec:
    return load_probe_spec(probes_dir() / "ttfj")


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def run_parser(spec: ProbeSpec, sections: dict[str, Section]) -> ProbeOutput:
    return from_sections(ProbeInput(spec=spec, host="login1", commands={}, sections=sections, params={}))


def per_run(out: ProbeOutput | list[Measurement], metric: str) -> dict[str, Measurement]:
    ms = out.measurements if isinstance(out, ProbeOutput) else out
    return {m.labels["run"]: m for m in ms if m.metric == metric}


def single(out: ProbeOutput | list[Measurement], metric: str, **labels: str) -> object:
    ms = out.measurements if isinstance(out, ProbeOutput) else out
    found = [
        m.value for m in ms if m.metric == metric and all(m.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (metric, found)
    return found[0]


def assert_plausible(ms: list[Measurement], kind: str, runs: int) -> None:
    """Positive, ordered times for every timed run: queue wait <= total, run <= total."""
    totals = per_run(ms, f"ttfj.{kind}_total")
    waits = per_run(ms, f"ttfj.{kind}_queue_wait")
    runs_ = per_run(ms, f"ttfj.{kind}_run")
    assert sorted(totals) == [str(i) for i in range(1, runs + 1)]
    for i, total in totals.items():
        t, w, r = total.value, waits[i].value, runs_[i].value
        assert isinstance(t, float) and isinstance(w, float) and isinstance(r, float), (i, t, w, r)
        assert 0 < t < 60 and 0 <= w <= t and 0 <= r <= t, (kind, i, t, w, r)
        assert total.unit.value == "s"
    med = single(ms, f"ttfj.{kind}_total_median")
    assert med == pytest.approx(statistics.median(m.value for m in totals.values()), abs=1e-5)  # type: ignore[misc]


# ------------------------------------------------------------------------------ recorded real runs


def test_successful_run(spec: ProbeSpec) -> None:
    out = run_parser(spec, split_sections(read("testcluster-22.05.8-ok.txt")))
    assert out.status == ProbeStatus.OK
    assert_plausible(out.measurements, "batch", 3)
    assert_plausible(out.measurements, "interactive", 3)
    # on this cluster batch jobs wait for the scheduler's 1 s tick; srun is allocated at once
    assert all(m.labels["source"] == "job" for m in per_run(out, "ttfj.batch_queue_wait").values())
    assert single(out, "ttfj.batch_total_median") > single(out, "ttfj.interactive_total_median")  # type: ignore[operator]
    assert single(out, "ttfj.interactive_total_median") < 0.5  # type: ignore[operator]
    assert single(out, "ttfj.batch_warmup_total") is not None
    assert single(out, "ttfj.failed_jobs") == 0
    assert single(out, "ttfj.queue_clean") is True
    assert single(out, "ttfj.gpu_visible") is True
    spread_batch = single(out, "ttfj.spread", kind="batch")
    totals = [m.value for m in per_run(out, "ttfj.batch_total").values()]
    assert spread_batch == pytest.approx((max(totals) - min(totals)) / statistics.median(totals), abs=1e-5)  # type: ignore[type-var,arg-type]
    assert out.findings == []
    runs = out.facts["runs"]
    assert [(r["kind"], r["run"]) for r in runs] == [("batch", i) for i in range(4)] + [
        ("interactive", i) for i in range(4)
    ]
    assert all(r["node"] == "node1" and r["state"] == "COMPLETED" for r in runs)
    assert re.fullmatch(r"cmx-ttfj-login1-\d+-\d+", out.facts["tag"])
    assert re.match(r"batch median \d+\.\d\d s over 3 run\(s\); interactive median 0\.0\d s", out.message)


def test_rejected_request_fails_with_the_schedulers_reason(spec: ProbeSpec) -> None:
    out = run_parser(spec, split_sections(read("testcluster-22.05.8-gpus9-rejected.txt")))
    assert out.status == ProbeStatus.FAILED and out.substatus is None
    assert single(out, "ttfj.failed_jobs") == 2  # each kind's warm-up; the timed runs were not tried
    assert single(out, "ttfj.batch_total_median") is None  # not measured, never 0
    assert single(out, "ttfj.queue_clean") is True
    failed = next(f for f in out.findings if f.code == "ttfj.job-failed")
    assert "Requested node configuration is not available" in failed.message
    assert failed.remediation == spec.remediation["job-failed"]
    assert out.remediation == spec.remediation["job-failed"]


def test_busy_cluster_times_out_and_cleans_up(spec: ProbeSpec) -> None:
    out = run_parser(spec, split_sections(read("testcluster-22.05.8-busy-timeout.txt")))
    assert (out.status, out.substatus) == (ProbeStatus.FAILED, SubStatus.TIMEOUT)
    slow = next(f for f in out.findings if f.code == "ttfj.slow-start")
    assert slow.severity == Severity.HIGH and "did not finish within 2 s" in slow.message
    assert single(out, "ttfj.failed_jobs") == 2
    assert single(out, "ttfj.queue_clean") is True
    assert [r["state"] for r in out.facts["runs"]] == ["PROBE_TIMEOUT", "PROBE_TIMEOUT"]
    assert out.facts["submitted_batch_jobs"] == [out.facts["runs"][0]["job_id"]]


# ----------------------------------------------------------------- derived from the recorded runs


def test_job_left_in_the_queue_is_critical(spec: ProbeSpec) -> None:
    sections = split_sections(read("testcluster-22.05.8-ok.txt"))
    cleanup = sections["cleanup"].text.replace("left=", "left=41 PENDING,")
    sections["cleanup"] = Section("cleanup", cleanup, 0)
    out = run_parser(spec, sections)
    assert single(out, "ttfj.queue_clean") is False
    leftover = next(f for f in out.findings if f.code == "ttfj.leftover")
    assert leftover.severity == Severity.CRITICAL and "41 PENDING" in leftover.message
    assert "LEFT IN QUEUE" in out.message


def test_queue_check_falls_back_and_unknown_is_null(spec: ProbeSpec) -> None:
    sections = split_sections(read("testcluster-22.05.8-ok.txt"))
    del sections["cleanup"]
    assert single(run_parser(spec, sections), "ttfj.queue_clean") is True  # from queue-after
    del sections["queue-after"]
    assert single(run_parser(spec, sections), "ttfj.queue_clean") is None
    sections = split_sections(read("testcluster-22.05.8-ok.txt"))
    sections["cleanup"] = Section(
        "cleanup", sections["cleanup"].text.replace("squeue_rc=0", "squeue_rc=1"), 0
    )
    assert single(run_parser(spec, sections), "ttfj.queue_clean") is None


def test_skewed_node_clock_falls_back_to_slurmctld_times(spec: ProbeSpec) -> None:
    sections = split_sections(read("testcluster-22.05.8-ok.txt"))
    out_text = sections["batch-2-out"].text
    # the node's clock 7 s ahead: shift the whole seconds of both stamps
    skewed = re.sub(r"^(cmx-(?:start|end) )(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + 7}", out_text,
                    flags=re.M)  # fmt: skip
    assert skewed != out_text
    sections["batch-2-out"] = Section("batch-2-out", skewed, 0)
    out = run_parser(spec, sections)
    wait = per_run(out, "ttfj.batch_queue_wait")["2"]
    fields = job_fields(sections["batch-2-job"].text)
    assert wait.labels["source"] == "slurmctld"
    assert wait.value in (0.0, 1.0)
    assert fields["JobState"] == "COMPLETED"
    # the run time comes from one clock (the node's), so a skew does not change it
    assert per_run(out, "ttfj.batch_run")["2"].labels["source"] == "job"


def test_output_cut_mid_run(spec: ProbeSpec) -> None:
    text = read("testcluster-22.05.8-ok.txt")
    cut = text[: text.index("@@CMX:BEGIN batch-2@@") + 60]
    out = run_parser(spec, split_sections(cut))
    assert sorted(per_run(out, "ttfj.batch_total")) == ["1"]
    assert single(out, "ttfj.queue_clean") is None
    assert out.status == ProbeStatus.OK


def test_only_the_exit_hook_ran(spec: ProbeSpec) -> None:
    sections = split_sections(read("testcluster-22.05.8-busy-timeout.txt"))
    kept = {k: v for k, v in sections.items() if k in ("context", "cleanup")}
    out = run_parser(spec, kept)
    assert (out.status, out.substatus) == (ProbeStatus.ERROR, SubStatus.COMMAND_FAILED)
    assert "ended before job" in out.message and "nothing left in the queue" in out.message


def test_missing_slurm_and_bad_parameters(spec: ProbeSpec) -> None:
    out = run_parser(spec, {"unavailable": Section("unavailable", "sbatch not found on PATH of login1", 0)})
    assert (out.status, out.substatus) == (ProbeStatus.SKIPPED, SubStatus.NOT_INSTALLED)
    out = run_parser(spec, {"error": Section("error", "repetitions must be a whole number, got 'x'", 0)})
    assert (out.status, out.substatus) == (ProbeStatus.ERROR, SubStatus.UNSUPPORTED)
    assert "repetitions" in out.message


def test_helpers() -> None:
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert spread([2.0]) is None and spread([0.0, 0.0]) is None
    job = job_output(
        "cmx-start 10.5\ncmx-node n1 jobid=7 cuda=0,1\nGPU 0: x\nGPU 1: y\ncmx-smi-rc 0\ncmx-end 11.25\n"
    )
    assert (job.start, job.end, job.host, job.job_id, job.cuda, job.gpus_listed, job.smi_rc) == (
        10.5, 11.25, "n1", "7", "0,1", 2, 0,
    )  # fmt: skip
    assert key_values("a=1\nb_c= x y \nNot=kv\nnoeq") == {"a": "1", "b_c": "x y"}


TTFJ_SECTIONS = ["context", "batch-0", "batch-1", "batch-1-job", "batch-1-out", "interactive-1",
                 "interactive-1-out", "cleanup", "queue-after", "error"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(TTFJ_SECTIONS),
        st.tuples(st.text(max_size=200), st.one_of(st.none(), st.integers(0, 255))),
    )
)
def test_no_input_crashes_the_parser(sections: dict[str, tuple[str, int | None]]) -> None:
    spec = load_probe_spec(probes_dir() / "ttfj")
    out = run_parser(spec, {k: Section(k, text, rc) for k, (text, rc) in sections.items()})
    declared = {m.name: m for m in spec.metrics}
    for m in out.measurements:
        assert m.metric in declared and m.unit == declared[m.metric].unit
        assert set(m.labels) <= set(declared[m.metric].labels)


def test_every_emitted_metric_is_declared(spec: ProbeSpec) -> None:
    declared = {m.name: m for m in spec.metrics}
    emitted = set()
    for m in run_parser(spec, split_sections(read("testcluster-22.05.8-ok.txt"))).measurements:
        assert m.unit == declared[m.metric].unit and set(m.labels) <= set(declared[m.metric].labels)
        emitted.add(m.metric)
    # every declared metric comes out of a successful run (ssh.connect_time moved to scheduler_detect)
    assert set(declared) - emitted == set()


# --------------------------------------------------------------------- the real probe on real Slurm


def squeue(cluster: TestCluster, name: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], capture_output=True, text=True,
                         env=cluster.env(), check=True).stdout  # fmt: skip
    return out.splitlines()


def ttfj_jobs(cluster: TestCluster) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%j %i %T"], capture_output=True, text=True,
                         env=cluster.env(), check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if line.startswith("cmx-ttfj-")]


def wait_for(predicate, timeout: float, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def workdir_of(stdout: str) -> Path:
    """The probe's work folder under the user's home (from its context section)."""
    m = re.search(r"^workdir=(\S+)$", stdout, re.M)
    assert m, stdout[:500]
    path = Path(m.group(1))
    assert path.parent == Path(pwd.getpwnam("cmxtest").pw_dir) and path.name.startswith(".clustermax-ttfj.")
    return path


@contextmanager
def all_gpus_busy(cluster: TestCluster) -> Iterator[str]:
    """A root job holding every GPU of every node, so the probe's jobs stay pending."""
    n = len(cluster.nodes)
    argv = ["sbatch", "--parsable", f"-N{n}", "--gres=gpu:8", "-o", "/dev/null", "-J", "blocker",
            "--wrap", "sleep 300"]  # fmt: skip
    job = subprocess.run(argv, capture_output=True, text=True, env=cluster.env(), check=True).stdout
    job = job.strip().split(";")[0]
    try:
        assert wait_for(lambda: squeue(cluster, "blocker") == [f"{job} RUNNING"], 15), squeue(
            cluster, "blocker"
        )
        yield job
    finally:
        subprocess.run(["scancel", job], env=cluster.env(), check=False)
        wait_for(lambda: not squeue(cluster, "blocker"), 15)


CTX = ProbeContext(role="login", platform="slurm")


@pytest.mark.slurm
@pytest.mark.sshd
def test_probe_on_the_test_cluster(testcluster: TestCluster, spec: ProbeSpec) -> None:
    with ssh_transport(testcluster, testcluster.login) as transport:
        commands, result = run_probe(transport, spec, "login1", {"repetitions": 2}, CTX)
    assert commands[0].exit_code == 0, commands[0].stderr
    assert result.status == ProbeStatus.OK, result.message
    assert_plausible(result.measurements, "batch", 2)
    assert_plausible(result.measurements, "interactive", 2)
    assert single(result.measurements, "ttfj.failed_jobs") == 0
    assert single(result.measurements, "ttfj.queue_clean") is True
    assert squeue(testcluster, result.facts["tag"]) == []  # checked from outside too
    assert not workdir_of(commands[0].stdout).exists()
    assert result.params == {"repetitions": 2}


@pytest.mark.slurm
@pytest.mark.sshd
def test_job_timeout_cancels_the_pending_jobs(testcluster: TestCluster, spec: ProbeSpec) -> None:
    with all_gpus_busy(testcluster), ssh_transport(testcluster, testcluster.login) as transport:
        commands, result = run_probe(transport, spec, "login1", {"job_timeout_s": 2, "repetitions": 1}, CTX)
        assert ttfj_jobs(testcluster) == []  # while the blocker still holds the GPUs
    assert (result.status, result.substatus) == (ProbeStatus.FAILED, SubStatus.TIMEOUT)
    assert single(result.measurements, "ttfj.queue_clean") is True
    assert [r["state"] for r in result.facts["runs"]] == ["PROBE_TIMEOUT", "PROBE_TIMEOUT"]
    assert not workdir_of(commands[0].stdout).exists()


@pytest.mark.slurm
@pytest.mark.sshd
def test_probe_timeout_cancels_everything(testcluster: TestCluster, spec: ProbeSpec) -> None:
    short = spec.model_copy(update={"timeout_s": 4.0})
    with all_gpus_busy(testcluster), ssh_transport(testcluster, testcluster.login) as transport:
        t0 = time.monotonic()
        commands, result = run_probe(transport, short, "login1", {}, CTX)
        elapsed = time.monotonic() - t0
        assert ttfj_jobs(testcluster) == []
    assert commands[0].exit_code == 124 and 4 <= elapsed < 12  # remote `timeout` sent TERM at 4 s
    assert result.status == ProbeStatus.ERROR
    assert "cancelled" in result.message and "timeout" in result.message
    assert single(result.measurements, "ttfj.queue_clean") is True
    assert not workdir_of(commands[0].stdout).exists()


@pytest.mark.slurm
@pytest.mark.sshd
def test_interrupt_cancels_everything(testcluster: TestCluster, spec: ProbeSpec) -> None:
    stop = threading.Event()
    ctx = ProbeContext(role="login", platform="slurm", stop=stop)
    box: dict[str, object] = {}
    with all_gpus_busy(testcluster), ssh_transport(testcluster, testcluster.login) as transport:

        def go() -> None:
            box["out"] = run_probe(transport, spec, "login1", {"kinds": "interactive"}, ctx)

        worker = threading.Thread(target=go)
        worker.start()
        # the interactive srun is waiting for resources: its job is queued under the probe's tag
        assert wait_for(lambda: len(ttfj_jobs(testcluster)) == 1, 15), ttfj_jobs(testcluster)
        stop.set()  # what Ctrl-C does: TERM to the remote process group
        worker.join(30)
        assert not worker.is_alive()
        assert wait_for(lambda: ttfj_jobs(testcluster) == [], 5), ttfj_jobs(testcluster)
    commands, result = box["out"]  # type: ignore[misc]
    assert commands[0].error == "interrupted"
    assert "@@CMX:BEGIN cleanup@@" in commands[0].stdout  # the exit hook ran and reported
    assert single(result.measurements, "ttfj.queue_clean") is True
    assert not workdir_of(commands[0].stdout).exists()


@pytest.mark.slurm
@pytest.mark.sshd
def test_dropped_ssh_connection_cancels_everything(testcluster: TestCluster, spec: ProbeSpec) -> None:
    """No terminal, so no SIGHUP: the probe's watchdog notices its sshd session is gone."""
    script = build_script(spec, "login1", {"kinds": "batch"}, CTX).encode()
    with all_gpus_busy(testcluster):
        proc = subprocess.Popen(testcluster.ssh_argv(testcluster.login, "bash -s"), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(script)
        proc.stdin.close()
        head = b""
        for raw in proc.stdout:
            head += raw
            if raw.startswith(b"@@CMX:END context"):
                break
        tag = re.search(r"^tag=(\S+)$", head.decode(), re.M).group(1)  # type: ignore[union-attr]
        workdir = workdir_of(head.decode())
        assert wait_for(lambda: squeue(testcluster, tag) != [], 15)
        assert "PENDING" in squeue(testcluster, tag)[0]
        proc.kill()  # the connection drops: the client is gone, no signal reaches the remote shell
        proc.wait()
        assert wait_for(lambda: squeue(testcluster, tag) == [], 10), squeue(testcluster, tag)
        assert wait_for(lambda: not workdir.exists(), 5)
