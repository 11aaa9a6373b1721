"""YAML with line numbers: every mapping key and sequence item keeps the line it came from.

Shared by every file a user writes (inventories, rubrics, hardware references, attestations) so all of
them name the file and line of a problem the same way.

PyYAML's ``safe_load`` forgets where things were. We compose the node tree once, build the plain
Python data from it, and record ``path -> line`` for each key and item, so a validation error on
``criteria[3].pass`` can name the exact line of that key. Duplicate keys (which ``safe_load``
silently resolves to the last one) are reported as problems.

These files may come from someone else, so reading one is bounded (a :class:`~clustermax.errors.ConfigError`,
exit 2, instead of a hang, a memory blow-up or a traceback):

* nesting deeper than :data:`MAX_DEPTH` is refused while composing (PyYAML's composer recurses);
* the document, with every alias expanded, may hold at most :data:`MAX_NODES` nodes (an alias
  "billion laughs" of a few hundred bytes is refused after that many steps), and an alias that
  contains itself is refused;
* files are read through :func:`clustermax.safeio.read_text`: regular files only, at most 16 MiB,
  UTF-8 (UTF-16 and other encodings are named as such).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

Loc = tuple[str | int, ...]

MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted (a real rubric nests 6 levels)."""
MAX_NODES = 200_000
"""Most nodes a document may expand to, aliases counted once per use (the shipped rubric has ~2,300)."""


@dataclass
class YamlDoc:
    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int]] = field(default_factory=list)

    def line(self, loc: Loc) -> int | None:
        """The line of the longest known prefix of ``loc`` (1-based), or None."""
        probe = tuple(loc)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting deeper than MAX_DEPTH before it recurses further."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _TooDeep(event.start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Budget(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _walk(root: yaml.Node, doc: YamlDoc) -> None:
    """Record the line of every key and item, following aliases, within MAX_NODES; no recursion."""
    visited = 0
    on_path: set[int] = set()
    # (node, loc, leaving): leaving=True pops the node off the current path
    stack: list[tuple[yaml.Node, Loc, bool]] = [(root, (), False)]
    while stack:
        node, loc, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        visited += 1
        if visited > MAX_NODES:
            raise _Budget(
                f"the document expands to more than {MAX_NODES:,} values (aliases repeat what they point "
                "at); refusing to expand it",
                node.start_mark.line + 1,
            )
        if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            continue
        if id(node) in on_path:
            raise _Budget("an alias refers to a node that contains it (a cycle)", node.start_mark.line + 1)
        on_path.add(id(node))
        stack.append((node, loc, True))
        children: list[tuple[yaml.Node, Loc]] = []
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "<complex key>"
                sub = (*loc, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    doc.duplicates.append((sub, line))
                seen.add(key)
                doc.lines[sub] = line
                children.append((value_node, sub))
        else:
            for i, item in enumerate(node.value):
                sub = (*loc, i)
                doc.lines[sub] = item.start_mark.line + 1
                children.append((item, sub))
        for child, sub in reversed(children):
            stack.append((child, sub, False))


def parse_yaml(
    text: str, path: str | Path, *, hint: str | None = "check indentation and quoting around that line"
) -> YamlDoc:
    """Parse one YAML document; raise ConfigError (with the line) on a syntax error or a bound exceeded."""
    node: yaml.Node | None = None
    try:
        loader = _BoundedLoader(text)
        try:
            node = loader.get_single_node()
            doc = YamlDoc(path=str(path), data=None)
            if node is not None:
                doc.lines[()] = node.start_mark.line + 1
                _walk(node, doc)  # before constructing: the walk is what bounds the expansion
                doc.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except _TooDeep as err:
        raise ConfigError(
            path, err.line, f"nested more than {MAX_DEPTH} levels deep; clustermax refuses to read it"
        ) from err
    except _Budget as err:
        raise ConfigError(path, err.line, err.message) from err
    except RecursionError:  # defence in depth: the bounds above should make this unreachable
        raise ConfigError(path, None, "nested too deeply to read") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        context = getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if context is not None and mark is not None and context.line != mark.line:
            # e.g. an unclosed '[': point at where it opened, say where parsing gave up
            what = getattr(err, "context", None) or "here"
            problem = f"{what} that starts here: {problem} (line {mark.line + 1})"
            mark = context
        mark = mark or context
        raise ConfigError(
            path, mark.line + 1 if mark else None, f"invalid YAML: {problem}", hint=hint
        ) from err
    return doc


def read_yaml(path: str | Path, *, what: str = "file") -> YamlDoc:
    """Read (bounded, UTF-8, regular files only) and parse a YAML file."""
    import os

    from .safeio import MAX_CONFIG_BYTES, read_text

    if not os.path.lexists(path):
        raise ConfigError(path, None, "file not found", hint="check the path")
    return parse_yaml(read_text(path, what=what, limit=MAX_CONFIG_BYTES), path)
