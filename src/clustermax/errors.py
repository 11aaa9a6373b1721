"""One error tree. Soft errors are recorded in the bundle; these abort with a fix hint.

Exit codes (documented in the README):
0 success, 1 below the --fail-under tier, 2 usage, configuration or output error (a bad file, a refused
path, a full disk), 3 the audit could not reach the cluster at all, 4 unexpected error, 130 interrupted.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_BELOW_TIER = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_UNEXPECTED = 4
EXIT_INTERRUPTED = 130


class ClustermaxError(Exception):
    """An error the user can act on: one line saying what, where, and how to fix it."""

    exit_code = EXIT_UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(ClustermaxError):
    exit_code = EXIT_USAGE


class ConfigError(ClustermaxError):
    """A file we read is wrong: names the file and line."""

    exit_code = EXIT_USAGE

    def __init__(self, path: str | Path, line: int | None, message: str, *, hint: str | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = str(path)
        self.line = line
        self.detail = message
        """The message without the file and line."""


class OutputError(ClustermaxError):
    """A file could not be written (a refused target, a full disk): one line, nothing half-written."""

    exit_code = EXIT_USAGE


class UnreachableError(ClustermaxError):
    exit_code = EXIT_UNREACHABLE


class BelowTierError(ClustermaxError):
    exit_code = EXIT_BELOW_TIER


class Interrupted(ClustermaxError):
    exit_code = EXIT_INTERRUPTED
