"""The explicit registry of tool-output parser kinds: real functions of real modules, no import magic.

Importing it imports every parser module (pydantic models), so the CLI imports it inside the commands
that parse, never at start-up (``clustermax --help`` stays fast).
"""

from __future__ import annotations

from . import dcgmi, infiniband, kernel_log, kubectl, nccl_tests, nvidia_smi, nvidia_smi_topo, slurm
from .base import ParsedOutput, ParseError, ParserInfo

PARSERS: dict[str, ParserInfo] = {
    info.kind: info
    for info in (
        ParserInfo(
            "nccl-tests",
            "nccl-tests / rccl-tests logs, any collective",
            nccl_tests.parse_nccl_tests,
            nccl_tests.detect_nccl_tests,
        ),
        ParserInfo(
            "nvidia-smi",
            "nvidia-smi table, -q, or --query-gpu CSV",
            nvidia_smi.parse_nvidia_smi,
            nvidia_smi.detect_nvidia_smi,
        ),
        ParserInfo(
            "nvidia-smi-topo",
            "nvidia-smi topo -m matrix",
            nvidia_smi_topo.parse_nvidia_smi_topo,
            nvidia_smi_topo.detect_nvidia_smi_topo,
        ),
        ParserInfo(
            "dcgmi-diag",
            "dcgmi diag tables (DCGM 3.x and 4.x)",
            dcgmi.parse_dcgmi_diag,
            dcgmi.detect_dcgmi_diag,
        ),
        ParserInfo(
            "xid",
            "kernel log (dmesg, dmesg -T, syslog, journalctl): Xid events",
            kernel_log.parse_xid,
            kernel_log.detect_xid,
        ),
        ParserInfo("sinfo", "sinfo (default, -s, -N, -o with header)", slurm.parse_sinfo, slurm.detect_sinfo),
        ParserInfo(
            "scontrol-node",
            "scontrol show node (multi-line or -o)",
            slurm.parse_scontrol_node,
            slurm.detect_scontrol_node,
        ),
        ParserInfo(
            "scontrol-partition",
            "scontrol show partition",
            slurm.parse_scontrol_partition,
            slurm.detect_scontrol_partition,
        ),
        ParserInfo(
            "scontrol-config",
            "scontrol show config",
            slurm.parse_scontrol_config,
            slurm.detect_scontrol_config,
        ),
        ParserInfo("sacct", "sacct (default or -P)", slurm.parse_sacct, slurm.detect_sacct),
        ParserInfo("squeue", "squeue (default or -o with header)", slurm.parse_squeue, slurm.detect_squeue),
        ParserInfo(
            "slurm-messages",
            "messages of sbatch / srun / salloc",
            slurm.parse_slurm_messages,
            slurm.detect_slurm_messages,
        ),
        ParserInfo(
            "kubectl-version",
            "kubectl version / oc version",
            kubectl.parse_kubectl_version,
            kubectl.detect_kubectl_version,
        ),
        ParserInfo(
            "kubectl-nodes",
            "kubectl get nodes -o json|yaml, describe node",
            kubectl.parse_kubectl_nodes,
            kubectl.detect_kubectl_nodes,
        ),
        ParserInfo(
            "ibstat",
            "ibstat, ibstatus, ibv_devinfo",
            infiniband.parse_ibstat,
            infiniband.detect_ibstat,
        ),
    )
}


def get_parser(kind: str) -> ParserInfo:
    try:
        return PARSERS[kind]
    except KeyError as err:
        known = ", ".join(sorted(PARSERS))
        raise ParseError(kind, f"unknown kind; known kinds: {known}") from err


def parse(kind: str, text: str) -> ParsedOutput:
    """Parse ``text`` as ``kind``. Raises :class:`ParseError` only."""
    return get_parser(kind).parse(text)


def detect(text: str) -> list[tuple[str, float]]:
    """Kinds that recognise ``text``, most confident first (confidence > 0 only)."""
    scores = []
    for kind, info in PARSERS.items():
        try:
            confidence = info.detect(text)
        except Exception:  # a detector must never break detection of the others
            confidence = 0.0
        if confidence > 0:
            scores.append((kind, confidence))
    scores.sort(key=lambda item: (-item[1], item[0]))
    return scores
