"""YAML with line numbers: every mapping key and sequence item keeps the line it came from.

Shared by every file a user writes (inventories, rubrics, attestations) so all of them name the file and
line of a problem the same way.

PyYAML's ``safe_load`` forgets where things were. We compose the node tree once, build the plain
Python data from it, and record ``path -> line`` for each key and item, so a validation error on
``criteria[3].pass`` can name the exact line of that key. Duplicate keys (which ``safe_load``
silently resolves to the last one) are reported as problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

Loc = tuple[str | int, ...]


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


def _walk(node: yaml.Node, loc: Loc, doc: YamlDoc) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = (*loc, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.duplicates.append((sub, line))
            seen.add(key)
            doc.lines[sub] = line
            _walk(value_node, sub, doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*loc, i)
            doc.lines[sub] = item.start_mark.line + 1
            _walk(item, sub, doc)


def parse_yaml(
    text: str, path: str | Path, *, hint: str | None = "check indentation and quoting around that line"
) -> YamlDoc:
    """Parse one YAML document; raise ConfigError (with the line) on a syntax error."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
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
        ) from None
    doc = YamlDoc(path=str(path), data=data)
    if node is not None:
        doc.lines[()] = node.start_mark.line + 1
        _walk(node, (), doc)
    return doc


def read_yaml(path: str | Path) -> YamlDoc:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, None, f"cannot read: {err}") from None
    return parse_yaml(text, path)
