"""The explicit registry of tool-output parser kinds (no import magic)."""

from __future__ import annotations

from .base import ParsedOutput, ParseError, ParserInfo

_P = "clustermax.parsers."


def _info(kind: str, module: str, func: str, description: str) -> ParserInfo:
    return ParserInfo(
        kind, description, f"{_P}{module}:{func}", f"{_P}{module}:detect_{func.removeprefix('parse_')}"
    )


PARSERS: dict[str, ParserInfo] = {
    info.kind: info
    for info in (
        _info("nccl-tests", "nccl_tests", "parse_nccl_tests", "nccl-tests / rccl-tests logs, any collective"),
        _info("nvidia-smi", "nvidia_smi", "parse_nvidia_smi", "nvidia-smi table, -q, or --query-gpu CSV"),
        _info("nvidia-smi-topo", "nvidia_smi_topo", "parse_nvidia_smi_topo", "nvidia-smi topo -m matrix"),
        _info("dcgmi-diag", "dcgmi", "parse_dcgmi_diag", "dcgmi diag tables (DCGM 3.x and 4.x)"),
        _info(
            "xid", "kernel_log", "parse_xid", "kernel log (dmesg, dmesg -T, syslog, journalctl): Xid events"
        ),
        _info("sinfo", "slurm", "parse_sinfo", "sinfo (default, -s, -N, -o with header)"),
        _info("scontrol-node", "slurm", "parse_scontrol_node", "scontrol show node (multi-line or -o)"),
        _info("scontrol-partition", "slurm", "parse_scontrol_partition", "scontrol show partition"),
        _info("scontrol-config", "slurm", "parse_scontrol_config", "scontrol show config"),
        _info("sacct", "slurm", "parse_sacct", "sacct (default or -P)"),
        _info("squeue", "slurm", "parse_squeue", "squeue (default or -o with header)"),
        _info("slurm-messages", "slurm", "parse_slurm_messages", "messages of sbatch / srun / salloc"),
        _info("kubectl-version", "kubectl", "parse_kubectl_version", "kubectl version / oc version"),
        _info(
            "kubectl-nodes", "kubectl", "parse_kubectl_nodes", "kubectl get nodes -o json|yaml, describe node"
        ),
        _info("ibstat", "infiniband", "parse_ibstat", "ibstat, ibstatus, ibv_devinfo"),
    )
}


def get_parser(kind: str) -> ParserInfo:
    try:
        return PARSERS[kind]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise ParseError(kind, f"unknown kind; known kinds: {known}") from None


def parse(kind: str, text: str) -> ParsedOutput:
    """Parse ``text`` as ``kind``. Raises :class:`ParseError` only."""
    return get_parser(kind).load()(text)


def detect(text: str) -> list[tuple[str, float]]:
    """Kinds that recognise ``text``, most confident first (confidence > 0 only)."""
    scores = []
    for kind, info in PARSERS.items():
        try:
            confidence = info.load_detect()(text)
        except Exception:  # a detector must never break detection of the others
            confidence = 0.0
        if confidence > 0:
            scores.append((kind, confidence))
    scores.sort(key=lambda item: (-item[1], item[0]))
    return scores
