"""Parsers for Slurm command output, one module per format.

Registered kinds (``clustermax parse``): :mod:`.sinfo`, :mod:`.scontrol_node`, :mod:`.scontrol_partition`,
:mod:`.scontrol_config`, :mod:`.sacct`, :mod:`.squeue`, :mod:`.messages` (sbatch / srun / salloc). Readers
of smaller outputs the slurm and ttfj probes print: :mod:`.version` (``sinfo --version``), :mod:`.srun`
(``srun --mpi=list``, ``srun --help``), :mod:`.topology` (``scontrol show topology``), :mod:`.scontrol_job`
(``scontrol -o show job``) and the client error texts in :mod:`.messages`. What they share (node states,
GRES/TRES strings, ``Key=Value`` records, header tables) is in :mod:`._common`.

Every ``parse_*`` function is pure (text in, model out) and raises only :class:`ParseError`. Formats are
taken from the Slurm man pages (sinfo/squeue ``-o``/``-O`` field headers, sacct ``--format`` and
``-p``/``-P``), not from one version's output: column order is read from the header line, never assumed.
"""

from __future__ import annotations

from ._common import GresEntry, is_unavailable_state, most_common, parse_gres
from .jobs import SchedulerJob
from .messages import SlurmEvent, SlurmMessagesOutput, detect_slurm_messages, parse_slurm_messages
from .sacct import SacctOutput, detect_sacct, parse_sacct
from .scontrol_config import ScontrolConfigOutput, detect_scontrol_config, parse_scontrol_config
from .scontrol_node import ScontrolNodeOutput, SlurmNode, detect_scontrol_node, parse_scontrol_node
from .scontrol_partition import (
    ScontrolPartitionOutput,
    SlurmPartition,
    detect_scontrol_partition,
    parse_scontrol_partition,
)
from .sinfo import SinfoNode, SinfoOutput, SinfoPartition, SinfoReason, detect_sinfo, parse_sinfo
from .squeue import SqueueOutput, detect_squeue, parse_squeue

__all__ = [
    "GresEntry",
    "SacctOutput",
    "SchedulerJob",
    "ScontrolConfigOutput",
    "ScontrolNodeOutput",
    "ScontrolPartitionOutput",
    "SinfoNode",
    "SinfoOutput",
    "SinfoPartition",
    "SinfoReason",
    "SlurmEvent",
    "SlurmMessagesOutput",
    "SlurmNode",
    "SlurmPartition",
    "SqueueOutput",
    "detect_sacct",
    "detect_scontrol_config",
    "detect_scontrol_node",
    "detect_scontrol_partition",
    "detect_sinfo",
    "detect_slurm_messages",
    "detect_squeue",
    "is_unavailable_state",
    "most_common",
    "parse_gres",
    "parse_sacct",
    "parse_scontrol_config",
    "parse_scontrol_node",
    "parse_scontrol_partition",
    "parse_sinfo",
    "parse_slurm_messages",
    "parse_squeue",
]
