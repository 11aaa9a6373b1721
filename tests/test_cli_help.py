"""`--help` of every command, exactly, and the one-line usage errors (exit 2) with "did you mean".

The expected help texts are files under tests/data/cli-help/ (one per command, at 80 columns); after a
deliberate change to the CLI, rewrite them with: python tests/test_cli_help.py --regen
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from clustermax.cli import app, main
from clustermax.cli._help import choices, closest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "cli-help"


def _tree() -> Any:
    return typer.main.get_command(app)


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI, as the words after `clustermax`, with its click command."""
    found = [(prefix, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(_paths(sub, (*prefix, name)))
    return found


PATHS = _paths(_tree())
LEAVES = [(p, c) for p, c in PATHS if not getattr(c, "commands", None)]


def _ids(items: list[tuple[tuple[str, ...], Any]]) -> list[str]:
    return [" ".join(p) or "clustermax" for p, _ in items]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def _help_text(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = _run([*path, "--help"], capsys)
    assert code == 0 and err == "", err
    return out


def _golden(path: tuple[str, ...]) -> Path:
    return GOLDEN / (("-".join(path) or "clustermax") + ".txt")


@pytest.fixture(autouse=True)
def _eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "40")


@pytest.mark.parametrize(("path", "cmd"), PATHS, ids=_ids(PATHS))
def test_help_is_exactly_the_expected_text(path: tuple[str, ...], cmd: Any, capsys) -> None:
    text = _help_text(path, capsys)
    assert text == _golden(path).read_text(encoding="utf-8")


@pytest.mark.parametrize(("path", "cmd"), PATHS, ids=_ids(PATHS))
def test_help_reads_like_the_docs(path: tuple[str, ...], cmd: Any, capsys) -> None:
    text = _help_text(path, capsys)
    for leak in ("list[", "Path]", "{", "}", "<str>", "<path>", "<int>", "<float>", "[ARGS]...]"):
        assert leak not in text, f"{' '.join(path)} --help shows {leak!r}"
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: clustermax {' '.join(path)}".rstrip())
    for line in text.splitlines():
        assert len(line) <= 100, line
    examples = text.split("\nExamples:\n", 1)
    assert len(examples) == 2, f"{' '.join(path)} --help has no Examples section"
    lines = [line.strip() for line in examples[1].splitlines() if line.strip()]
    assert lines and all(f"clustermax {' '.join(path)}".rstrip() in line or not path for line in lines)


def test_required_arguments_are_shown_as_required(capsys) -> None:
    usages = {" ".join(p): _help_text(p, capsys).splitlines()[0] for p, _ in LEAVES}
    assert usages["parse"] == "Usage: clustermax parse [OPTIONS] KIND FILE"
    assert usages["report"] == "Usage: clustermax report [OPTIONS] BUNDLE..."
    assert usages["score"] == "Usage: clustermax score [OPTIONS] BUNDLE..."
    assert usages["import"] == "Usage: clustermax import [OPTIONS] FILE..."
    assert usages["diff"] == "Usage: clustermax diff [OPTIONS] OLD NEW"
    assert usages["schema"] == "Usage: clustermax schema [OPTIONS] [KIND]"
    assert usages["rubric show"] == "Usage: clustermax rubric show [OPTIONS] [FILE]"
    assert usages["audit"] == "Usage: clustermax audit [OPTIONS] [HOST...]"
    assert usages["history export"] == "Usage: clustermax history export [OPTIONS] ID"


def test_command_summaries_fit_on_one_line(capsys) -> None:
    """Each group lists its commands one line each, never cut with '...'."""
    for path, cmd in PATHS:
        subcommands = getattr(cmd, "commands", None)
        if not subcommands:
            continue
        text = _help_text(path, capsys)
        listing = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert len(listing) == len(subcommands), f"{' '.join(path)}: a summary wraps:\n" + "\n".join(listing)
        for line, name in zip(listing, subcommands, strict=True):
            assert line.split()[0] == name
            assert len(line) <= 80 and not line.endswith("...") and line.endswith("."), line


def _example_argv(line: str) -> list[str]:
    """The clustermax arguments of an example line (a pipe before it and a redirection after it dropped)."""
    text = line.split("| ", 1)[-1].split(" > ", 1)[0]
    words = shlex.split(text)
    assert words[0] == "clustermax", line
    return words[1:]


def _examples(capsys: pytest.CaptureFixture[str]) -> list[tuple[tuple[str, ...], str]]:
    found = []
    for path, _ in PATHS:
        text = _help_text(path, capsys).split("\nExamples:\n", 1)[1]
        found.extend((path, line.strip()) for line in text.splitlines() if line.strip())
    return found


def test_every_example_in_the_help_parses(capsys) -> None:
    """An example a person copies from --help is a valid command line (options, choices, arguments)."""
    root = _tree()
    examples = _examples(capsys)
    assert len(examples) >= 3 * len(LEAVES)
    for _, line in examples:
        argv = _example_argv(line)
        cmd, at = root, 0
        while getattr(cmd, "commands", None) and at < len(argv) and argv[at] in cmd.commands:
            cmd, at = cmd.commands[argv[at]], at + 1
        if getattr(cmd, "commands", None):  # `clustermax COMMAND --help` style: a group's help
            assert argv[at:] == ["--help"], line
            continue
        try:
            cmd.make_context(argv[at - 1], argv[at:])
        except typer.Exit as done:  # an eager option that prints and exits (parse --list)
            assert done.exit_code == 0, line
        capsys.readouterr()


def test_every_command_that_writes_a_file_has_dash_o() -> None:
    writers = {"audit", "import", "report", "compare", "diff", "score", "history show", "history diff"}
    writers |= {"history export"}
    for path, cmd in LEAVES:
        outs = [p for p in cmd.params if "--out" in getattr(p, "opts", [])]
        if " ".join(path) in writers:
            assert outs and "-o" in outs[0].opts, f"{' '.join(path)} has no -o/--out"


# ------------------------------------------------------------------------------------ usage errors


def _required_argv(cmd: Any) -> list[str]:
    """Values for a command's required arguments and options, so a later error is the one tested."""
    argv: list[str] = []
    for param in cmd.params:
        if not param.required:
            continue
        value = (choices(param) or ["x"])[0]
        argv.extend([value] if param.param_type_name == "argument" else [param.opts[0], value])
    return argv


def _swap_last_two(value: str) -> str:
    return value[:-2] + value[-1] + value[-2]


ENUMERATED = [
    (path, param)
    for path, cmd in LEAVES
    for param in cmd.params
    if param.param_type_name == "option" and choices(param)
]


@pytest.mark.parametrize(
    ("path", "param"), ENUMERATED, ids=[f"{' '.join(p)} {q.opts[0]}" for p, q in ENUMERATED]
)
def test_every_enumerated_option_says_did_you_mean(path: tuple[str, ...], param: Any, capsys) -> None:
    cmd = dict(LEAVES)[path]
    values = choices(param)
    assert values
    for value in values:
        typo = _swap_last_two(value)
        name = max(param.opts, key=len)
        code, out, err = _run([*path, *_required_argv(cmd), name, typo], capsys)
        where = f"clustermax {' '.join(path)}"
        assert code == 2 and out == ""
        assert err == (
            f"error: {where}: {name} {typo!r} is not one of {', '.join(values)}; did you mean {value!r}? "
            f"(see {where} --help)\n"
        )


def test_report_format_pdf_is_one_line_naming_the_choices_and_the_closest(capsys) -> None:
    code, out, err = _run(["report", "audit1", "--format", "pdf"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "error: clustermax report: --format 'pdf' is not one of terminal, markdown, html, json, csv, junit, "
        "prometheus; did you mean 'html'? (see clustermax report --help)\n"
    )
    code, _, err = _run(["report", "audit1", "-fmarkdwon"], capsys)
    assert code == 2 and "'markdwon' is not one of" in err and "did you mean 'markdown'?" in err


def test_an_enumerated_argument_says_did_you_mean(capsys) -> None:
    code, out, err = _run(["schema", "bundel"], capsys)
    assert (code, out) == (2, "")
    assert err == (
        "error: clustermax schema: KIND 'bundel' is not one of bundle, inventory, probe, score; "
        "did you mean 'bundle'? (see clustermax schema --help)\n"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["report"], "clustermax report: Missing argument 'BUNDLE'"),
        (["parse", "nccl-tests"], "clustermax parse: Missing argument 'FILE'"),
        (["score", "--bogus", "x"], "clustermax score: No such option: --bogus"),
        (["repot"], "clustermax: No such command 'repot'. Did you mean 'report'?"),
        (["history", "list", "--limit", "0"], "clustermax history list: Invalid value for '--limit'"),
        (["import", "--cluster", "c", "-o", "d", "f.log"], "clustermax import: Missing option '--provider'"),
        (["audit", "--concurrency", "many"], "clustermax audit: Invalid value for '--concurrency'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], says: str, capsys) -> None:
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {says}"), err
    assert err.rstrip().endswith(f"(see {says.split(':')[0]} --help)")
    assert "Traceback" not in err and "Usage:" not in err


@pytest.mark.parametrize(
    ("argv", "hint"),
    [
        (["parse", "ncl-tests", "-"], "did you mean 'nccl-tests'?"),
        (["import", "--provider", "p", "--cluster", "c", "-o", "d", "--kind", "nvidia-sm", "f"],
         "did you mean 'nvidia-smi'?"),
        (["import", "--provider", "p", "--cluster", "c", "-o", "d", "--kind", "sinf=f", "f"],
         "did you mean 'sinfo'?"),
        (["audit", "--local", "--probes", "gpu_helth", "-o", "{tmp}/a"], "did you mean 'gpu_health'?"),
        (["audit", "--local", "--skip-probes", "fabrik", "-o", "{tmp}/a"], "did you mean 'fabric'?"),
        (["audit", "--local", "-p", "nccl_allreduce.iter=3", "-o", "{tmp}/a"], "did you mean 'iters'?"),
        (["audit", "--local", "-p", "ncl_allreduce.iters=3", "-o", "{tmp}/a"],
         "did you mean 'nccl_allreduce'?"),
    ],
)  # fmt: skip
def test_names_from_a_list_say_did_you_mean(argv: list[str], hint: str, tmp_path: Path, capsys) -> None:
    """Parser kinds, probe ids and probe parameters are enumerated too, though not click choices."""
    code, out, err = _run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and f"\n  hint: {hint} (" in err, err
    assert not (tmp_path / "a").exists()  # refused before anything is written


def test_closest_prefers_a_synonym_then_the_most_alike() -> None:
    formats = ["terminal", "markdown", "html", "json", "csv", "junit", "prometheus"]
    assert closest("pdf", formats) == "html"
    assert closest("MD", formats) == "markdown"
    assert closest("jsn", formats) == "json"
    assert closest("terminal", ["table", "json", "markdown"]) == "table"
    assert closest("zzz", ["abc"]) is None


def test_help_and_version_exit_0(capsys) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out.startswith("clustermax ")
    code, out, _ = _run(["parse", "--list"], capsys)
    assert code == 0 and out.startswith("nccl-tests")


def _regen() -> None:
    import contextlib
    import io
    import os

    os.environ["COLUMNS"], os.environ["LINES"] = "80", "40"
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for old in GOLDEN.glob("*.txt"):
        old.unlink()
    for path, _ in PATHS:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            main([*path, "--help"])
        _golden(path).write_text(buffer.getvalue(), encoding="utf-8")
        print(f"wrote {_golden(path).relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        raise SystemExit("usage: python tests/test_cli_help.py --regen")
    _regen()
