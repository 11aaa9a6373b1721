"""The layering of docs/architecture.md holds: every import of every module (at the top of the file or
inside a function) stays within what its room may import, no module loads another through importlib,
the imports form no cycle, and `clustermax --help` loads no probe, parser or bundle module."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "clustermax"


def rule() -> tuple[dict[str, str], dict[str, set[str]]]:
    """(module prefix -> room, room -> rooms it may import) from the table of docs/architecture.md."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text[text.index("| room | modules | may import |") :].split("\n\n", 1)[0]
    prefixes: dict[str, str] = {}
    allowed: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        room, modules, may = (cell.strip() for cell in line.strip("|").split("|"))
        for module in re.findall(r"`([^`]+)`", modules):
            prefixes[module] = room
        allowed[room] = {r.strip() for r in may.split(",")}
    rooms = set(allowed)
    for room, may in allowed.items():
        if may == {"every room"}:
            allowed[room] = rooms
        elif may == {"nothing else"}:
            allowed[room] = set()
        assert allowed[room] <= rooms, (room, allowed[room] - rooms)
    return prefixes, allowed


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def room_of(module: str, prefixes: dict[str, str]) -> str:
    if module in prefixes:
        return prefixes[module]
    matches = [p for p in prefixes if p != "clustermax" and module.startswith(p + ".")]
    assert matches, f"{module} is in no room of docs/architecture.md"
    return prefixes[max(matches, key=len)]


def imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, imported clustermax module) of every import statement, resolved to a module file."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            targets = [f"{name}.{a.name}" if f"{name}.{a.name}" in known else name for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield node.lineno, target


def test_every_module_imports_only_what_its_room_may() -> None:
    prefixes, allowed = rule()
    known = modules()
    wrong = []
    for module, path in known.items():
        room = room_of(module, prefixes)
        for line, target in imports(module, path, known):
            other = room_of(target, prefixes)
            if other != room and other not in allowed[room]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {room} imports {target} ({other})")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_no_module_is_imported_through_importlib() -> None:
    found = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Name) and node.id == "__import__":
                names = ["__import__"]
            if any(n == "importlib" or n.startswith("importlib.") or n == "__import__" for n in names):
                found.append(module)
    assert not found


def test_imports_form_no_cycle() -> None:
    known = modules()
    graph = {m: {t for _, t in imports(m, p, known)} for m, p in known.items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(target) :], target]))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(known):
        if module not in state:
            visit(module, [module])


def test_rule_test_catches_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: a parser importing the probes (a stage reaching back up) is reported."""
    prefixes, allowed = rule()
    assert room_of("clustermax.parsers.slurm.sinfo", prefixes) == "parsers"
    assert "probes" not in allowed["parsers"] and "bundle" not in allowed["probes"]
    fake = tmp_path / "x.py"
    fake.write_text("def f():\n    from ..probes import registry\n")
    known = {**modules(), "clustermax.parsers.x": fake}
    assert list(imports("clustermax.parsers.x", fake, known)) == [(2, "clustermax.probes.registry")]


def test_cli_start_up_loads_typer_only() -> None:
    code = (
        "import sys, clustermax.cli\n"
        "heavy = ('clustermax.probes', 'clustermax.parsers', 'clustermax.bundle', 'clustermax.engine',\n"
        "         'clustermax.scoring', 'clustermax.reports', 'pydantic', 'paramiko', 'pandas', 'jinja2',\n"
        "         'yaml')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert r.stdout.strip() == "[]"
    help_run = subprocess.run(
        [sys.executable, "-m", "clustermax", "--help"], capture_output=True, text=True, timeout=60
    )
    assert help_run.returncode == 0 and "audit" in help_run.stdout
