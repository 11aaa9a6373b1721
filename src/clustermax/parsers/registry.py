"""The explicit registry of tool-output parser kinds: real functions of real modules, no import magic.

Importing it imports every parser module (pydantic models), so the CLI imports it inside the commands
that parse, never at start-up (``clustermax --help`` stays fast).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import yaml

from . import dcgmi, infiniband, kernel_log, kubectl, nccl_tests, nvidia_smi, nvidia_smi_topo, slurm
from ._paste import unwrap
from .base import ParsedOutput, ParseError, ParserInfo

MIN_CONFIDENCE = 0.5
"""The confidence from which a text is taken as a kind's output (``clustermax import``)."""

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


@dataclass(frozen=True)
class Recognised:
    """What a text is: its kind (None: no parser's structure is in it), how sure, and why, in words."""

    kind: str | None
    confidence: float
    reason: str


_WORD = re.compile(r"^[(\"'`*_\[]*[A-Za-z][a-z]+(?:'[a-z]+)?[)\"'`*_.,;:!?\]]*$")
_COMMAND = re.compile(
    r"^(?:\$ ?|\d+\s+|sudo\s+)?[a-z][\w.+-]*(?:\s+(?:-{1,2}[\w-]+(?:=\S+)?|[\w./~:=@%+,-]+|\|))*\s*$"
)


def _prose_lines(lines: list[str]) -> int:
    """Lines that are sentences (six or more words, three in four of them plain words)."""
    count = 0
    for line in lines:
        tokens = line.split()
        if len(tokens) >= 6 and sum(1 for t in tokens if _WORD.match(t)) * 4 >= len(tokens) * 3:
            count += 1
    return count


_YAML_KEY = re.compile(r"^[A-Za-z_][\w.-]*:(?: |$)", re.M)


def _yaml_mapping(body: str) -> bool:
    if not _YAML_KEY.search(body[:4000]):
        return False
    try:
        return isinstance(yaml.safe_load(body[:1_000_000]), dict)
    except yaml.YAMLError:
        return False


def _what_else(text: str) -> str:
    """Why no parser took the text, said by what it looks like instead."""
    body = unwrap(text).text
    lines = [line for line in body.split("\n") if line.strip()]
    if not lines:
        return "empty file"
    stripped = body.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
        except ValueError:
            pass
        else:
            return "JSON that no parser reads (not a Node, a NodeList, a node fragment or kubectl version)"
    if len(lines) < 3:
        return f"{len(lines)} line(s) of text in no tool's output format"
    if _yaml_mapping(body):
        return "a YAML document (key: value) that no parser reads (not a Node or kubectl version)"
    prose = _prose_lines(lines)
    if prose * 5 >= len(lines):
        return (
            f"prose or Markdown ({prose} of {len(lines)} lines are sentences):"
            " no tool output's structure in it"
        )
    if sum(1 for line in lines if _COMMAND.match(line.strip())) * 2 > len(lines):
        return "shell commands (a history or a script), not their output"
    return "no tool output's structure in it"


def recognise(text: str, min_confidence: float = MIN_CONFIDENCE) -> Recognised:
    """The kind whose structure ``text`` has (see each ``detect_<kind>``), or None and the reason."""
    candidates = detect(text)
    if candidates and candidates[0][1] >= min_confidence:
        kind, confidence = candidates[0]
        others = [k for k, c in candidates[1:] if c >= min_confidence]
        also = f"; also has the structure of {', '.join(others)}" if others else ""
        return Recognised(kind, confidence, f"detected as {kind} ({confidence:.2f}){also}")
    why = _what_else(text)
    if candidates:
        kind, confidence = candidates[0]
        why += f" (at best partly {kind}: {confidence:.2f}, below {min_confidence:.2f})"
    return Recognised(None, candidates[0][1] if candidates else 0.0, why)
