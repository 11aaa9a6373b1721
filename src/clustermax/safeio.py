"""Safe file I/O: bounded reads of regular files, atomic writes that never follow a planted link, locks.

Every file clustermax reads may come from someone else (a bundle handed over by a provider, an inventory
or rubric from a colleague, a path an old bundle names), and every directory it writes into may hold
things it did not put there. So:

* :func:`read_bytes` / :func:`read_text` open without blocking (a FIFO cannot hang us), refuse anything
  but a regular file (``/dev/zero``, a FIFO, a directory), and stop at a size cap instead of filling
  memory. Text must be UTF-8 (a UTF-8 BOM is accepted; UTF-16 is named as such). Every refusal is a
  :class:`~clustermax.errors.ConfigError` (exit 2) naming the file, never a line of its content.
* :func:`check_regular_file` does the same checks for files a library opens itself (SSH private keys).
* :func:`atomic_write` writes to a fresh temporary file created with ``O_EXCL|O_NOFOLLOW`` (a random
  name, in the target's own directory), fsyncs it and renames it over the target, which must be absent
  or a regular file: a device (``/dev/full``), a FIFO or a symbolic link as the target is refused.
* :class:`AppendLog` is an append-only record file (the audit journal): whole records or nothing, a
  failed write is cut back so the file never ends in half a record, optional fdatasync per record.
* :class:`DirLock` is an exclusive, non-blocking lock on a directory (``flock`` on a lock file in it),
  held for the life of an audit: a second audit into the same directory fails at once.

Write failures raise :class:`~clustermax.errors.OutputError` (exit 2) with one line; a full disk says so.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import ConfigError, OutputError, UsageError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MAX_CONFIG_BYTES = 16 * MiB
"""Inventories, rubrics, hardware references, attestations."""
MAX_SSH_FILE_BYTES = 1 * MiB
"""ssh_config and SSH private keys (a real one is a few KiB)."""
MAX_KNOWN_HOSTS_BYTES = 64 * MiB
"""known_hosts files."""
MAX_INPUT_BYTES = 256 * MiB
"""Tool outputs given to ``clustermax parse`` / ``clustermax import``."""
DEFAULT_MAX_BUNDLE_BYTES = 4 * GiB
"""bundle.json and journal.jsonl (override with CLUSTERMAX_MAX_BUNDLE_BYTES)."""

LOCK_NAME = ".clustermax.lock"
"""The lock file an audit holds in its output directory."""

_CHUNK = 1 * MiB


def max_bundle_bytes() -> int:
    """The cap on bundle.json and journal.jsonl: CLUSTERMAX_MAX_BUNDLE_BYTES, else 4 GiB."""
    raw = os.environ.get("CLUSTERMAX_MAX_BUNDLE_BYTES", "")
    if raw.strip().isdigit() and int(raw) > 0:
        return int(raw)
    return DEFAULT_MAX_BUNDLE_BYTES


def _size_text(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _open_error(path: Path, what: str, err: OSError) -> ConfigError:
    the = "" if what == "file" else f" the {what}"
    hint = "check the path" if err.errno in (errno.ENOENT, errno.ENOTDIR) else None
    return ConfigError(path, None, f"cannot read{the}: {err.strerror or err}", hint=hint)


def read_bytes(path: str | Path, *, what: str = "file", limit: int = MAX_CONFIG_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; ConfigError otherwise."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as err:
        raise _open_error(p, what, err) from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(
                p, None, f"the {what} is {_kind(info.st_mode)}; clustermax reads only regular files"
            )
        if info.st_size > limit:
            raise ConfigError(
                p,
                None,
                f"the {what} is {_size_text(info.st_size)}, more than the {_size_text(limit)} "
                "clustermax reads",
            )
        parts: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise ConfigError(
                    p, None, f"the {what} is larger than the {_size_text(limit)} clustermax reads"
                )
        return b"".join(parts)
    except OSError as err:
        raise _open_error(p, what, err) from err
    finally:
        os.close(fd)


def decode_text(data: bytes, path: str | Path, *, what: str = "file") -> str:
    """UTF-8 text (a leading BOM dropped); ConfigError naming the file for anything else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            path, None, f"the {what} is UTF-16 text; clustermax reads UTF-8", hint="save it as UTF-8"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            path,
            line,
            f"the {what} is not UTF-8 text (byte 0x{data[err.start]:02x})",
            hint="save it as UTF-8",
        ) from err


def read_text(path: str | Path, *, what: str = "file", limit: int = MAX_CONFIG_BYTES) -> str:
    """:func:`read_bytes` decoded as UTF-8 (:func:`decode_text`)."""
    return decode_text(read_bytes(path, what=what, limit=limit), path, what=what)


def check_regular_file(path: str | Path, *, what: str = "file", limit: int = MAX_SSH_FILE_BYTES) -> Path:
    """Refuse ``path`` unless it is a regular file of at most ``limit`` bytes (for files a library opens)."""
    p = Path(path)
    try:
        info = p.stat()
    except OSError as err:
        raise _open_error(p, what, err) from err
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(
            p, None, f"the {what} is {_kind(info.st_mode)}; clustermax reads only regular files"
        )
    if info.st_size > limit:
        raise ConfigError(
            p, None, f"the {what} is {_size_text(info.st_size)}, more than the {_size_text(limit)} it may be"
        )
    return p


# ------------------------------------------------------------------------------------------- writing
_UMASK_LOCK = threading.Lock()
_UMASK: int | None = None


def _file_mode() -> int:
    """0o666 less the process umask: what a plain open() would have created."""
    global _UMASK
    with _UMASK_LOCK:
        if _UMASK is None:
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
        return 0o666 & ~_UMASK


def write_error(path: str | Path, err: OSError, what: str = "file") -> OutputError:
    """One line for a failed write; a full disk is named as such."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(
            f"{path}: no space left on the device while writing the {what}",
            hint="free some space (what was already written is kept)",
        )
    return OutputError(f"{path}: cannot write the {what}: {err.strerror or err}", hint="check the path")


def check_target(path: str | Path, what: str = "file") -> None:
    """Refuse a write target that exists and is not a regular file (a device, FIFO, link, directory)."""
    p = Path(path)
    try:
        info = os.lstat(p)
    except FileNotFoundError:
        return
    except OSError as err:
        raise write_error(p, err, what) from err
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(
            f"{p} is {_kind(info.st_mode)}; clustermax writes the {what} only to a regular file",
            hint="give another path",
        )


def atomic_write(path: str | Path, data: bytes | str, *, what: str = "file", sync: bool = True) -> Path:
    """Replace ``path`` with ``data``, atomically: a reader sees the old file or the new one, never half.

    The temporary file is created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` under a random name in the target's
    directory (:func:`tempfile.mkstemp`), so a file or link planted beside the target is never opened.
    """
    p = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    check_target(p, what)
    directory = p.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as err:
        raise write_error(p, err, what) from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _file_mode())
            fh.write(payload)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        check_target(p, what)  # it did not become a device or a link while we wrote
        os.replace(tmp, p)
    except OSError as err:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise write_error(p, err, what) from err
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync:
        _sync_dir(directory)
    return p


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class AppendLog:
    """An append-only file of records (the journal): each :meth:`append` writes whole records or none.

    Opened with ``O_APPEND|O_NOFOLLOW``; the target must be a regular file. When a write fails (a full
    disk), the file is cut back to where it was, so it never ends in half a record, and the error is
    raised as :class:`OutputError`. With ``sync``, every append is followed by ``fdatasync``.
    """

    def __init__(self, path: str | Path, *, what: str = "journal", sync: bool = True) -> None:
        self.path = Path(path)
        self.what = what
        self.sync = sync
        self._lock = threading.Lock()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            self._fd: int | None = os.open(self.path, flags, _file_mode())
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise OutputError(f"{self.path} is a symbolic link; clustermax does not write through links",
                                  hint="remove it or choose another directory") from err  # fmt: skip
            raise write_error(self.path, err, what) from err
        info = os.fstat(self._fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(self._fd)
            self._fd = None
            raise OutputError(f"{self.path} is {_kind(info.st_mode)}; the {what} must be a regular file")

    def append(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                raise OutputError(f"{self.path}: the {self.what} is closed")
            fd = self._fd
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                if self.sync:
                    os.fdatasync(fd)
            except OSError as err:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise write_error(self.path, err, self.what) from err

    def close(self) -> None:
        with self._lock:
            if self._fd is None:
                return
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


class DirLock:
    """An exclusive lock on ``directory`` (``flock`` on DIR/.clustermax.lock), taken without waiting.

    ``acquire`` raises :class:`UsageError` at once when another process holds it. The lock file stays
    (removing it would let two processes lock two different files); it holds the holder's PID.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> DirLock:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as err:
            raise write_error(self.path, err, "lock file") from err
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OutputError(f"{self.path} is not a regular file; cannot lock {self.directory}")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f" (pid {holder})" if holder.isdigit() else ""
                raise UsageError(
                    f"{self.directory} is in use by another clustermax audit{who}",
                    hint="wait for it to finish, or choose another --out",
                ) from None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


# ------------------------------------------------------------------------------------------- JSON
NUMBER_LIMIT = 2**63
"""Numbers in files clustermax reads stay within ±2^63: larger ones are no measurement and break maths."""


class _BadNumber(ValueError):
    def __init__(self, text: str, why: str) -> None:
        super().__init__(why)
        self.text = text
        self.why = why


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 19 or abs(int(text)) >= NUMBER_LIMIT:
        raise _BadNumber(text, f"an integer of {digits} digits is out of range (at most 2^63)")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value != value or abs(value) >= NUMBER_LIMIT:
        raise _BadNumber(text, f"the number {text[:24]} is out of range (at most 2^63 in size)")
    return value


def _parse_constant(text: str) -> float:
    raise _BadNumber(text, f"{text} is not a number clustermax accepts")


def _line_of(text: str, needle: str) -> int | None:
    at = text.find(needle)
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def parse_json(raw: bytes | str, path: str | Path, *, what: str = "file") -> Any:
    """Parse JSON with bounded numbers (no NaN/Infinity, |x| < 2^63) and bounded nesting (the
    interpreter's recursion limit); ConfigError naming the file (and line, when known) otherwise."""
    import json

    text = raw if isinstance(raw, str) else decode_text(raw, path, what=what)
    try:
        return json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except _BadNumber as err:
        raise ConfigError(path, _line_of(text, err.text), f"not a valid {what}: {err.why}") from err
    except json.JSONDecodeError as err:
        raise ConfigError(path, err.lineno, f"not valid JSON: {err.msg}") from err
    except RecursionError:
        raise ConfigError(path, None, f"not a valid {what}: nested too deeply") from None
    except ValueError as err:
        raise ConfigError(path, None, f"not valid JSON: {str(err).split(';')[0]}") from err


def _is_bad(x: Any) -> bool:
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return False
    return x != x or not -NUMBER_LIMIT < x < NUMBER_LIMIT


def bad_number(value: Any) -> tuple[str, Any] | None:
    """The first number in ``value`` (a pydantic model, or JSON-like data) that is NaN, infinite or not
    within ±2^63, as (dotted location, value); None when there is none. Walks without recursion, and
    fast: scalars are checked where they are met, only containers go on the stack."""
    from pydantic import BaseModel

    if _is_bad(value):
        return "value", value
    limit = NUMBER_LIMIT
    containers = (BaseModel, dict, list, tuple)
    if not isinstance(value, containers):
        return None
    # (container, where): ``where`` is a linked (parent, key) pair, made into text only for a bad number
    stack: list[tuple[Any, Any]] = [(value, None)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, BaseModel):
            pairs: Any = item.__dict__.items()
        elif isinstance(item, dict):
            pairs = item.items()
        else:
            pairs = enumerate(item)
        for key, sub in pairs:
            kind = type(sub)
            if kind is str or sub is None or kind is bool:
                continue
            if kind is int or kind is float:
                if sub != sub or not -limit < sub < limit:
                    return _where_text((where, key)), sub
            elif isinstance(sub, containers):
                stack.append((sub, (where, key)))
            elif _is_bad(sub):
                return _where_text((where, key)), sub
    return None


def bundle_bad_number(bundle: Any) -> tuple[str, Any] | None:
    """:func:`bad_number` for a :class:`clustermax.models.Bundle`, looking only where numbers can be
    (measurement values, durations, ports, exit codes, and the free-form facts, params and options):
    a fraction of the cost of walking every string of a large bundle."""
    for i, res in enumerate(bundle.results):
        if _is_bad(res.duration_s):
            return f"results[{i}].duration_s", res.duration_s
        for j, m in enumerate(res.measurements):
            if _is_bad(m.value):
                return f"results[{i}].measurements[{j}].value", m.value
        for name in ("facts", "params"):
            found = bad_number(getattr(res, name))
            if found is not None:
                return f"results[{i}].{name}.{found[0]}", found[1]
    for i, cmd in enumerate(bundle.commands):
        for name in ("duration_s", "exit_code"):
            if _is_bad(getattr(cmd, name)):
                return f"commands[{i}].{name}", getattr(cmd, name)
    for i, host in enumerate(bundle.hosts):
        for name in ("port", "connect_time_s"):
            if _is_bad(getattr(host, name)):
                return f"hosts[{i}].{name}", getattr(host, name)
    free_form = (("options", bundle.options), ("target.profile_override", bundle.target.profile_override))
    for where, data in free_form:
        found = bad_number(data)
        if found is not None:
            return f"{where}.{found[0]}", found[1]
    return None


def _where_text(where: Any) -> str:
    parts: list[str | int] = []
    while where is not None:
        where, key = where
        parts.append(key)
    text = ""
    for key in reversed(parts):
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "value"


def number_text(value: Any) -> str:
    """A short text for an out-of-range number (a 400-digit integer is not printed whole)."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = int(abs(value).bit_length() * 0.30103) + 1
        return f"an integer of about {digits} digits" if digits > 24 else str(value)
    return repr(value)
