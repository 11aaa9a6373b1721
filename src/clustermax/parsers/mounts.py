"""Parsers for mount tables and filesystem tables: what a node has mounted and what it should have.

* :func:`parse_mounts`: the mounts a process sees, from ``/proc/self/mountinfo`` (the authoritative
  source: field 5 is the mount point, the type and source follow `` - ``), ``/proc/mounts`` (the
  fstab-like ``source target type options 0 0`` lines) or the output of ``mount`` (``source on target
  type fstype (options)``). Octal escapes (``\\040`` for a space) are decoded.
* :func:`parse_fstab`: ``/etc/fstab`` entries (``#`` comments, blank lines; ``UUID=``/``LABEL=`` sources
  are kept as written).
* :func:`parse_auto_master`: the indirect mount points of ``/etc/auto.master`` (``+`` includes and the
  ``/-`` direct map are listed apart: their targets are in other maps).
* :func:`classify`: what a filesystem type is for a job: ``shared`` (a network or parallel filesystem
  every node sees: NFS, Lustre, WEKA, GPFS, BeeGFS, CephFS, VAST over NFS, virtiofs, SSHFS ...),
  ``object`` (a FUSE view of an object store: s3fs, mountpoint-s3, gcsfuse, goofys), ``local`` (a block
  filesystem), ``memory`` (tmpfs, ramfs), ``autofs`` or ``pseudo`` (proc, sysfs, cgroup ...).

All functions are pure; a line that is not a mount line is skipped with a warning.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from ._text import normalize
from .base import ParsedOutput, ParseError

__all__ = [
    "SHARED_TYPES",
    "FstabEntry",
    "FstabOutput",
    "Mount",
    "MountsOutput",
    "classify",
    "mount_for_path",
    "parse_auto_master",
    "parse_fstab",
    "parse_mounts",
    "should_be_mounted",
]

SHARED_TYPES: frozenset[str] = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "wekafs",
        "gpfs",
        "beegfs",
        "ceph",
        "fuse.ceph-fuse",
        "fuse.cephfs",
        "glusterfs",
        "fuse.glusterfs",
        "cifs",
        "smb3",
        "virtiofs",
        "fuse.sshfs",
        "fuse.juicefs",
        "fuse.weka",
        "panfs",
        "ocfs2",
        "gfs2",
        "afs",
        "fuse.lustre",
        "fuse.vast",
    }
)
"""Filesystem types a job sees as a shared POSIX filesystem (VAST is mounted as nfs/nfs4; probes/
storage_fio/run.sh and probes/storage_smallfiles/run.sh pick their targets with the same list)."""

OBJECT_TYPES: frozenset[str] = frozenset(
    {"fuse.s3fs", "fuse.mountpoint-s3", "fuse.mount-s3", "fuse.gcsfuse", "fuse.goofys", "fuse.rclone"}
)
MEMORY_TYPES: frozenset[str] = frozenset({"tmpfs", "ramfs", "hugetlbfs"})
LOCAL_TYPES: frozenset[str] = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "vfat", "exfat", "bcachefs", "jfs", "reiserfs"}
)
PSEUDO_TYPES: frozenset[str] = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "cgroup",
        "cgroup2",
        "securityfs",
        "pstore",
        "efivarfs",
        "bpf",
        "debugfs",
        "tracefs",
        "mqueue",
        "configfs",
        "fusectl",
        "selinuxfs",
        "nsfs",
        "binfmt_misc",
        "rpc_pipefs",
        "nfsd",
        "overlay",
        "squashfs",
        "iso9660",
        "fuse.lxcfs",
        "fuse.portal",
        "fuse.gvfsd-fuse",
    }
)
SWAP_TYPES: frozenset[str] = frozenset({"swap"})


def classify(fstype: str) -> str:
    """``shared``, ``object``, ``local``, ``memory``, ``autofs``, ``pseudo`` or ``other``."""
    t = fstype.strip().lower()
    if t in SHARED_TYPES:
        return "shared"
    if t in OBJECT_TYPES:
        return "object"
    if t in LOCAL_TYPES:
        return "local"
    if t in MEMORY_TYPES:
        return "memory"
    if t == "autofs":
        return "autofs"
    if t in PSEUDO_TYPES:
        return "pseudo"
    return "other"


_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


class Mount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="Mount point.")
    fstype: str = Field(description="Filesystem type as the kernel names it (fuse.sshfs, nfs4, lustre).")
    source: str = Field(description="Device or export (10.1.1.154@tcp:/fs, server:/export, /dev/nvme0n1p1).")
    options: str = Field(default="", description="Mount options (mountinfo: per-mount, then super options).")
    root: str | None = Field(default=None, description="mountinfo field 4: the root of the mount in its fs.")
    kind: str = Field(description="classify(fstype).")


class MountsOutput(ParsedOutput):
    format: str = Field(description="mountinfo, proc-mounts or mount.")
    mounts: list[Mount] = Field(default_factory=list)


_MOUNT_CMD = re.compile(r"^(?P<source>.+?) on (?P<target>/\S*) type (?P<type>\S+)(?: \((?P<opts>[^)]*)\))?$")


def _mountinfo_line(line: str) -> Mount | None:
    left, sep, right = line.partition(" - ")
    if not sep:
        return None
    a = left.split()
    b = right.split()
    if len(a) < 6 or len(b) < 2 or not a[0].isdigit():
        return None
    fstype = b[0]
    opts = a[5] + ("," + b[2] if len(b) > 2 and b[2] else "")
    return Mount(
        target=_unescape(a[4]),
        fstype=fstype,
        source=_unescape(b[1]),
        options=opts,
        root=_unescape(a[3]),
        kind=classify(fstype),
    )


def _table_line(line: str) -> Mount | None:
    f = line.split()
    if len(f) < 3 or not f[1].startswith("/"):
        return None
    return Mount(
        target=_unescape(f[1]),
        fstype=f[2],
        source=_unescape(f[0]),
        options=f[3] if len(f) > 3 else "",
        kind=classify(f[2]),
    )


def parse_mounts(text: str) -> MountsOutput:
    """The mounts of ``/proc/self/mountinfo``, ``/proc/mounts`` or ``mount`` output (format detected
    from the first mount line). Raises ParseError when no line is a mount line."""
    lines = [ln.strip() for ln in normalize(text).split("\n") if ln.strip()]
    fmt = None
    for ln in lines:
        if _mountinfo_line(ln):
            fmt = "mountinfo"
        elif _MOUNT_CMD.match(ln):
            fmt = "mount"
        elif _table_line(ln):
            fmt = "proc-mounts"
        if fmt:
            break
    if fmt is None:
        raise ParseError("mounts", "no mountinfo, /proc/mounts or mount line found")
    out = MountsOutput(format=fmt)
    for ln in lines:
        if fmt == "mountinfo":
            m = _mountinfo_line(ln)
        elif fmt == "mount":
            hit = _MOUNT_CMD.match(ln)
            m = (
                Mount(
                    target=hit.group("target"),
                    fstype=hit.group("type"),
                    source=hit.group("source"),
                    options=hit.group("opts") or "",
                    kind=classify(hit.group("type")),
                )
                if hit
                else None
            )
        else:
            m = _table_line(ln)
        if m is None:
            out.warnings.append(f"not a {fmt} line: {ln[:120]}")
        else:
            out.mounts.append(m)
    return out


class FstabEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    target: str
    fstype: str
    options: list[str] = Field(default_factory=list)
    line: int = Field(description="1-based line number in the file.")


class FstabOutput(ParsedOutput):
    entries: list[FstabEntry] = Field(default_factory=list)


def parse_fstab(text: str) -> FstabOutput:
    """Entries of an fstab. An empty file (or only comments) is an empty table, not an error."""
    out = FstabOutput()
    for n, raw in enumerate(normalize(text).split("\n"), start=1):
        ln = raw.strip()
        if not ln or ln.startswith("#"):
            continue
        f = ln.split()
        if len(f) < 3:
            out.warnings.append(f"line {n}: fewer than 3 fields: {ln[:120]}")
            continue
        opts = [o for o in (f[3] if len(f) > 3 else "defaults").split(",") if o]
        out.entries.append(
            FstabEntry(source=_unescape(f[0]), target=_unescape(f[1]), fstype=f[2], options=opts, line=n)
        )
    return out


def should_be_mounted(entry: FstabEntry) -> bool:
    """An fstab entry that the system mounts at boot and a job may rely on: not swap, not ``noauto``,
    not a ``none``/pseudo target. ``nofail``/``_netdev`` entries count: they are the ones that go missing
    without stopping the boot."""
    if (
        entry.fstype.lower() in SWAP_TYPES
        or entry.target in ("none", "swap")
        or not entry.target.startswith("/")
    ):
        return False
    if "noauto" in entry.options:
        return False
    return classify(entry.fstype) != "pseudo"


def parse_auto_master(text: str) -> tuple[list[str], list[str]]:
    """(indirect mount points, other entries: ``+include`` and ``/-`` direct maps) of an auto.master."""
    points: list[str] = []
    others: list[str] = []
    for raw in normalize(text).split("\n"):
        ln = raw.strip()
        if not ln or ln.startswith("#"):
            continue
        first = ln.split()[0]
        if first.startswith("/") and first != "/-":
            points.append(first.rstrip("/") or "/")
        else:
            others.append(first)
    return points, others


def mount_for_path(mounts: list[Mount], path: str) -> Mount | None:
    """The mount a path lives on: the last-mounted one with the longest matching mount point."""
    best: Mount | None = None
    for m in mounts:
        t = m.target.rstrip("/") or "/"
        if path == t or t == "/" or path.startswith(t + "/"):
            if best is None or len(t) >= len(best.target.rstrip("/") or "/"):
                best = m
    return best


def detect_mounts(text: str) -> float:
    try:
        out = parse_mounts(text[:20000])
    except ParseError:
        return 0.0
    return 0.6 if out.mounts and not out.warnings else 0.2
