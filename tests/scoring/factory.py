"""Bundles built in code for scoring tests: a clean 8x H100 InfiniBand Slurm cluster and variants.

Values follow real measurements where the references cite them (476 GB/s intra-node all-reduce from
nccl-tests#290, 386.6 GB/s on 8 nodes from the CoreWeave README, ibstat rate 400).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from clustermax.models import (
    Bundle,
    Measurement,
    Origin,
    ProbeResult,
    ProbeStatus,
    SubStatus,
    Target,
    Unit,
)

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
NODES = ("gpu-node-01", "gpu-node-02")


def m(metric: str, value: Any, unit: str, host: str | None = None, **labels: str) -> Measurement:
    return Measurement(metric=metric, value=value, unit=Unit(unit), host=host, labels=labels)


def result(
    probe: str,
    host: str,
    measurements: list[Measurement],
    status: ProbeStatus = ProbeStatus.OK,
    substatus: SubStatus | None = None,
    message: str = "",
) -> ProbeResult:
    return ProbeResult(
        probe_id=probe,
        host=host,
        status=status,
        substatus=substatus,
        message=message,
        started_at=T0,
        duration_s=1.0,
        measurements=measurements,
    )


def bundle(
    results: list[ProbeResult],
    platform: str = "slurm",
    cluster: str = "test-cluster",
    profile_override: dict[str, Any] | None = None,
) -> Bundle:
    return Bundle(
        kind="audit",
        origin=Origin(tool_version="0.1.0", python="3.11", platform="linux"),
        target=Target(
            cluster=cluster, provider="example", platform=platform, profile_override=profile_override
        ),  # type: ignore[arg-type]
        started_at=T0,
        ended_at=T0,
        complete=True,
        results=results,
    )


def system_results(host: str) -> list[ProbeResult]:
    return [
        result(
            "system_info",
            host,
            [
                m("system.hostname", host, "text", host),
                m("system.os", "Ubuntu 22.04.4 LTS", "text", host),
                m("system.kernel", "5.15.0-105-generic", "version", host),
                m("system.arch", "x86_64", "text", host),
                m("system.cpu_count", 224, "count", host),
                m("system.memory_total", 2015.6, "GiB", host),
                m("system.uptime", 86400.0, "s", host),
            ],
        )
    ]


def detect_result(platform: str = "slurm") -> ProbeResult:
    return result(
        "scheduler_detect",
        "login",
        [
            m("scheduler.slurm_present", platform == "slurm", "bool", "login"),
            m("scheduler.kubectl_present", platform == "kubernetes", "bool", "login"),
            m("scheduler.nvidia_smi_present", False, "bool", "login"),
            m("scheduler.platform", platform, "text", "login"),
        ],
    )


def gpu_result(host: str, **over: Any) -> ProbeResult:
    values: dict[str, tuple[Any, str]] = {
        "gpu.count": (8, "count"),
        "gpu.expected_count": (8, "count"),
        "gpu.count_ok": (True, "bool"),
        "gpu.model": ("NVIDIA H100 80GB HBM3", "text"),
        "gpu.memory_total": (81559, "MiB"),
        "gpu.driver_version": ("570.211.01", "version"),
        "gpu.cuda_version": ("12.8", "version"),
        "gpu.persistence_mode": (True, "bool"),
        "gpu.temperature_max": (34, "C"),
        "gpu.power_draw_max": (72.5, "W"),
        "gpu.power_limit": (700.0, "W"),
        "gpu.throttled": (0, "count"),
        "gpu.ecc_uncorrected": (0, "count"),
        "gpu.retired_pages_pending": (0, "count"),
        "gpu.remapped_rows_pending": (0, "count"),
        "gpu.remapped_rows_failed": (0, "count"),
        "gpu.pcie_degraded": (0, "count"),
        "gpu.nvlink_inactive": (0, "count"),
        "gpu.xid_events": (0, "count"),
        "gpu.xid_critical": (0, "count"),
        "gpu.fallen_off_bus": (False, "bool"),
        "gpu.healthy": (True, "bool"),
    }
    for key, value in over.items():
        name = "gpu." + key
        values[name] = (value, values[name][1])
    ms = [m(name, v, u, host) for name, (v, u) in values.items()]
    ms.append(m("gpu.dcgm_diag", over.get("dcgm", "pass"), "text", host, level="1"))
    ms.append(m("gpu.dcgm_failed_tests", 0, "count", host, level="1"))
    return result("gpu_health", host, ms)


def fabric_result(
    host: str, nic_count: int = 8, rate: float = 400, ports_down: int = 0, layer: str = "InfiniBand"
) -> ProbeResult:
    return result(
        "fabric",
        host,
        [
            m("fabric.ports", nic_count + 1, "count", host),
            m("fabric.ports_active", nic_count, "count", host),
            m("fabric.ports_down", ports_down, "count", host),
            m("fabric.nic_count", nic_count, "count", host),
            m("fabric.nic_rate", rate, "Gb/s", host),
            m("fabric.link_layer", layer, "text", host),
            m("fabric.gpudirect_rdma", True, "bool", host),
            m("fabric.gpu_nic_pix", 8, "count", host),
        ],
    )


def nccl_result(
    intra: float = 476.0, inter: float = 386.6, band: float = 300.0, wrong: int = 0
) -> ProbeResult:
    base = {"collective": "all_reduce", "impl": "nccl-tests"}
    return result(
        "nccl_allreduce",
        "cluster",
        [
            m(
                "nccl.busbw_peak_median",
                intra,
                "GB/s",
                None,
                scope="intra",
                nodes="1",
                ranks="8",
                runs="3",
                **base,
            ),
            m(
                "nccl.busbw_peak_spread",
                0.01,
                "ratio",
                None,
                scope="intra",
                nodes="1",
                ranks="8",
                runs="3",
                **base,
            ),
            m(
                "nccl.busbw_peak_median",
                inter,
                "GB/s",
                None,
                scope="inter",
                nodes="2",
                ranks="16",
                runs="3",
                **base,
            ),
            m(
                "nccl.busbw_peak_spread",
                0.02,
                "ratio",
                None,
                scope="inter",
                nodes="2",
                ranks="16",
                runs="3",
                **base,
            ),
            m(
                "nccl.busbw_band_mean",
                band,
                "GB/s",
                None,
                scope="inter",
                nodes="2",
                ranks="16",
                run="0",
                **base,
            ),
            m("nccl.wrong", wrong, "count", None, scope="intra", nodes="1", ranks="8", run="0", **base),
            m("nccl.runs_implausible", 0, "count", None, collective="all_reduce", check="table"),
            m("nccl.version", "2.21.5", "version"),
            m("nccl.autoconfig", True, "bool"),
        ],
    )


def slurm_result(**over: Any) -> ProbeResult:
    values: dict[str, tuple[Any, str]] = {
        "slurm.controller_up": (True, "bool"),
        "slurm.partitions": (1, "count"),
        "slurm.partitions_up": (1, "count"),
        "slurm.default_partition_set": (True, "bool"),
        "slurm.nodes_total": (2, "count"),
        "slurm.nodes_unavailable": (0, "count"),
        "slurm.nodes_unavailable_fraction": (0.0, "ratio"),
        "slurm.def_mem_per_gpu_set": (True, "bool"),
        "slurm.def_cpu_per_gpu_set": (True, "bool"),
        "slurm.accounting": (True, "bool"),
        "slurm.pmix": (True, "bool"),
        "slurm.pyxis": (True, "bool"),
        "slurm.enroot": (True, "bool"),
        "slurm.topology_configured": (True, "bool"),
        "slurm.healthcheck_configured": (True, "bool"),
        "slurm.prolog_configured": (True, "bool"),
        "slurm.epilog_configured": (True, "bool"),
        "slurm.multi_node_srun": (True, "bool"),
        "slurm.node_ssh": (True, "bool"),
    }
    for key, value in over.items():
        name = "slurm." + key
        values[name] = (value, values[name][1])
    return result("slurm", "login", [m(n, v, u, "login") for n, (v, u) in values.items()])


def monitoring_result(host: str) -> ProbeResult:
    return result(
        "monitoring",
        host,
        [
            m("monitoring.dcgm_exporter", True, "bool", host),
            m("monitoring.node_exporter", True, "bool", host),
            m("monitoring.gpu_health_metrics", 6, "count", host),
        ],
    )


def ttfj_result(batch: float = 3.2, interactive: float = 1.4) -> ProbeResult:
    return result(
        "ttfj",
        "cluster",
        [
            m("ttfj.batch_total_median", batch, "s"),
            m("ttfj.interactive_total_median", interactive, "s"),
            m("ttfj.failed_jobs", 0, "count"),
            m("ttfj.queue_clean", True, "bool"),
        ],
    )


def node_software_results(host: str) -> list[ProbeResult]:
    """What the issue-13 node probes show on a healthy 8x H100 bare-metal Ubuntu 22.04 node."""
    return [
        result(
            "node_software",
            host,
            [
                m("software.cuda_toolkit_version", "13.1.1", "version", host),
                m("containers.runc_version", "1.2.8", "version", host),
                m("containers.docker_server_version", "29.7.0", "version", host),
                m("containers.docker_usable", True, "bool", host),
                m("containers.apptainer", True, "bool", host),
                m("software.perf", True, "bool", host),
                m("system.perf_event_paranoid", 1, "count", host),
                m("system.kptr_restrict", 0, "count", host),
                m("software.hpc_sdk", True, "bool", host),
            ],
        ),
        result(
            "node_isolation",
            host,
            [
                m("system.kernel_reboot_pending", False, "bool", host),
                m(
                    "system.kernel_release",
                    "5.15.0-105",
                    "version",
                    host,
                    distro="ubuntu-22.04",
                    flavour="generic",
                ),
                m("security.bmc_in_band", True, "bool", host),
                m("security.bmc_tenant_access", False, "bool", host),
                m("security.vmscape_mitigated", True, "bool", host),
            ],
        ),
        result(
            "gpu_stack",
            host,
            [
                m("gpu.dcgm_installed", True, "bool", host),
                m("gpu.dcgm_version", "4.5.3", "version", host),
                m("gpu.gdrcopy_ready", True, "bool", host),
                m("gpu.gpudirect_path", "dma-buf", "text", host),
                m("gpu.profiling_admin_only", False, "bool", host, source="driver"),
                m("software.ncu", True, "bool", host),
                m("software.nccl_library", True, "bool", host),
                m("containers.nvidia_toolkit", True, "bool", host),
                m("containers.nvidia_toolkit_version", "1.19.1", "version", host),
                m("monitoring.dcgm_exporter_version", "4.8.2", "version", host, source="package"),
            ],
        ),
        result(
            "rdma_host",
            host,
            [
                *(
                    m("fabric.hca_firmware", "28.46.3048", "version", host, device=f"mlx5_{i}")
                    for i in range(8)
                ),
                m("nccl.hca_selection_ok", True, "bool", host),
                m("nccl.ib_qps_fit", True, "bool", host, tiers="1"),
                m("fabric.acs_redirect_ports", 0, "count", host),
            ],
        ),
        result("vm_guest", host, [], ProbeStatus.SKIPPED, SubStatus.NOT_APPLICABLE, "bare metal"),
    ]


def login_access_results() -> list[ProbeResult]:
    return [
        result(
            "access_identity",
            "login",
            [
                m("access.sudo", "password", "text", "login"),
                m("access.user_admin", True, "bool", "login"),
                m("access.external_idp", True, "bool", "login"),
                m("software.gpu_modules", 4, "count", "login"),
            ],
        ),
        result(
            "slurm_health",
            "login",
            [
                m("slurm.nhc_installed", True, "bool", "login"),
                m("slurm.healthcheck_uses_dcgm", True, "bool", "login"),
            ],
        ),
        result(
            "container_run",
            "login",
            [
                m("containers.image_run", True, "bool", "login"),
                m("containers.image_run_time", 14.2, "s", "login"),
                m("nccl.topo_file_host", False, "bool", "login"),
            ],
        ),
    ]


def storage_discover_result(host: str) -> ProbeResult:
    return result(
        "storage_discover",
        host,
        [
            m("storage.shared_mounts", 2, "count", host),
            m("storage.mounts_expected", 2, "count", host),
            m("storage.mounts_missing", 0, "count", host),
            m("storage.shared_unresponsive", 0, "count", host),
            m("storage.home_shared", True, "bool", host),
        ],
    )


def storage_fio_result(read_per_gpu: float = 3.2) -> ProbeResult:
    lab = {"target": "/lustre", "fstype": "lustre", "kind": "shared", "direct": "1"}
    return result(
        "storage_fio",
        "cluster",
        [
            m(
                "storage.fio_bw_per_gpu",
                read_per_gpu * 1.1,
                "GiB/s",
                None,
                **lab,
                test="seqread",
                nodes="1",
                gpus="8",
            ),
            m(
                "storage.fio_bw_per_gpu",
                read_per_gpu,
                "GiB/s",
                None,
                **lab,
                test="seqread",
                nodes="2",
                gpus="16",
            ),
            m("storage.fio_bw_per_gpu", 1.0, "GiB/s", None, **lab, test="seqwrite", nodes="2", gpus="16"),
            m("storage.fio_scaling", 0.91, "ratio", None, **lab, test="seqread", nodes="2"),
        ],
    )


def storage_smallfiles_result() -> ProbeResult:
    lab = {"target": "/lustre", "fstype": "lustre"}
    return result(
        "storage_smallfiles",
        "cluster",
        [
            m("storage.meta_slope", 1.2, "ratio", None, **lab, phase="stat", files="2000", nodes="2"),
            m("storage.meta_slope", 1.3, "ratio", None, **lab, phase="read", files="2000", nodes="2"),
            m(
                "storage.import_median_seconds",
                3.1,
                "s",
                None,
                **lab,
                module="torch",
                cache="cold",
                nodes="2",
            ),
            m("storage.import_slope", 1.2, "ratio", None, **lab, module="torch", cache="cold", nodes="2"),
            m("storage.visibility_seconds", 0.04, "s", None, **lab, writer=NODES[0], reader=NODES[1]),
            m("storage.visibility_timeouts", 0, "count", None, **lab),
        ],
    )


def node_perf_result(host: str, tflops: float = 760.0) -> ProbeResult:
    ms = []
    for g in range(8):
        ms.append(m("gpu.bf16_gemm_tflops", tflops, "TFLOP/s", host, gpu=str(g)))
        ms.append(m("gpu.thermal_throttled", False, "bool", host, gpu=str(g)))
    ms.append(m("gpu.gemm_spread", 0.02, "ratio", host, gpus="8"))
    return result("node_perf", host, ms)


def clean_h100_slurm(**kw: Any) -> Bundle:
    """Every probe ran and every value is what a healthy 8x H100 NDR Slurm cluster shows."""
    results = [detect_result("slurm"), slurm_result(), *login_access_results()]
    for host in NODES:
        results += system_results(host)
        results += [gpu_result(host), fabric_result(host), monitoring_result(host)]
        results += node_software_results(host)
        results += [storage_discover_result(host), node_perf_result(host)]
    results += [nccl_result(**kw), ttfj_result(), storage_fio_result(), storage_smallfiles_result()]
    results.append(result("gpu_health", "cluster", [m("gpu.versions_consistent", True, "bool")]))
    return bundle(results)


def system_only() -> Bundle:
    """Only local system information: system_info + scheduler_detect on one host."""
    return bundle([*system_results("workstation"), detect_result("slurm")], platform="unknown")
