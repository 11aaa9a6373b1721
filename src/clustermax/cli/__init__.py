"""The `clustermax` command line. One module per command group (cli/<command>.py); this one wires them
and maps errors.

Keep module-level imports light: `clustermax --help` must stay fast. Heavy libraries (paramiko,
pandas, jinja2, charts) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
import typing
from pathlib import Path

import typer

from .. import __version__
from ..errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, EXIT_USAGE, ClustermaxError
from ._help import CLICK_EXCEPTION, CLICK_USAGE_ERROR, Group, usage_error_line

app = typer.Typer(
    name="clustermax",
    cls=Group,
    help=(
        "Audit rented GPU clusters over SSH, score the evidence against a versioned rubric, "
        "and write reports. Independent project, not affiliated with SemiAnalysis."
    ),
    epilog="\n".join(
        (
            "clustermax audit --local --out audit1",
            "clustermax score audit1 --advise",
            "clustermax report audit1 --format html --out report.html",
            "clustermax report --help",
        )
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"clustermax {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """clustermax: GPU cluster audits, scores and reports."""


def _register() -> None:
    from . import audit, compare, diff, history, import_, parse, probes, report, rubric, schema, score

    for module in (audit, schema, probes, parse, import_, score, rubric, report, compare, diff, history):
        module.register(app)


_register()


def _error_log_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clustermax" / "error.log"


def _write_traceback() -> Path | None:
    import traceback

    path = _error_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        return None
    return path


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn every error into one clear line and a documented exit code.

    Usage errors (an unknown option, a missing argument, a value not among an option's choices) are one
    line naming the command, the option and the fix, exit 2; commands raise :class:`ClustermaxError` for
    the rest. When one was caused by another exception (``raise ... from err``), the chained traceback goes
    to the error log too, so the cause behind the one-line message can be read there.
    """
    from ..sanitize import term

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = typer.main.get_command(app).main(args=args, prog_name="clustermax", standalone_mode=False)
    except ClustermaxError as err:
        # messages may quote names and values from a cluster or a bundle: one safe line each
        hint = f"\n  hint: {term(err.hint)}" if err.hint else ""
        typer.echo(f"error: {term(err.message)}{hint}", err=True)
        if err.__cause__ is not None:
            _write_traceback()
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except CLICK_USAGE_ERROR as err:
        usage: typing.Any = err
        if type(err).__name__ == "NoArgsIsHelpError":  # a group given no command: its help
            usage.show()
        else:
            typer.echo(usage_error_line(usage, args), err=True)
        sys.exit(EXIT_USAGE)
    except CLICK_EXCEPTION as err:  # any other click error: its message, one line
        other: typing.Any = err
        typer.echo(f"error: {term(other.format_message())}", err=True)
        sys.exit(other.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as err:  # the one place that catches everything
        log = _write_traceback()
        where = f" (traceback in {log})" if log else ""
        typer.echo(f"error: unexpected {type(err).__name__}: {term(str(err), 300)}{where}", err=True)
        sys.exit(EXIT_UNEXPECTED)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
