"""Load an inventory YAML file: line-precise errors, warnings for unknown keys, host shorthands.

A host entry is either a mapping (``{name, host, user, port, identity_file, proxy_jump, expected_gpus}``)
or a string ``[user@]host[:port]``. Relative ``identity_file`` and ``known_hosts`` paths are relative to
the inventory file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import ConfigError
from .models import JSONValue, ProbeSpec
from .models.inventory import HostDefaults, Inventory, InventoryHost, ProfileOverride
from .yamlsrc import Loc, YamlDoc, parse_yaml

HINT = "see `clustermax schema inventory` and examples/inventory.slurm.yaml"
"""Appended to validation messages (the error stays on one line)."""


@dataclass
class LoadedInventory:
    inventory: Inventory
    path: Path
    warnings: list[str] = field(default_factory=list)
    source: YamlDoc | None = None

    def check_files(self) -> None:
        """Every key and known_hosts file the inventory names must be a regular file (ConfigError with the
        line otherwise): a missing key is a mistake in the inventory, not an 'unreachable' host."""
        if self.source is not None:
            _check_files(_Doc(self.path, self.source), self.inventory)


class _Doc:
    def __init__(self, path: Path, source: YamlDoc) -> None:
        self.path = path
        self.source = source
        self.warnings: list[tuple[int, str]] = []

    def line(self, loc: Loc) -> int | None:
        return self.source.line(loc)

    def where(self, loc: Loc) -> str:
        line = self.line(loc)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, loc: Loc, message: str, hint: str | None = HINT) -> ConfigError:
        """One line: file:line: what is wrong (and where to look)."""
        return ConfigError(self.path, self.line(loc), f"{message} ({hint})" if hint else message)

    def warn(self, loc: Loc, message: str) -> None:
        self.warnings.append((self.line(loc) or 0, f"{self.where(loc)}: warning: {message}"))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _known_keys(doc: _Doc, data: dict[str, Any], model: type[BaseModel], loc: Loc) -> dict[str, Any]:
    known = set(model.model_fields)
    out = {}
    for key, value in data.items():
        if key in known:
            out[key] = value
        else:
            doc.warn((*loc, key), f"unknown key {_dotted((*loc, key))!r} ignored")
    return out


def _host_entry(doc: _Doc, raw: Any, loc: Loc) -> dict[str, Any]:
    if isinstance(raw, str):
        from .transport.ssh import parse_destination

        try:
            user, host, port = parse_destination(raw)
        except ValueError as err:
            raise doc.error(loc, f"{_dotted(loc)}: {err}") from err
        entry: dict[str, Any] = {"name": host, "host": host}
        if user:
            entry["user"] = user
        if port:
            entry["port"] = port
        return entry
    if not isinstance(raw, dict):
        raise doc.error(loc, f"{_dotted(loc)}: a host is a mapping or a '[user@]host[:port]' string")
    entry = _known_keys(doc, raw, InventoryHost, loc)
    if "name" not in entry:
        if "host" not in entry:
            raise doc.error(loc, f"{_dotted(loc)}: a host needs 'name' or 'host'")
        entry["name"] = str(entry["host"])
    return entry


def _resolve_path(base: Path, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def load_inventory(path: str | Path, probe_specs: dict[str, ProbeSpec] | None = None) -> LoadedInventory:
    """Read and validate an inventory; ConfigError (file:line, hint) on any bad value."""
    from .safeio import read_text

    path = Path(path)
    text = read_text(path, what="inventory")
    source = parse_yaml(text, path, hint=None)
    doc = _Doc(path, source)
    for loc, _line in source.duplicates:
        doc.warn(loc, f"key {_dotted(loc)!r} given twice; the last one is used")
    data = source.data
    if not isinstance(data, dict):
        raise doc.error((), "an inventory is a mapping with at least 'cluster' and 'login' (or 'compute')")
    data = _known_keys(doc, data, Inventory, ())
    base = path.parent
    if "login" in data and data["login"] is not None:
        data["login"] = _host_entry(doc, data["login"], ("login",))
    compute = data.get("compute", "discover")
    if isinstance(compute, list):
        data["compute"] = [_host_entry(doc, h, ("compute", i)) for i, h in enumerate(compute)]
    elif compute != "discover":
        raise doc.error(("compute",), "compute: expected 'discover' or a list of hosts")
    if isinstance(data.get("defaults"), dict):
        data["defaults"] = _known_keys(doc, data["defaults"], HostDefaults, ("defaults",))
        if "identity_file" in data["defaults"]:
            data["defaults"]["identity_file"] = _resolve_path(base, data["defaults"]["identity_file"])
    if isinstance(data.get("profile"), dict):
        data["profile"] = _known_keys(doc, data["profile"], ProfileOverride, ("profile",))
    for key in ("login",):
        if isinstance(data.get(key), dict) and "identity_file" in data[key]:
            data[key]["identity_file"] = _resolve_path(base, data[key]["identity_file"])
    if isinstance(data.get("compute"), list):
        for entry in data["compute"]:
            if "identity_file" in entry:
                entry["identity_file"] = _resolve_path(base, entry["identity_file"])
    if isinstance(data.get("known_hosts"), str):
        data["known_hosts"] = [data["known_hosts"]]
    if isinstance(data.get("known_hosts"), list):
        data["known_hosts"] = [_resolve_path(base, p) for p in data["known_hosts"]]
    if "probes" in data:
        data["probes"] = _check_probes(doc, data["probes"], probe_specs)
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as err:
        # with a union (compute: 'discover' | [hosts]) the deepest location is the one that explains it
        first = max(err.errors(), key=lambda e: len(e["loc"]))
        loc = tuple(first["loc"])
        # pydantic adds the union member ('list[InventoryHost]', 'literal[...]') to locs; drop those
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("literal"))))
        raise doc.error(loc, f"{_dotted(loc) or 'inventory'}: {first['msg']}") from err
    if inventory.login is None and not isinstance(inventory.compute, list):
        raise doc.error((), "the inventory needs a 'login' host (or an explicit 'compute' list)")
    names: dict[str, Loc] = {}
    hosts: list[tuple[InventoryHost, Loc]] = []
    if inventory.login is not None:
        hosts.append((inventory.login, ("login",)))
    if isinstance(inventory.compute, list):
        hosts += [(h, ("compute", i)) for i, h in enumerate(inventory.compute)]
    for host, loc in hosts:
        if host.name in names and not (loc[0] == "compute" and names[host.name] == ("login",)):
            raise doc.error(loc, f"host name {host.name!r} is used twice", hint="give each host its own name")
        names[host.name] = loc
    return LoadedInventory(inventory, path, [text for _line, text in sorted(doc.warnings)], source)


def _check_files(doc: _Doc, inv: Inventory) -> None:
    """Every key and known_hosts file the inventory names must be a regular file (a missing key is a
    mistake in the inventory, found now with its line, not an 'unreachable' host later)."""
    from .safeio import MAX_KNOWN_HOSTS_BYTES, MAX_SSH_FILE_BYTES, check_regular_file

    keys: list[tuple[Loc, str | None]] = [(("defaults", "identity_file"), inv.defaults.identity_file)]
    if inv.login is not None:
        keys.append((("login", "identity_file"), inv.login.identity_file))
    if isinstance(inv.compute, list):
        keys += [(("compute", i, "identity_file"), h.identity_file) for i, h in enumerate(inv.compute)]
    files = [(loc, path, "identity file", MAX_SSH_FILE_BYTES) for loc, path in keys if path]
    files += [(("known_hosts", i), p, "known_hosts file", MAX_KNOWN_HOSTS_BYTES)
              for i, p in enumerate(inv.known_hosts)]  # fmt: skip
    for loc, path, what, limit in files:
        try:
            check_regular_file(path, what=what, limit=limit)
        except ConfigError as err:
            raise doc.error(loc, f"{_dotted(loc)}: {path}: {err.detail}", hint=err.hint or HINT) from err


def _check_probes(doc: _Doc, raw: Any, specs: dict[str, ProbeSpec] | None) -> dict[str, dict[str, JSONValue]]:
    from .engine.params import coerce_param

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise doc.error(("probes",), "probes: expected a mapping {probe_id: {param: value}}")
    out: dict[str, dict[str, JSONValue]] = {}
    for probe_id, params in raw.items():
        loc: Loc = ("probes", str(probe_id))
        if params is None:
            continue
        if not isinstance(params, dict):
            raise doc.error(loc, f"probes.{probe_id}: expected a mapping of parameters")
        if specs is not None and probe_id not in specs:
            doc.warn(loc, f"unknown probe {probe_id!r} ignored (see `clustermax probes list`)")
            continue
        spec = specs.get(probe_id) if specs is not None else None
        values: dict[str, JSONValue] = {}
        for name, value in params.items():
            ploc = (*loc, str(name))
            if spec is None:
                values[str(name)] = value
                continue
            if name not in spec.params:
                known = ", ".join(sorted(spec.params)) or "none"
                doc.warn(ploc, f"probe {probe_id} has no parameter {name!r} (known: {known}); ignored")
                continue
            try:
                values[str(name)] = coerce_param(spec.params[name], value)
            except ValueError as err:
                raise doc.error(ploc, f"probes.{probe_id}.{name}: {err}",
                                hint=spec.params[name].description) from err  # fmt: skip
        out[str(probe_id)] = values
    return out
