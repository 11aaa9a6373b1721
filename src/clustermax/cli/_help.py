"""Help that reads like the docs, and usage errors in one line (exit 2).

typer derives help from Python types (``<list[Path]>``, ``{bundles}...``), shows required arguments in
braces and cuts command summaries with "...". The command and group classes here render help from what
a person types instead: arguments by their metavar (``BUNDLE...``; required ones bare, optional ones in
brackets), options with a metavar (``--out FILE``) or their choices (``--format terminal|markdown``), each
command's one-line summary whole, and an **Examples** section (the command's ``epilog``, one example a
line, printed as written).

:func:`usage_error_line` turns a click usage error into the one line ``cli.main`` prints: the command,
the option, what is wrong and the fix; an enumerated value that is not one of its choices names the
choices and the closest one ("did you mean").

Only the standard library and typer are imported here (``clustermax --help`` stays fast); difflib loads
when an error needs it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Sequence
from enum import Enum

import typer
import typer.core

_F = typing.TypeVar("_F", bound=Callable[..., typing.Any])


def _click_class(name: str) -> type[Exception]:
    """click's exception class ``name`` (typer may vendor click: found through typer.BadParameter)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


CLICK_USAGE_ERROR = _click_class("UsageError")
"""click's UsageError: a bad command line (exit 2)."""
CLICK_EXCEPTION = _click_class("ClickException")


def choices(param: typing.Any) -> list[str] | None:
    """The values an enumerated parameter accepts (enum values as typed), else None."""
    desc = getattr(param, "type_descriptor", None)
    values = getattr(desc, "choices", None) if getattr(desc, "is_choice", False) else None
    if values is None:
        values = getattr(getattr(param, "type", None), "choices", None)
    if not values:
        return None
    return [v.value if isinstance(v, Enum) else str(v) for v in values]


def _annotation(param: typing.Any) -> typing.Any:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


def _type_metavar(param: typing.Any) -> str:
    """A metavar from the parameter's type when none was given: PATH, N, NUMBER or TEXT."""
    desc = getattr(param, "type_descriptor", None)
    if getattr(desc, "is_path", False):
        return "PATH"
    annotation = _annotation(param)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and args:
        annotation = args[0]
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    return "TEXT"


def argument_name(param: typing.Any) -> str:
    """``BUNDLE...``, ``FILE``: the metavar (or the upper-case name), with ``...`` when it repeats."""
    name = param.metavar or param.name.upper()
    return f"{name}..." if param.nargs != 1 and not name.endswith("...") else name


def option_metavar(param: typing.Any) -> str:
    """What follows an option's name in help: nothing for a flag, else its metavar or its choices."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return str(param.metavar)
    values = choices(param)
    return "|".join(values) if values else _type_metavar(param)


def option_names(param: typing.Any) -> str:
    names = ", ".join(sorted(param.opts, key=lambda o: (o.startswith("--"), o)))
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    return names


def _default_text(param: typing.Any) -> str | None:
    if getattr(param, "show_default", None) is False or getattr(param, "is_flag", False):
        return None
    default = param.default
    if default is None or callable(default) or isinstance(default, bool):
        return None
    if isinstance(default, list | tuple):
        return ", ".join(str(d.value if isinstance(d, Enum) else d) for d in default) or None
    return str(default.value if isinstance(default, Enum) else default)


def _extras(param: typing.Any, *, argument: bool) -> str:
    extra: list[str] = []
    values = choices(param)
    if values and (argument or param.metavar):  # else the choices are the option's metavar
        extra.append("one of: " + ", ".join(values))
    default = _default_text(param)
    if default is not None:
        extra.append(f"default: {default}")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None:
        extra.append(f"at least {low}")
    if high is not None:
        extra.append(f"at most {high}")
    envvar = param.envvar
    if envvar:
        extra.append("env var: " + (", ".join(envvar) if isinstance(envvar, list | tuple) else str(envvar)))
    if param.required:
        extra.append("required")
    return f"  [{'; '.join(extra)}]" if extra else ""


def help_record(param: typing.Any) -> tuple[str, str] | None:
    """(name column, help text) of one argument or option; None when hidden."""
    if getattr(param, "hidden", False):
        return None
    argument = param.param_type_name == "argument"
    if argument:
        name = argument_name(param)
    else:
        metavar = option_metavar(param)
        name = option_names(param) + (f" {metavar}" if metavar else "")
    text = " ".join((getattr(param, "help", None) or "").split())
    return name, (text + _extras(param, argument=argument)).strip()


def _write_examples(epilog: str | None, formatter: typing.Any) -> None:
    lines = [line.strip() for line in inspect.cleandoc(epilog or "").splitlines() if line.strip()]
    if not lines:
        return
    formatter.write_paragraph()
    formatter.write("Examples:\n")
    for line in lines:  # verbatim: an example is copied, never rewrapped
        formatter.write(f"  {line}\n")


def _write_summary_and_text(help_text: str | None, formatter: typing.Any) -> None:
    if not help_text:
        return
    formatter.write_paragraph()
    with formatter.indentation():
        formatter.write_text(inspect.cleandoc(help_text).partition("\f")[0])


class Command(typer.core.TyperCommand):
    """A command whose help and usage line read like the docs (see the module docstring)."""

    def collect_usage_pieces(self, ctx: typing.Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_help_text(self, ctx: typing.Any, formatter: typing.Any) -> None:
        _write_summary_and_text(self.help, formatter)

    def format_options(self, ctx: typing.Any, formatter: typing.Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = help_record(param)
            if record is not None:
                (arguments if param.param_type_name == "argument" else options).append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def format_epilog(self, ctx: typing.Any, formatter: typing.Any) -> None:
        _write_examples(self.epilog, formatter)


class Group(typer.core.TyperGroup):
    """A command group: each command's one-line summary whole, options as :class:`Command`'s, examples."""

    def format_help_text(self, ctx: typing.Any, formatter: typing.Any) -> None:
        _write_summary_and_text(self.help, formatter)

    def format_options(self, ctx: typing.Any, formatter: typing.Any) -> None:
        rows = [r for r in (help_record(p) for p in self.get_params(ctx)) if r is not None]
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: typing.Any, formatter: typing.Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, summary(cmd)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: typing.Any, formatter: typing.Any) -> None:
        _write_examples(self.epilog, formatter)


def summary(cmd: typing.Any) -> str:
    """A command's one-line summary: its short help, else the first line of its help, never cut."""
    text = cmd.short_help or (inspect.cleandoc(cmd.help).split("\n\n")[0] if cmd.help else "")
    return " ".join(text.split())


def command(app: typer.Typer, name: str, *, summary: str, examples: Sequence[str]) -> Callable[[_F], _F]:
    """``app.command(name)`` with the docs-like help: a one-line summary and its examples."""
    return app.command(name, cls=Command, short_help=summary, epilog="\n".join(examples))


def group(name: str, *, summary: str, help: str, examples: Sequence[str] = ()) -> typer.Typer:
    """A command group (``clustermax NAME ...``) with the docs-like help."""
    return typer.Typer(
        name=name,
        cls=Group,
        help=help,
        short_help=summary,
        epilog="\n".join(examples),
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
    )


# ------------------------------------------------------------------------------------ usage errors


def _given_value(param: typing.Any, argv: Sequence[str]) -> str | None:
    """The value the command line gave an option (the last one), as typed; None when not found."""
    found = None
    tokens = list(argv)
    for i, token in enumerate(tokens):
        for opt in param.opts:
            if token == opt and i + 1 < len(tokens):
                found = tokens[i + 1]
            elif opt.startswith("--") and token.startswith(opt + "="):
                found = token[len(opt) + 1 :]
            elif not opt.startswith("--") and token.startswith(opt) and len(token) > len(opt):
                found = token[len(opt) :].removeprefix("=")
    return found


SYNONYMS = {
    "pdf": "html",
    "htm": "html",
    "md": "markdown",
    "xml": "junit",
    "txt": "terminal",
    "text": "terminal",
    "table": "terminal",
    "prom": "prometheus",
    "openmetrics": "prometheus",
}
"""What people type for a value that has another name here: ``--format pdf`` means the HTML (printed)."""


def closest(value: str, candidates: Sequence[str]) -> str | None:
    """The candidate meant by ``value``: its synonym when that is a candidate, else the most alike
    (difflib's ratio, case folded); None when none shares a letter."""
    import difflib

    meant = SYNONYMS.get(value.lower())
    if meant in candidates:
        return meant
    scored = [(difflib.SequenceMatcher(None, value.lower(), c.lower()).ratio(), c) for c in candidates]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] > 0 else None


def did_you_mean(value: str, known: Sequence[str], otherwise: str) -> str:
    """A hint for a name that is not among ``known`` (probe ids, parser kinds): "did you mean 'x'?" when
    one is close (difflib's 0.6 cutoff, or a synonym), else ``otherwise``."""
    import difflib

    meant = SYNONYMS.get(value.lower())
    close = [meant] if meant in known else difflib.get_close_matches(value, list(known), n=1)
    return f"did you mean {close[0]!r}? ({otherwise})" if close else otherwise


def _choice_message(err: typing.Any, argv: Sequence[str]) -> str | None:
    param: typing.Any = getattr(err, "param", None)
    values = choices(param) if param is not None else None
    if not values or type(err).__name__ != "BadParameter":
        return None
    if param.param_type_name == "argument":
        where = argument_name(param)
        given = _given_argument(err)
    else:
        where = max(param.opts, key=len)
        given = _given_value(param, argv)
    shown = f" {given!r}" if given is not None else ""
    near = closest(given, values) if given is not None else None
    mean = f"; did you mean {near!r}?" if near is not None else ""
    return f"{where}{shown} is not one of {', '.join(values)}{mean}"


def _given_argument(err: typing.Any) -> str | None:
    message = str(getattr(err, "message", "") or "")
    start = message.find("'")
    end = message.find("' is not one of")
    return message[start + 1 : end] if 0 <= start < end else None


def usage_error_line(err: typing.Any, argv: Sequence[str]) -> str:
    """One line for a click usage error: the command, what is wrong (for a choice: the choices and the
    closest one) and where the command's help is."""
    from ..sanitize import term

    ctx = getattr(err, "ctx", None)
    path = ctx.command_path if ctx is not None else "clustermax"
    message = _choice_message(err, argv) or err.format_message()
    message = term(message, 600).rstrip(".")
    return f"error: {path}: {message} (see {path} --help)"
