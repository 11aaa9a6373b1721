"""Load probe specs from probes/<id>/probe.yaml (strict: files we own)."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from ..models import ProbeSpec
from ..resources import probes_dir
from .registry import PROBES

PRELUDE = "_lib/prelude.sh"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def load_probe_spec(folder: Path) -> ProbeSpec:
    path = folder / "probe.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(path, mark.line + 1 if mark else None, f"invalid YAML: {err}") from err
    try:
        spec = ProbeSpec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(path, None, f"{loc}: {first['msg']}", hint="see clustermax schema probe") from err
    if spec.id != folder.name:
        raise ConfigError(path, None, f"id {spec.id!r} differs from its folder name {folder.name!r}")
    if not (folder / spec.script).is_file():
        raise ConfigError(path, None, f"script {spec.script!r} not found next to probe.yaml")
    for name in spec.files:
        if not _FILE_NAME.match(name) or not (folder / name).is_file():
            raise ConfigError(
                path, None, f"file {name!r} not found next to probe.yaml (plain file names only)"
            )
    if spec.parser not in PROBES:
        raise ConfigError(path, None, f"parser {spec.parser!r} is not a probe module of clustermax.probes")
    return spec


@cache
def load_probe_specs(root: Path | None = None) -> dict[str, ProbeSpec]:
    """Every probe under ``root`` (default: the shipped probes/), by id, in folder order."""
    base = root or probes_dir()
    specs: dict[str, ProbeSpec] = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        specs[folder.name] = load_probe_spec(folder)
    return specs


def probe_script(spec: ProbeSpec, root: Path | None = None) -> str:
    """The text sent to the host: the prelude, the probe's extra files, then the probe's script.

    Extra files travel in the same stdin stream as quoted here-documents (nothing is expanded in them),
    written to ``$CMX_FILES`` inside the prelude's scratch directory, which goes away on exit.
    """
    base = root or probes_dir()
    prelude = (base / PRELUDE).read_text(encoding="utf-8")
    script = (base / spec.id / spec.script).read_text(encoding="utf-8")
    parts = [prelude]
    if spec.files:
        parts.append('CMX_FILES="$CMX_TMP/files"\nmkdir -p "$CMX_FILES"')
        for name in spec.files:
            content = (base / spec.id / name).read_text(encoding="utf-8")
            if not content.endswith("\n"):
                content += "\n"
            tag = "CMX_FILE_" + hashlib.sha256(content.encode()).hexdigest()[:20].upper()
            parts.append(f"cat > \"$CMX_FILES/{name}\" <<'{tag}'\n{content}{tag}")
    parts.append(script)
    return "\n".join(parts)


def declared_metrics(root: Path | None = None) -> dict[str, tuple[str, str]]:
    """metric name -> (probe id, unit) over every probe spec."""
    out: dict[str, tuple[str, str]] = {}
    for spec in load_probe_specs(root).values():
        for metric in spec.metrics:
            out[metric.name] = (spec.id, metric.unit.value)
    return out
