"""Bundles and scores built in test code for the report tests (no tool output is invented here: these
are model objects, the contract between scoring and reporting)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from clustermax.models import (
    Bundle,
    CategoryResult,
    CriterionResult,
    Finding,
    HardwareProfile,
    HostRecord,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    RubricRef,
    ScoreResult,
    Severity,
    SubStatus,
    Target,
    Tier,
    Unit,
    Verdict,
)
from clustermax.models.score import TIER_ORDER, Advice, AdviceAction, ReferenceFigure, Shortfall

T0 = datetime(2026, 11, 20, 9, 30, 0, tzinfo=timezone.utc)
SIZES = [2**i for i in range(24, 34)]  # 16 MiB .. 8 GiB, the probe's default sweep

HOSTILE_HOST = "<script>alert(1)</script>"
HOSTILE_GPU = 'NVIDIA H100 80GB HBM3 "SXM" & friends'
ANSI_MESSAGE = "\x1b[31mECC\x1b[0m errors \x1b]0;pwned\x07on GPU 3\x1b[2J"
HOSTILE_CLUSTER = "acme | **bold** [x](javascript:alert(1)) <b>"


def _curve(peak: float, half: float) -> list[float]:
    return [round(peak * s / (s + half), 2) for s in SIZES]


def _nccl_measurements(scope: str, nodes: int, ranks: int, peak: float, runs: int = 3) -> list[Measurement]:
    out: list[Measurement] = []
    peaks = []
    for run in range(1, runs + 1):
        values = _curve(peak * (1 - 0.01 * run), 96 * 2**20)
        labels = {
            "collective": "all_reduce",
            "impl": "nccl",
            "scope": scope,
            "nodes": str(nodes),
            "ranks": str(ranks),
        }
        for size, value in zip(SIZES, values, strict=True):
            out.append(
                Measurement(
                    metric="nccl.busbw",
                    value=value,
                    unit=Unit.GBPS,
                    labels={**labels, "run": str(run), "size_bytes": str(size)},
                )
            )
        band = [v for s, v in zip(SIZES, values, strict=True) if s <= 512 * 2**20]
        out.append(
            Measurement(
                metric="nccl.busbw_peak",
                value=max(values),
                unit=Unit.GBPS,
                labels={**labels, "run": str(run)},
            )
        )
        out.append(
            Measurement(
                metric="nccl.busbw_band_mean",
                value=sum(band) / len(band),
                unit=Unit.GBPS,
                labels={**labels, "run": str(run)},
            )
        )
        peaks.append(max(values))
    peaks.sort()
    out.append(
        Measurement(
            metric="nccl.busbw_peak_median",
            value=peaks[len(peaks) // 2],
            unit=Unit.GBPS,
            labels={
                "collective": "all_reduce",
                "impl": "nccl",
                "scope": scope,
                "nodes": str(nodes),
                "ranks": str(ranks),
                "runs": str(runs),
            },
        )
    )
    return out


def make_bundle(
    *,
    cluster: str = "acme-h100",
    provider: str | None = "Acme Cloud",
    nodes: list[str] | None = None,
    gpu_model: str = "NVIDIA H100 80GB HBM3",
    intra_peak: float = 480.0,
    inter_peak: float | None = 370.0,
    ttfj: list[float] | None = None,
    ecc_host: str | None = "gpu-002",
    unreachable: str | None = "gpu-004",
    finding_message: str = "GPU 3 reports 4 volatile uncorrectable ECC errors",
    probe_message: str = "dcgmi is not installed",
    user: str = "alice",
) -> Bundle:
    nodes = nodes if nodes is not None else ["gpu-001", "gpu-002", "gpu-003", "gpu-004"]
    ttfj = ttfj if ttfj is not None else [2.8, 3.1, 2.9]
    hosts = [HostRecord(name="login-1", address="203.0.113.10", user=user, port=22, role="login", state="ok")]
    for i, node in enumerate(nodes):
        if node == unreachable:
            hosts.append(
                HostRecord(
                    name=node,
                    address=f"10.1.0.{i + 1}",
                    user=user,
                    role="compute",
                    via="login-1",
                    state="unreachable",
                    error=f"ssh: connect to host 10.1.0.{i + 1} port 22: No route to host",
                )
            )
        else:
            hosts.append(
                HostRecord(
                    name=node,
                    address=f"10.1.0.{i + 1}",
                    user=user,
                    role="compute",
                    via="login-1",
                    state="ok",
                    connect_time_s=0.2,
                )
            )
    results: list[ProbeResult] = []
    for node in nodes:
        if node == unreachable:
            results.append(
                ProbeResult(
                    probe_id="gpu_health",
                    host=node,
                    status=ProbeStatus.ERROR,
                    substatus=SubStatus.UNREACHABLE,
                    message="host unreachable",
                    started_at=T0,
                    duration_s=0.0,
                )
            )
            continue
        ecc = 4 if node == ecc_host else 0
        gm = [
            Measurement(metric="gpu.count", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.expected_count", value=8, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.count_ok", value=True, unit=Unit.BOOL, host=node),
            Measurement(metric="gpu.model", value=gpu_model, unit=Unit.TEXT, host=node),
            Measurement(metric="gpu.ecc_uncorrected", value=ecc, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.remapped_rows_pending", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.remapped_rows_failed", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.xid_events", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.xid_critical", value=0, unit=Unit.COUNT, host=node),
            Measurement(metric="gpu.fallen_off_bus", value=False, unit=Unit.BOOL, host=node),
            Measurement(metric="gpu.persistence_mode", value=node != nodes[0], unit=Unit.BOOL, host=node),
            Measurement(metric="gpu.healthy", value=ecc == 0, unit=Unit.BOOL, host=node),
        ]
        findings = (
            [
                Finding(
                    code="ecc-uncorrected",
                    severity=Severity.CRITICAL,
                    host=node,
                    message=finding_message,
                    remediation="Drain the node, reset the GPU, RMA it if the errors come back.",
                )
            ]
            if ecc
            else []
        )
        results.append(
            ProbeResult(
                probe_id="gpu_health",
                host=node,
                status=ProbeStatus.FAILED if ecc else ProbeStatus.OK,
                started_at=T0,
                duration_s=3.2,
                measurements=gm,
                findings=findings,
            )
        )
        results.append(
            ProbeResult(
                probe_id="fabric",
                host=node,
                status=ProbeStatus.SKIPPED,
                substatus=SubStatus.NOT_INSTALLED,
                message="ibstat is not installed",
                remediation="Install infiniband-diags.",
                started_at=T0,
                duration_s=0.1,
            )
        )
    results.append(
        ProbeResult(
            probe_id="monitoring",
            host=nodes[0] if nodes else "cluster",
            status=ProbeStatus.ERROR,
            substatus=SubStatus.NOT_INSTALLED,
            message=probe_message,
            started_at=T0,
            duration_s=0.1,
        )
    )
    nccl = _nccl_measurements("intra", 1, 8, intra_peak)
    if inter_peak is not None:
        nccl += _nccl_measurements("inter", 2, 16, inter_peak)
    results.append(
        ProbeResult(
            probe_id="nccl_allreduce",
            host="cluster",
            status=ProbeStatus.OK,
            started_at=T0,
            duration_s=420.0,
            measurements=nccl,
            # the probe's defaults (probes/nccl_allreduce/probe.yaml), as an audit records them
            params={
                "collective": "all_reduce",
                "min_bytes": "16M",
                "max_bytes": "8G",
                "step_factor": 2,
                "iters": 20,
                "warmup_iters": 5,
                "repetitions": 3,
                "node_counts": [1, 2, 4],
            },
        )
    )
    tm = [
        Measurement(metric="ttfj.batch_total", value=v, unit=Unit.SECONDS, labels={"run": str(i + 1)})
        for i, v in enumerate(ttfj)
    ]
    if ttfj:
        tm.append(
            Measurement(
                metric="ttfj.batch_total_median", value=sorted(ttfj)[len(ttfj) // 2], unit=Unit.SECONDS
            )
        )
    results.append(
        ProbeResult(
            probe_id="ttfj",
            host="cluster",
            status=ProbeStatus.OK,
            started_at=T0,
            duration_s=30.0,
            measurements=tm,
        )
    )
    return Bundle(
        origin=Origin(
            tool_version="0.1.0",
            python="3.11.2",
            platform="Linux-6.1-x86_64",
            run_from="laptop-7",
            command="clustermax audit -i inv.yaml",
        ),
        target=Target(cluster=cluster, provider=provider, platform="slurm"),
        started_at=T0,
        ended_at=T0 + timedelta(seconds=754),
        complete=True,
        hosts=hosts,
        results=results,
    )


def _criterion(cid: str, category: str, verdict: Verdict, **kw: Any) -> CriterionResult:
    base: dict[str, Any] = {
        "id": cid,
        "title": kw.pop("title", cid.replace("_", " ").capitalize()),
        "category": category,
        "verdict": verdict,
        "explanation": kw.pop("explanation", f"{cid} is {verdict.value}."),
        "weight": kw.pop("weight", 1.0),
        "points": kw.pop(
            "points", None if verdict in (Verdict.NOT_MEASURED, Verdict.NOT_APPLICABLE) else 1.0
        ),
    }
    base.update(kw)
    return CriterionResult(**base)


def _hosts(bundle: Bundle, bad: str | None, verdict: Verdict) -> dict[str, Verdict]:
    """Per-host verdicts over the GPU nodes that answered: ``bad`` gets ``verdict``, the others pass."""
    reached = sorted({r.host for r in bundle.results if r.probe_id == "gpu_health" and r.measurements})
    return {h: (verdict if h == bad else Verdict.PASS) for h in reached}


def make_score(
    bundle: Bundle,
    *,
    tier: Tier | None = Tier.SILVER,
    score: float = 71.5,
    gpu_model: str = "NVIDIA H100 80GB HBM3",
    evidence: list[str] | None = None,
    floor: Tier | None = None,
    ceiling: Tier = Tier.PLATINUM,
) -> ScoreResult:
    """A scored model as scoring would write it: ``tier`` None makes a not-rated one (floor
    Underperforming); otherwise the floor is ``tier`` (or ``floor``) and the ceiling ``ceiling``."""
    floor = floor or tier or Tier.UNDERPERFORMING
    rated = tier is not None
    ecc_host = next(
        (m.host for m in bundle.measurements() if m.metric == "gpu.ecc_uncorrected" and m.value),
        None,
    )
    first = next((m.host for m in bundle.measurements() if m.metric == "gpu.persistence_mode"), None)
    criteria = [
        _criterion(
            "nccl_intra_peak",
            "networking",
            Verdict.PASS,
            title="All-reduce peak busbw, intra-node",
            observed=475.2,
            unit="GB/s",
            threshold="pass >= 0.85 x 450 GB/s, warn >= 0.7 x",
            reference_source="NVIDIA DGX H100 user guide (NVLink 4, 900 GB/s bidirectional)",
            metrics=["nccl.busbw_peak_median"],
            labels={"collective": "all_reduce", "scope": "intra"},
            reference=ReferenceFigure(
                figure="gpu.allreduce_busbw_intra",
                ref_id="h100-sxm",
                value=480.0,
                unit="GB/s",
                conditions="nccl-tests all_reduce_perf, 8 GPUs, one node",
                source="NVIDIA/nccl-tests#290",
            ),
        ),
        _criterion(
            "nccl_inter_band",
            "networking",
            Verdict.WARN,
            title="All-reduce busbw 16-512 MiB, inter-node",
            observed=201.0,
            unit="GB/s",
            threshold="pass >= 0.8 x 360 GB/s, warn >= 0.5 x",
            reference_source="coreweave/nccl-tests README (H100, 8x400G IB, SHARP)",
            remediation="Check IB port rates, GPUDirect RDMA and the NCCL topology.",
            metrics=["nccl.busbw_band_mean"],
            labels={"collective": "all_reduce", "scope": "inter"},
            reference=ReferenceFigure(
                figure="fabric.nic_allreduce_busbw",
                ref_id="ib-ndr-400",
                value=368.0,
                unit="GB/s",
                scale="nic_count 8",
                conditions="all_reduce_perf across nodes, per 400G NIC",
                source="coreweave/nccl-tests README",
            ),
        ),
        _criterion(
            "gpu_ecc",
            "reliability",
            Verdict.FAIL,
            title="No uncorrectable ECC errors",
            observed=4,
            unit="count",
            threshold="pass = 0",
            reference_source="NVIDIA GPU memory error management guide",
            remediation="Drain the node, reset the GPU, RMA it if the errors come back.",
            hosts=[ecc_host] if ecc_host else [],
            metrics=["gpu.ecc_uncorrected"],
            host_verdicts=_hosts(bundle, ecc_host, Verdict.FAIL),
        ),
        _criterion(
            "dcgm_exporter",
            "monitoring",
            Verdict.NOT_MEASURED,
            title="DCGM exporter on every GPU node",
            explanation="The monitoring probe could not run: dcgmi is not installed.",
        ),
        _criterion(
            "k8s_gpu_operator",
            "orchestration",
            Verdict.NOT_APPLICABLE,
            title="GPU Operator installed",
            explanation="The cluster runs Slurm, not Kubernetes.",
        ),
        _criterion(
            "soc2",
            "security",
            Verdict.PASS,
            title="SOC 2 Type II report",
            observed=True,
            attested=True,
            evidence=evidence if evidence is not None else ["https://example.com/trust/soc2.pdf"],
            explanation="Attested by the provider with a link to the report.",
        ),
        _criterion(
            "ttfj",
            "lifecycle",
            Verdict.PASS,
            title="Time to first job",
            observed=2.9,
            unit="s",
            threshold="pass <= 60 s, warn <= 300 s",
            reference_source="clustermax rubric default",
        ),
        _criterion(
            "gpus_visible",
            "reliability",
            Verdict.PASS,
            title="Every GPU visible",
            observed=True,
            threshold="pass: true",
            metrics=["gpu.count_ok"],
            host_verdicts=_hosts(bundle, None, Verdict.PASS),
        ),
        _criterion(
            "persistence",
            "lifecycle",
            Verdict.WARN,
            title="GPU persistence mode on",
            observed=False,
            threshold="pass: true; otherwise warn",
            remediation="Enable persistence mode (nvidia-smi -pm 1).",
            hosts=[first] if first else [],
            metrics=["gpu.persistence_mode"],
            host_verdicts=_hosts(bundle, first, Verdict.WARN),
        ),
    ]
    categories = [
        CategoryResult(id="networking", title="Networking", score=80.0, weight=3, coverage=1.0),
        CategoryResult(id="reliability", title="Reliability", score=40.0, weight=2, coverage=1.0),
        CategoryResult(id="monitoring", title="Monitoring", score=None, weight=1, coverage=0.0),
        CategoryResult(id="security", title="Security", score=100.0, weight=2, coverage=1.0),
        CategoryResult(id="lifecycle", title="Lifecycle", score=100.0, weight=1, coverage=1.0),
    ]
    label = floor.value.capitalize()
    if not rated:
        summary = (
            "Not rated: insufficient evidence (coverage 20%; Bronze needs 25%); between Underperforming and "
            f"{ceiling.value.capitalize()} on this evidence"
        )
    elif floor is ceiling:
        summary = label
    else:
        summary = f"at least {label} (up to {ceiling.value.capitalize()}: 1 criterion not measured)"
    order = list(TIER_ORDER)
    above = order[order.index(floor) + 1] if floor is not Tier.PLATINUM else None
    held = [
        Shortfall(
            bound="ceiling",
            tier=Tier.GOLD,
            kind="gate",
            criteria=["gpu_ecc"],
            verdicts=[Verdict.FAIL],
            text="Gold needs gpu_ecc to pass; it fails",
        )
    ]
    actions = [
        AdviceAction(
            kind="fix",
            criterion="gpu_ecc",
            title="No uncorrectable ECC errors",
            verdict=Verdict.FAIL,
            observed=4,
            unit="count",
            needed="pass = 0",
            remediation="Drain the node, reset the GPU, RMA it if the errors come back.",
            text="fix gpu_ecc (No uncorrectable ECC errors): 4 on gpu-002, needs pass = 0",
        )
    ]
    target = above.value.capitalize() if above else ""
    advice = Advice(
        target=above,
        reachable=True,
        actions=actions if above else [],
        text=f"To reach {target}: {actions[0].text}." if above else "",
        headline=f"To reach {target}: fix gpu_ecc" if above else "",
    )
    return ScoreResult(
        cluster=bundle.target.cluster,
        provider=bundle.target.provider,
        bundle_sha256="ab" * 32,
        tier=tier,
        rated=rated,
        not_rated_reason=None if rated else "insufficient_evidence",
        tier_floor=floor,
        tier_ceiling=ceiling,
        summary=summary,
        score=score,
        score_floor=round(score * 0.8, 2),
        score_ceiling=round(min(100.0, score * 1.2), 2),
        coverage=0.82,
        not_measured=1,
        not_attested=0,
        categories=categories,
        criteria=criteria,
        held_down_by=held,
        advice=advice,
        rubric=RubricRef(id="clustermax-default", version="2026.11", sha256="cd" * 32),
        profile=HardwareProfile(
            gpu_model=gpu_model,
            gpus_per_node=8,
            fabric="infiniband",
            nic_count=8,
            nic_rate_gbps=400,
            reference_ids=["fabric:ib-ndr-400", "gpu:h100-sxm"],
        ),
    )


def hostile_pair() -> tuple[Bundle, ScoreResult]:
    """Hostile strings from remote machines: markup in a host name, quotes and & in a GPU name, ANSI codes."""
    bundle = make_bundle(
        cluster=HOSTILE_CLUSTER,
        provider='Evil "Cloud" & <i>Co</i>',
        nodes=[HOSTILE_HOST, "gpu-002", "gpu-003"],
        gpu_model=HOSTILE_GPU,
        ecc_host=HOSTILE_HOST,
        unreachable=None,
        finding_message=ANSI_MESSAGE,
        probe_message="\x1b[1;31mdcgmi\x1b[0m missing <img src=x onerror=alert(2)>",
    )
    score = make_score(
        bundle, gpu_model=HOSTILE_GPU, evidence=["javascript:alert(3)", "https://example.com/ok?a=1&b=<2>"]
    )
    return bundle, score
