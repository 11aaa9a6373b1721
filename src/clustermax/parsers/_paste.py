"""What a person or a fan-out tool wraps around a tool's output, removed in one place for every parser.

A tool's output rarely arrives as the tool printed it. It is pasted into Markdown (inside ``` fences, as a
``> `` quote, indented under a list item or a reStructuredText block), exported with one leading space per
line, or collected through a launcher or a remote-execution tool that prefixes every line:

* ``mpirun --tag-output`` (``[1,0]<stdout>:``, with ``--timestamp-output`` a date first) and
  ``srun -l`` / ``--label`` (``0: ``, right-aligned from 10 tasks on);
* ``pdsh`` and ``clush`` (``host: `` before every line), ``clush -b`` (a dashed block header naming the
  node set), ``ansible`` ad-hoc commands (a ``host | CHANGED | rc=0 >>`` line before each host's output).

:func:`unwrap` removes these and says what it removed, one sentence each (``Unwrapped.notes``): every
parser calls it first and puts the notes at the head of its ``warnings``, so what a parser reads is the
tool's own text and the reader of its result knows the input was not. Nothing is guessed from a single
line: a per-line prefix is removed only when most lines carry it (except the ``mpirun`` tag, which no tool
prints by itself), an indentation only when it is the same on most lines, a quote marker only when most
lines are quoted. What decides is the first :data:`SAMPLE_LINES` non-empty lines, so a large log costs
one pass when nothing wraps it.

Lines of several hosts (``pdsh -w node[1-2]``) are grouped by host, each host's lines in their order, as
``dshbak`` does; the note names the hosts, and says that the parser reads them as one output.

:data:`PROMPT` recognises the shell prompt lines people paste before a command's output (``$ squeue``,
``user@host:~$ sinfo``, ``[user@n16 load]$ squeue``, ``PS C:\\> nvidia-smi``): table parsers skip them.
They are not removed here because a command line is evidence too (nccl-tests logs name their collective
in the command that ran them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from .base import ParsedOutput

Out = TypeVar("Out", bound=ParsedOutput)

SAMPLE_LINES = 400
"""Non-empty lines from the start that decide which wrappers the text has."""
HEAD_CHARS = 65536
"""Characters from the start the sample is taken from."""

_FENCE = re.compile(r"^[ \t]{0,3}(?:```|~~~)[\w+.#-]*[ \t]*$")
_QUOTE = re.compile(r"^[ \t]{0,3}>(?: |$)")
_MPI_TAG = re.compile(
    r"^[ \t]*(?:[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ [\d:]+ \d{4}: )?\[\d+,\d+\]<(?:stdout|stderr|stddiag)>: ?"
)
_SRUN_LABEL = re.compile(r"^ *\d{1,6}: ")
_HOST_PREFIX = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?): ")
_ANSIBLE = re.compile(
    r"^(\S+) \| (?:CHANGED|SUCCESS|FAILED!?|UNREACHABLE!?) \| rc=-?\d+ (?:\| \(stdout\) )?>>[ \t]*$"
)
_CLUSH_RULE = re.compile(r"^-{15}$")
_CLUSH_NODES = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._,\[\]-]*)(?: \((\d+)\))?$")

# could a wrapper be there? (a line at column 0 rules out a common indentation)
_COL0 = re.compile(r"^[^ \t\n]", re.M)
_QUOTE_SIGN = re.compile(r"\n[ \t]{0,3}>")
_PREFIX_SIGN = re.compile(r"\n(?: *\d{1,6}|([A-Za-z0-9][A-Za-z0-9._-]{0,62})): ")


def _as_printed(head: str) -> bool:
    """No wrapper can be there. One-character looks first (memchr-fast), a longer needle or a regex only
    where its first character occurs."""
    gt = ">" in head
    if gt and ("]<std" in head or ">>" in head):
        return False
    if ("`" in head and "```" in head) or ("~" in head and "~~~" in head):
        return False
    if not _COL0.search(head):
        return False
    if gt and _QUOTE_SIGN.search("\n" + head):
        return False
    if ":" in head:
        for m in _PREFIX_SIGN.finditer("\n" + head):
            if m.group(1) is None or m.group(1).lower() not in _NOT_HOSTS:
                return False  # an srun label, or a word that may be a host (a tool's own words are not)
    return "---------------" not in head or "\n---------------\n" not in f"\n{head}\n"


# words that begin "word: ..." lines of tools' own output: never a host prefix
_NOT_HOSTS = frozenset(
    {
        "nvrm",
        "kernel",
        "name",
        "labels",
        "roles",
        "annotations",
        "taints",
        "capacity",
        "allocatable",
        "conditions",
        "addresses",
        "error",
        "warning",
        "warn",
        "info",
        "note",
        "hint",
        "hca_id",
        "fatal",
        "debug",
        "notice",
        "srun",
        "sbatch",
        "salloc",
        "sinfo",
        "squeue",
        "sacct",
        "scontrol",
        "slurmstepd",
        "slurmd",
        "mpirun",
        "kubectl",
        "dcgmi",
        "ca",
        "port",
        "state",
        "rate",
        "gpu",
        "usage",
        "legend",
        "status",
        "message",
        "reason",
        "type",
        "version",
        "server",
        "client",
    }
)

PROMPT = re.compile(
    r"^(?:\$ *\S"  # $ cmd, $cmd
    r"|[\w.-]+@[\w.-]+:[^\s$#]*[$#] "  # user@host:~$ cmd
    r"|\[[\w.-]+@[\w.-]+[^\]]*\][$#] "  # [user@host dir]$ cmd
    r"|PS [A-Za-z]:\\[^>]*> "  # PS C:\Users\x> cmd
    r"|[\w.-]+@[\w.-]+[>$#] "  # juser@dawn> cmd
    r")"
)
"""A shell prompt line with the command typed after it."""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """The tool's own text, what was removed from around it (one warning each) and the hosts its
    remote-execution prefixes named (in the order they first appear)."""

    text: str
    notes: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    fanout: str | None = None
    """The remote-execution wrapper that named the hosts: "pdsh/clush", "ansible", "clush -b"."""


def _sample(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.strip():
            out.append(line)
            if len(out) >= SAMPLE_LINES:
                break
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _signs(sample: list[str]) -> tuple[bool, int, bool, int, bool, bool, bool, int]:
    """One cheap pass over the sample: which wrappers may be there (fences, quoted lines, an mpirun tag,
    srun labels, an ansible header, a clush -b rule, host prefixes) and the least indentation; the
    regexes run only on a sign."""
    fence = mpi = ansible = rule = hostish = False
    quoted = labelled = 0
    least = 1 << 30
    for line in sample:
        c = line[:1]
        if c == " " or c == "\t":
            left = line.lstrip(" \t")
            c = left[:1]
            indent = len(line) - len(left)
        else:
            left, indent = line, 0
        if indent < least:
            least = indent
        if c == "`" or c == "~":
            fence = fence or _FENCE.match(line) is not None
        elif c == ">":
            quoted += _QUOTE.match(line) is not None
        elif c.isdigit() and ": " in left[:8]:
            labelled += _SRUN_LABEL.match(line) is not None
        elif c == "-":
            rule = rule or line == "---------------"
        if not indent and c.isalnum() and ": " in line[:66]:
            hostish = True
        if "]<std" in line:
            mpi = mpi or _MPI_TAG.match(line) is not None
        if ">>" in line[-4:]:
            ansible = ansible or _ANSIBLE.match(line) is not None
    return fence, quoted, mpi, labelled, ansible, rule, hostish, least


@lru_cache(maxsize=4)
def unwrap(text: str) -> Unwrapped:
    """``text`` without its paste and fan-out wrappers (see the module docstring). Never raises.

    Line ends are unified and NUL bytes dropped, as every parser did before; ANSI escapes are left to
    the parsers that remove them (a Slurm node name is kept as the cluster sent it, escapes included,
    so that the inventory rejects it rather than reads it as another, valid name)."""
    text = _line_ends(text)
    head = text[:HEAD_CHARS]
    if _as_printed(head):
        return Unwrapped(text)  # nothing around the tool's text (most outputs): a few C-level looks
    sample = _sample(head.split("\n"))
    if not sample:
        return Unwrapped(text)
    fence, quoted, mpi, labelled, ansible, rule, hostish, least = _signs(sample)
    if not (fence or quoted or mpi or labelled or ansible or rule or hostish or least):
        return Unwrapped(text)  # nothing around the tool's text (nearly every output as printed)
    notes: list[str] = []
    hosts: tuple[str, ...] = ()
    fanout: str | None = None
    lines: list[str] | None = None  # split only when something is removed

    if fence:
        # emptied, not dropped: line numbers still point into the input
        lines = text.split("\n")
        fences = sum(1 for line in lines if _FENCE.match(line))
        lines = ["" if _FENCE.match(line) else line for line in lines]
        notes.append(f"removed {fences} Markdown code fence line(s)")
        sample = _sample(lines)
        fence, quoted, mpi, labelled, ansible, rule, hostish, least = _signs(sample)

    if quoted * 2 > len(sample):
        count = 0
        new: list[str] = []
        for line in text.split("\n") if lines is None else lines:
            while _QUOTE.match(line):
                line = _QUOTE.sub("", line, count=1)
                count += 1
            new.append(line)
        lines = new
        notes.append(f"removed Markdown quote markers ('> ') from {count} line(s)")
        sample = _sample(lines)
        fence, quoted, mpi, labelled, ansible, rule, hostish, least = _signs(sample)

    def body() -> list[str]:
        return text.split("\n") if lines is None else lines

    if mpi:
        lines = [_MPI_TAG.sub("", line, count=1) for line in body()]
        notes.append("stripped 'mpirun --tag-output' line prefixes")
    elif labelled * 2 > len(sample):
        lines = [_SRUN_LABEL.sub("", line, count=1) for line in body()]
        notes.append("stripped 'srun -l' line prefixes")
    elif ansible:
        lines, hosts = _ansible_blocks(body())
        fanout = "ansible"
        notes.append(f"removed ansible block header line(s) of {_hosts_phrase(hosts)}")
    elif rule and _clush_gathered(sample):
        lines, hosts = _clush_blocks(body())
        fanout = "clush -b"
        notes.append(
            f"removed 'clush -b' header(s) of node set(s) {', '.join(hosts)}: a block is the output each node"
            " of its set printed alike"
        )
    elif hostish and _host_prefixed(sample):
        lines, hosts = _group_by_host(body())
        fanout = "pdsh/clush"
        note = f"stripped 'pdsh/clush' host prefixes ('host: ') of {_hosts_phrase(hosts)}"
        if len(hosts) > 1:
            note += "; lines grouped by host and read as one output"
        notes.append(note)
    if notes:
        sample = _sample(body())
    depth = _paste_indent(sample)
    if depth:
        lines = [line[depth:] if _indent(line) >= depth else line.lstrip(" \t") for line in body()]
        notes.append(f"removed a common indentation of {depth} character(s) from every line")
    if lines is None:
        return Unwrapped(text)
    return Unwrapped("\n".join(lines), tuple(notes), hosts, fanout)


def _line_ends(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\x00", "") if "\x00" in text else text


def split_hosts(text: str) -> list[tuple[str | None, str]]:
    """The part of each host in a fan-out tool's output (pdsh/clush ``host: `` lines, ansible blocks, clush
    -b blocks of one node), each part made of the input's own lines, wrapper included (its parser strips
    it again); the one host a wrapper named, or None, with the whole text otherwise. Host names are as
    printed: the caller checks them before it uses one."""
    unwrapped = unwrap(text)
    hosts = unwrapped.hosts
    if len(hosts) <= 1 or unwrapped.fanout is None:
        one = hosts[0] if hosts and _HOST_PREFIX.match(f"{hosts[0]}: ") else None  # not a node set
        return [(one, text)]
    if unwrapped.fanout == "clush -b" and any(not _HOST_PREFIX.match(f"{h}: ") for h in hosts):
        return [(None, text)]  # a block stands for a node set: its output is several hosts' at once
    parts: dict[str, list[str]] = {}
    current: str | None = None
    lines = _line_ends(text).split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if unwrapped.fanout == "pdsh/clush":
            m = _HOST_PREFIX.match(line)
            current = m.group(1) if m else current
        elif unwrapped.fanout == "ansible":
            m = _ANSIBLE.match(line)
            current = m.group(1) if m else current
        elif i + 2 < len(lines) and _CLUSH_RULE.match(line) and _CLUSH_RULE.match(lines[i + 2]):
            m = _CLUSH_NODES.match(lines[i + 1])
            if m:
                current = m.group(1)
                parts.setdefault(current, []).extend(lines[i : i + 3])
                i += 3
                continue
        parts.setdefault(current or hosts[0], []).append(line)
        i += 1
    return [(host, "\n".join(part) + "\n") for host, part in parts.items()]


def _paste_indent(sample: list[str]) -> int:
    """The indentation a paste added to every line (a reStructuredText block, a Markdown list item, an
    export that starts every line with a space): the same on most lines, and not the right-alignment of
    a numeric first column (squeue's job ids, nccl-tests' sizes), which is the tool's own layout."""
    if len(sample) < 3:
        return 0
    depth = min(_indent(line) for line in sample)
    if not depth:
        return 0
    at_depth = [line[depth:] for line in sample if _indent(line) == depth]
    if len(at_depth) * 2 <= len(sample):
        return 0
    if sum(1 for line in at_depth if line[:1].isdigit()) * 2 >= len(at_depth):
        return 0
    return depth


def _hosts_phrase(hosts: tuple[str, ...]) -> str:
    if len(hosts) == 1:
        return f"host {hosts[0]}"
    shown = ", ".join(hosts[:4]) + (", ..." if len(hosts) > 4 else "")
    return f"{len(hosts)} hosts ({shown})"


def _host_prefixed(sample: list[str]) -> bool:
    """Most lines start with ``host: `` and few distinct hosts repeat over them (pdsh, clush)."""
    if len(sample) < 2:
        return False
    found: dict[str, int] = {}
    for line in sample:
        m = _HOST_PREFIX.match(line)
        if m is None:
            continue
        host = m.group(1)
        if host.lower() in _NOT_HOSTS or host.isdigit():
            return False
        found[host] = found.get(host, 0) + 1
    prefixed = sum(found.values())
    return prefixed * 10 >= len(sample) * 9 and len(found) * 2 <= prefixed


def _group_by_host(lines: list[str]) -> tuple[list[str], tuple[str, ...]]:
    blocks: dict[str, list[str]] = {}
    loose: list[str] = []
    for line in lines:
        m = _HOST_PREFIX.match(line)
        if m is None:
            (loose if not blocks else blocks[next(reversed(blocks))]).append(line)
            continue
        blocks.setdefault(m.group(1), []).append(line[m.end() :])
    out = loose + [line for block in blocks.values() for line in block]
    return out, tuple(blocks)


def _ansible_blocks(lines: list[str]) -> tuple[list[str], tuple[str, ...]]:
    out: list[str] = []
    hosts: list[str] = []
    for line in lines:
        m = _ANSIBLE.match(line)
        if m:
            if m.group(1) not in hosts:
                hosts.append(m.group(1))
            line = ""
        out.append(line)
    return out, tuple(hosts)


def _clush_gathered(sample: list[str]) -> bool:
    return any(
        _CLUSH_RULE.match(a) and _CLUSH_NODES.match(b) and _CLUSH_RULE.match(c)
        for a, b, c in zip(sample, sample[1:], sample[2:], strict=False)
    )


def _clush_blocks(lines: list[str]) -> tuple[list[str], tuple[str, ...]]:
    out: list[str] = []
    hosts: list[str] = []
    i = 0
    while i < len(lines):
        if (
            i + 2 < len(lines)
            and _CLUSH_RULE.match(lines[i])
            and _CLUSH_NODES.match(lines[i + 1])
            and _CLUSH_RULE.match(lines[i + 2])
        ):
            hosts.append(lines[i + 1].split(" (", 1)[0])
            out += ["", "", ""]
            i += 3
            continue
        out.append(lines[i])
        i += 1
    return out, tuple(hosts)


def unwrapped_input(parse: Callable[[str], Out]) -> Callable[[str], Out]:
    """Decorate a ``parse_<kind>`` function: it reads :func:`unwrap`'s text, and the notes of what was
    removed lead its ``warnings``. Every registered parser is decorated (tests check it)."""

    @functools.wraps(parse)
    def parse_unwrapped(text: str) -> Out:
        if not isinstance(text, str):
            return parse(text)  # the parser's own "expected text" error
        unwrapped = unwrap(text)
        out = parse(unwrapped.text)
        if unwrapped.notes:
            out.warnings = [*unwrapped.notes, *out.warnings]
        return out

    parse_unwrapped.unwraps_input = True  # type: ignore[attr-defined]
    return parse_unwrapped


DETECT_HEAD = 500_000
"""Characters from the start a detector looks at (before the wrappers are removed)."""


def unwrapped_detect(detect: Callable[[str], float]) -> Callable[[str], float]:
    """Decorate a ``detect_<kind>`` function: it judges the tool's own text, the head of the input with
    its paste and fan-out wrappers removed, as the parser will read it."""

    @functools.wraps(detect)
    def detect_unwrapped(text: str) -> float:
        if not isinstance(text, str):
            return 0.0
        return detect(unwrap(text[:DETECT_HEAD]).text)

    detect_unwrapped.unwraps_input = True  # type: ignore[attr-defined]
    return detect_unwrapped


def is_prompt(line: str) -> bool:
    """A pasted shell prompt line (``$ squeue``, ``user@host:~$ sinfo``, ...)."""
    return PROMPT.match(line.lstrip()) is not None
