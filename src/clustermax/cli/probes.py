"""`clustermax probes list`: the probes shipped with clustermax.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast).
"""

from __future__ import annotations

import typing

import typer

from ._help import command, group

if typing.TYPE_CHECKING:
    from ..models import ProbeSpec

probes_app = group(
    "probes",
    summary="Probes shipped with clustermax.",
    help="Probes shipped with clustermax: what each runs where, what it needs and what it measures.",
    examples=("clustermax probes list", "clustermax probes show nccl_allreduce"),
)


def register(app: typer.Typer) -> None:
    """Add the `probes` group to the app."""
    app.add_typer(probes_app, name="probes")


def _load_specs() -> dict[str, ProbeSpec]:
    from ..probes.specs import load_probe_specs

    return load_probe_specs()


@command(
    probes_app,
    "list",
    summary="Show every probe: what it needs and what it measures.",
    examples=("clustermax probes list", "clustermax probes list --json > probes.json"),
)
def probes_list(
    as_json: bool = typer.Option(False, "--json", help="Print the probe specs as JSON."),
) -> None:
    """Show every probe: id, category, scope, what it requires and what it measures."""
    import json

    specs = _load_specs()
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in specs.values()], indent=2))
        return
    rows = [
        (
            s.id,
            s.category,
            s.scope,
            ",".join(s.requires) or "-",
            "yes" if s.default else "no",
            f"{s.timeout_s:g}s",
        )
        for s in specs.values()
    ]
    header = ("PROBE", "CATEGORY", "SCOPE", "REQUIRES", "DEFAULT", "TIMEOUT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for spec, row in zip(specs.values(), rows, strict=True):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        typer.echo(f"    {spec.title}: {' '.join(spec.description.split())}")
        typer.echo(f"    measures: {', '.join(m.name for m in spec.metrics)}")


WHERE = {
    "host": "on every audited host: the login node over SSH, and each compute node over SSH or as a task of "
    "the audit's one srun step (--reach)",
    "login": "once, on the login node (or the single target), over SSH",
    "node": "on every compute node: over SSH, or as a task of the audit's one srun step, one task per node "
    "(--reach auto|ssh|scheduler); on the target itself when there is no cluster",
    "cluster": "once, from the login node over SSH, through the scheduler (its own jobs, cancelled on exit)",
}


def _docs_for(probe_id: str) -> list[str]:
    """The docs pages that have a section on this probe (shipped with the source tree)."""
    from ..resources import probes_dir

    docs = probes_dir().parent / "docs"
    if not docs.is_dir():
        return []
    found = []
    for page in sorted(docs.glob("probes*.md")):
        text = page.read_text(encoding="utf-8")
        if any(
            line.lstrip("#").strip().split(" ")[0] == probe_id
            for line in text.splitlines()
            if line.startswith("#")
        ):
            found.append(f"docs/{page.name}")
    return found


@command(
    probes_app,
    "show",
    summary="Show one probe: parameters, units, where it runs, cost.",
    examples=("clustermax probes show nccl_allreduce", "clustermax probes show gpu_health --json"),
)
def probes_show(
    probe_id: str = typer.Argument(..., metavar="ID", help="Probe id (see `clustermax probes list`)."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the spec, where it runs and its digest as JSON."
    ),
) -> None:
    """Show one probe: what it measures (with units), its parameters and defaults, where and how it runs,
    what it costs on the cluster, and the SHA-256 of the script text it sends."""
    import hashlib
    import json

    from ..errors import UsageError
    from ..probes.specs import probe_script
    from ._help import did_you_mean

    specs = _load_specs()
    spec = specs.get(probe_id)
    if spec is None:
        known = sorted(specs)
        raise UsageError(
            f"unknown probe {probe_id!r}",
            hint=did_you_mean(probe_id, known, f"known probes: {', '.join(known)}"),
        )
    digest = hashlib.sha256(probe_script(spec).encode("utf-8")).hexdigest()
    docs = _docs_for(spec.id)
    if as_json:
        data = {
            **spec.model_dump(mode="json"),
            "where": WHERE[spec.scope],
            "script_sha256": digest,
            "docs": docs,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    out = [
        f"{spec.id}: {spec.title}",
        f"  {' '.join(spec.description.split())}",
        f"category: {spec.category}   scope: {spec.scope}   default: {'yes' if spec.default else 'no'}   "
        f"timeout: {spec.timeout_s:g} s",
        f"where: {WHERE[spec.scope]}",
        f"requires: {', '.join(spec.requires) or 'nothing'}",
        f"script: probes/{spec.id}/{spec.script}"
        + (f" (with {', '.join(spec.files)})" if spec.files else "")
        + f", sent on stdin; text SHA-256 {digest} (before the per-host header)",
    ]
    out.append("parameters:" if spec.params else "parameters: none")
    for name, p in spec.params.items():
        default = json.dumps(p.default)
        out.append(f"  {spec.id}.{name} ({p.type}, default {default}): {' '.join(p.description.split())}")
    out.append("measures:")
    width = max(len(m.name) for m in spec.metrics)
    for m in spec.metrics:
        out.append(f"  {m.name:<{width}}  [{m.unit.value}]  {' '.join(m.description.split())}")
    for ep in spec.endpoints:
        out.append(
            f"endpoint {ep.name}: GET http://127.0.0.1:<{ep.port_param}>{ep.path} on the host "
            "(over SSH: through the connection; as an srun task: curl on the node)"
        )
    if spec.cost:
        out.append("cost: " + "; ".join(f"{k} {v}" for k, v in spec.cost.items()))
    else:
        out.append("cost: not documented")
    out.append(f"docs: {', '.join(docs) if docs else 'docs/probes.md'}")
    for line in out:
        typer.echo(line)
