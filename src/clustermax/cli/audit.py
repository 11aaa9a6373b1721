"""`clustermax audit`: audit a cluster (or this machine), write the bundle, score it, write the reports.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast);
the engine, paramiko, pydantic models and rich are imported inside the commands.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated

import typer

from .probes import _load_specs

if typing.TYPE_CHECKING:
    from ..engine.audit import AuditRequest, HostSpec
    from ..models import Bundle, ProbeSpec


def register(app: typer.Typer) -> None:
    """Add `audit` to the app."""
    app.command("audit")(audit)


def audit(
    destinations: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[USER@]HOST[:PORT]...", help="Host(s) to audit over SSH (ssh_config aliases work)."
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Audit this machine (no SSH, no cluster needed).")
    ] = False,
    inventory: Annotated[Path | None, typer.Option("--inventory", "-I", help="Inventory YAML file.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory (default: ./clustermax-audit-YYYYmmdd-HHMMSS)."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume", help="Finish the interrupted audit in DIR (re-runs what is missing or failed)."
        ),
    ] = None,
    probes: Annotated[
        str | None, typer.Option("--probes", help="Run only these probes (comma-separated ids).")
    ] = None,
    skip_probes: Annotated[str | None, typer.Option("--skip-probes", help="Do not run these probes.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", metavar="PROBE.KEY=VALUE", help="Probe parameter (overrides the inventory)."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", min=1, help="Hosts audited at once.")
    ] = 16,
    max_nodes: Annotated[
        int | None, typer.Option("--max-nodes", min=1, help="Audit at most N compute nodes.")
    ] = None,
    accept_new_host_keys: Annotated[
        bool,
        typer.Option(
            "--accept-new-host-keys",
            help="Record unknown host keys in clustermax's known_hosts (changed keys are still refused).",
        ),
    ] = False,
    known_hosts: Annotated[
        list[Path] | None,
        typer.Option("--known-hosts", metavar="FILE", help="Extra known_hosts file (repeatable)."),
    ] = None,
    ssh_config: Annotated[
        Path | None,
        typer.Option("--ssh-config", "-F", help="ssh_config to resolve hosts with (default: ~/.ssh/config)."),
    ] = None,
    identity_file: Annotated[
        Path | None,
        typer.Option("--identity-file", "-i", help="Private key for the hosts given on the command line."),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="Cluster name (default: inventory or host).")
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", help="Provider name.")] = None,
    rubric: Annotated[
        Path | None, typer.Option("--rubric", help="Rubric to score with (default: shipped).")
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", min=1, help="SSH connect timeout (s).")
    ] = 15.0,
    login_shell: Annotated[
        bool, typer.Option("--login-shell", help="Run probe scripts with bash -l.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress output (the summary still prints).")
    ] = False,
) -> None:
    """Audit a cluster (or this machine) and write a result bundle, a score and reports."""
    import shlex
    import sys

    from ..errors import UsageError

    given = [bool(destinations), local, inventory is not None, resume is not None]
    if sum(given) != 1:
        raise UsageError(
            "say what to audit: one of USER@HOST, --local, --inventory FILE or --resume DIR",
            hint="clustermax audit --local audits this machine",
        )
    if resume is not None:
        if out is not None:
            raise UsageError("--resume writes into its own directory; drop --out")
        _resume(resume, concurrency=concurrency, quiet=quiet, rubric=rubric)
        return
    options: dict[str, typing.Any] = {
        "mode": "local" if local else ("inventory" if inventory else "targets"),
        "targets": list(destinations or []),
        "inventory": str(inventory.resolve()) if inventory else None,
        "probes": _split(probes),
        "skip_probes": _split(skip_probes) or [],
        "params": list(param or []),
        "concurrency": concurrency,
        "max_nodes": max_nodes,
        "accept_new_host_keys": accept_new_host_keys,
        "known_hosts": [str(p.resolve()) for p in known_hosts or []],
        "ssh_config": str(ssh_config.resolve()) if ssh_config else None,
        "identity_file": str(identity_file.expanduser().resolve()) if identity_file else None,
        "cluster": cluster,
        "provider": provider,
        "rubric": str(rubric.resolve()) if rubric else None,
        "connect_timeout_s": connect_timeout,
        "login_shell": login_shell,
    }
    command_line = "clustermax " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out_dir = out or _default_out_dir()
    _check_out_dir(out_dir)
    _run_audit(options, out_dir, previous=None, quiet=quiet, command_line=command_line)


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _default_out_dir() -> Path:
    import time

    return Path.cwd() / time.strftime("clustermax-audit-%Y%m%d-%H%M%S")


def _check_out_dir(out_dir: Path) -> None:
    from ..errors import UsageError

    if (out_dir / "bundle.json").exists() or (out_dir / "journal.jsonl").exists():
        raise UsageError(
            f"{out_dir} already holds an audit",
            hint=f"finish it with clustermax audit --resume {out_dir}, or choose another --out",
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a directory")


def _resume(directory: Path, *, concurrency: int, quiet: bool, rubric: Path | None) -> None:
    from ..engine.journal import read_journal
    from ..errors import ConfigError, UsageError
    from ..models import Bundle

    previous: Bundle | None = None
    bundle_file = directory / "bundle.json"
    if bundle_file.is_file():
        try:
            previous = Bundle.model_validate_json(bundle_file.read_bytes())
        except ValueError as err:
            raise ConfigError(bundle_file, None, f"not a valid bundle: {str(err).splitlines()[0]}") from err
    else:
        start, hosts, commands, results = read_journal(directory)
        if start is None:
            raise UsageError(f"{directory} holds no audit to resume (no bundle.json, no journal.jsonl)")
        previous = Bundle.model_validate(start).model_copy(
            update={"hosts": hosts, "commands": commands, "results": results}
        )
    if previous.kind != "audit":
        raise UsageError(f"{bundle_file} is an import bundle; only audits can be resumed")
    options = dict(previous.options)
    if not options.get("mode"):
        raise UsageError(f"{bundle_file} does not record how it was made; start a new audit instead")
    if concurrency != 16:
        options["concurrency"] = concurrency
    if rubric is not None:
        options["rubric"] = str(rubric.resolve())
    command_line = previous.origin.command
    _run_audit(options, directory, previous=previous, quiet=quiet, command_line=command_line)


def _selection(specs: dict[str, ProbeSpec], options: dict[str, typing.Any]) -> list[str]:
    from ..errors import UsageError

    known = ", ".join(sorted(specs))
    chosen: list[str] = options.get("probes") or [p for p, s in specs.items() if s.default]
    skip: list[str] = options.get("skip_probes") or []
    for pid in [*chosen, *skip]:
        if pid not in specs:
            raise UsageError(f"unknown probe {pid!r}", hint=f"known probes: {known}")
    selected = [p for p in chosen if p not in skip]
    # detection gates every probe with `requires` and names the platform: run it unless told not to
    if "scheduler_detect" not in selected and "scheduler_detect" not in skip:
        selected.insert(0, "scheduler_detect")
    return selected


def _cli_params(specs: dict[str, ProbeSpec], raw: list[str]) -> dict[str, dict[str, typing.Any]]:
    from ..engine.params import coerce_param
    from ..errors import UsageError

    out: dict[str, dict[str, typing.Any]] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        probe_id, dot, name = key.strip().partition(".")
        if not sep or not dot or not probe_id or not name:
            raise UsageError(
                f"--param {item!r}: expected PROBE.KEY=VALUE", hint="e.g. --param gpu_health.dcgm_level=2"
            )
        spec = specs.get(probe_id)
        if spec is None:
            raise UsageError(
                f"--param {item!r}: unknown probe {probe_id!r}", hint=f"known: {', '.join(sorted(specs))}"
            )
        if name not in spec.params:
            known = ", ".join(sorted(spec.params)) or "none"
            raise UsageError(
                f"--param {item!r}: probe {probe_id} has no parameter {name!r}", hint=f"known: {known}"
            )
        try:
            out.setdefault(probe_id, {})[name] = coerce_param(spec.params[name], value, from_text=True)
        except ValueError as err:
            raise UsageError(f"--param {item!r}: {err}", hint=spec.params[name].description) from err
    return out


def _ssh_host(
    name: str, role: typing.Literal["login", "compute"], target: typing.Any, expected_gpus: int | None,
    login_shell: bool,
) -> HostSpec:  # fmt: skip
    from ..engine.audit import HostSpec

    return HostSpec(
        name=name,
        role=role,
        target=target,
        address=target.hostname,
        user=target.user,
        port=target.port,
        via=target.jump.alias if target.jump is not None else None,
        expected_gpus=expected_gpus,
        login_shell=login_shell,
    )


def _build_request(
    options: dict[str, typing.Any], specs: dict[str, ProbeSpec], warn: typing.Callable[[str], None]
) -> tuple[AuditRequest, list[str]]:
    """The engine request from the (stored) options; also the extra known_hosts files."""
    from dataclasses import replace

    from ..engine.audit import AuditRequest, HostSpec
    from ..errors import UsageError
    from ..transport.ssh import load_ssh_config, parse_destination, resolve_target

    selected = _selection(specs, options)
    cli_params = _cli_params(specs, options.get("params") or [])
    mode = options["mode"]
    login_shell = bool(options.get("login_shell"))
    known: list[str] = list(options.get("known_hosts") or [])
    common: dict[str, typing.Any] = {
        "specs": specs,
        "selected": selected,
        "cli_params": cli_params,
        "concurrency": int(options.get("concurrency") or 16),
        "max_nodes": options.get("max_nodes"),
        "options": options,
        "provider": options.get("provider"),
    }
    if mode == "local":
        import socket

        name = socket.gethostname()
        login = HostSpec(name=name, role="local", address=None)
        req = AuditRequest(cluster=options.get("cluster") or name, login=login, single=True, **common)
        return req, known
    try:
        cfg = load_ssh_config(options.get("ssh_config"))
    except OSError as err:
        raise UsageError(f"cannot read the ssh_config {options.get('ssh_config')}: {err}") from err

    def discovered_maker(
        login_target: typing.Any, defaults: typing.Any
    ) -> typing.Callable[[str, str | None], HostSpec]:
        def make(name: str, address: str | None) -> HostSpec:
            entry = cfg.lookup(name)
            says = entry.get("hostname", name) != name or "proxyjump" in entry
            if says:  # the ssh_config knows how to reach this node: do as OpenSSH would
                target = resolve_target(
                    name, cfg, user=defaults.user if defaults else None,
                    identity_file=defaults.identity_file if defaults else None,
                )  # fmt: skip
            else:
                jump = login_target
                if defaults is not None and defaults.proxy_jump:
                    jump = resolve_target(defaults.proxy_jump, cfg)
                target = resolve_target(address or name, cfg, port=defaults.port if defaults else None)
                target = replace(
                    target,
                    alias=name,
                    user=(defaults.user if defaults else None) or entry.get("user") or login_target.user,
                    identity_files=target.identity_files
                    or ((defaults.identity_file,) if defaults and defaults.identity_file else ())
                    or login_target.identity_files,
                    jump=jump,
                )
            gpus = defaults.expected_gpus if defaults is not None else None
            return _ssh_host(name, "compute", target, gpus, login_shell)

        return make

    if mode == "targets":
        targets: list[str] = options.get("targets") or []
        ident = options.get("identity_file")
        resolved = []
        for dest in targets:
            try:
                parse_destination(dest)
                resolved.append(resolve_target(dest, cfg, identity_file=ident))
            except ValueError as err:
                raise UsageError(f"bad destination {dest!r}: {err}", hint="use [user@]host[:port]") from err
        login_t = resolved[0]
        login = _ssh_host(login_t.alias, "login", login_t, None, login_shell)
        compute = [_ssh_host(t.alias, "compute", t, None, login_shell) for t in resolved[1:]] or None
        req = AuditRequest(
            cluster=options.get("cluster") or login_t.alias,
            login=login,
            compute=compute,
            make_node=discovered_maker(login_t, None),
            single=len(resolved) == 1,
            **common,
        )
        return req, known
    from ..inventory import load_inventory

    loaded = load_inventory(options["inventory"], specs)
    for text in loaded.warnings:
        warn(text)
    inv = loaded.inventory
    known = [*inv.known_hosts, *known]
    d = inv.defaults

    def inv_target(h: typing.Any) -> typing.Any:
        entry = cfg.lookup(h.destination)
        target = resolve_target(
            h.destination, cfg, user=h.user, port=h.port or (None if "port" in entry else d.port),
            identity_file=h.identity_file, proxy_jump=h.proxy_jump or d.proxy_jump,
        )  # fmt: skip
        return replace(
            target,
            alias=h.name,
            user=target.user or d.user,
            identity_files=target.identity_files or ((d.identity_file,) if d.identity_file else ()),
        )

    login_entry = inv.login_host()
    login_t = inv_target(login_entry)
    login = _ssh_host(
        login_entry.name, "login", login_t, login_entry.expected_gpus, login_shell or d.login_shell
    )
    compute_hosts: list[HostSpec] | None = None
    if isinstance(inv.compute, list):
        compute_hosts = [
            _ssh_host(h.name, "compute", inv_target(h), h.expected_gpus if h.expected_gpus is not None
                      else d.expected_gpus, login_shell or d.login_shell)
            for h in inv.compute
        ]  # fmt: skip
    profile = inv.profile.model_dump(exclude_none=True) if inv.profile else None
    req = AuditRequest(
        cluster=options.get("cluster") or inv.cluster,
        login=login,
        compute=compute_hosts,
        make_node=discovered_maker(login_t, d),
        single=False,
        inventory_params=inv.probes,
        platform=inv.platform,
        profile_override=profile or None,
        **{
            **common,
            "max_nodes": options.get("max_nodes") or inv.max_nodes,
            "provider": options.get("provider") or inv.provider,
        },
    )
    return req, known


def _run_audit(
    options: dict[str, typing.Any],
    out_dir: Path,
    *,
    previous: Bundle | None,
    quiet: bool,
    command_line: str | None,
) -> None:
    import contextlib
    import platform as _platform
    import signal
    import socket
    import sys
    import threading

    from .. import __version__
    from ..engine.audit import Audit
    from ..engine.progress import PlainEvents, RichEvents
    from ..errors import EXIT_INTERRUPTED, EXIT_UNREACHABLE
    from ..models import Origin
    from ..transport.base import Transport
    from ..transport.local import LocalTransport
    from ..transport.ssh import SSHConnector

    def warn(text: str) -> None:
        typer.echo(text, err=True)

    specs = _load_specs()
    request, known = _build_request(options, specs, warn)
    if options.get("rubric"):
        from ..scoring import load_rubric

        load_rubric(options["rubric"])  # a bad rubric fails now, not after the audit
    request.origin = Origin(
        tool_version=__version__,
        python=_platform.python_version(),
        platform=sys.platform,
        run_from=socket.gethostname(),
        command=command_line,
    )
    connector = SSHConnector(
        known_hosts_files=list(known),
        accept_new=bool(options.get("accept_new_host_keys")),
        connect_timeout_s=float(options.get("connect_timeout_s") or 15.0),
    )

    def connect(host: HostSpec) -> Transport:
        if host.target is None:
            return LocalTransport(host.name)
        return connector.connect(host.target, name=host.name)

    out_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    interrupts = 0

    def on_signal(signum: int, _frame: typing.Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1 and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        typer.echo(
            f"clustermax: {signal.Signals(signum).name}: stopping; running probes are cleaning up "
            "(Ctrl-C again to abort at once)",
            err=True,
        )

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    use_rich = not quiet and sys.stderr.isatty()
    events: typing.Any = RichEvents() if use_rich else PlainEvents(quiet=quiet)
    if not quiet:
        typer.echo(f"clustermax: auditing {request.cluster}; writing to {out_dir}", err=True)
    try:
        with events if use_rich else contextlib.nullcontext():
            engine = Audit(request, connect, out_dir, stop=stop, events=events, previous=previous)
            bundle = engine.run()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        connector.close_all()
    bundle, score, reports, score_note = _score_and_report(bundle, out_dir, options.get("rubric"))
    _print_summary(bundle, score, out_dir, reports, score_note)
    if stop.is_set():
        typer.echo(
            f"clustermax: interrupted; partial bundle in {out_dir}. "
            f"Finish it with: clustermax audit --resume {out_dir}",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not engine.reached_any():
        typer.echo("clustermax: no host could be reached (see the per-host errors above)", err=True)
        raise typer.Exit(EXIT_UNREACHABLE)


def _score_and_report(
    bundle: Bundle, out_dir: Path, rubric_path: str | None
) -> tuple[Bundle, typing.Any, list[Path], str | None]:
    """Score with the rubric, record it in the bundle, write report.md/report.html next to it."""
    from ..bundle.io import write_bundle
    from ..reports import write_audit_reports
    from ..scoring import load_rubric, rubric_ref, score_bundle

    rubric = load_rubric(rubric_path)
    bundle = bundle.model_copy(update={"rubric": rubric_ref(rubric)})
    write_bundle(bundle, out_dir)
    score = score_bundle(bundle, rubric)
    return bundle, score, write_audit_reports(bundle, score, out_dir), None


def _print_summary(
    bundle: Bundle, score: typing.Any, out_dir: Path, reports: list[Path], note: str | None
) -> None:
    from collections import Counter

    from ..models import ProbeStatus

    echo = typer.echo
    reached = sum(1 for h in bundle.hosts if h.state == "ok")
    echo(
        f"clustermax audit of {bundle.target.cluster} (platform {bundle.target.platform}): "
        f"{len(bundle.hosts)} host(s), {reached} reached" + ("" if bundle.complete else "; INCOMPLETE")
    )
    if score is not None:
        echo(
            f"Tier: {score.tier.value.upper()}  score {score.score:.1f}/100  "
            f"coverage {score.coverage * 100:.0f}%  (rubric {score.rubric.id} {score.rubric.version})"
        )
    if note:
        echo(note)
    echo("Hosts:")
    width = max([len(h.name) for h in bundle.hosts] + [4])
    for h in bundle.hosts:
        detail = h.address or ""
        if h.via:
            detail += f" via {h.via}"
        if h.state != "ok" and h.error:
            detail = h.error
        echo(f"  {h.name:<{width}}  {h.role:<8} {h.state:<12} {detail}".rstrip())
    statuses = [s.value for s in ProbeStatus]
    per_probe: dict[str, Counter[str]] = {}
    for r in bundle.results:
        per_probe.setdefault(r.probe_id, Counter())[r.status.value] += 1
    if per_probe:
        pw = max(len(p) for p in per_probe)
        echo(f"{'Probes:':<{pw + 2}}" + "".join(f"{s:>9}" for s in statuses))
        for pid, counts in per_probe.items():
            echo(f"  {pid:<{pw}}" + "".join(f"{counts.get(s, 0):>9}" for s in statuses))
    problems = [r for r in bundle.results if r.status in (ProbeStatus.FAILED, ProbeStatus.ERROR)]
    if problems:
        echo("Problems:")
        for r in problems[:20]:
            sub = f"/{r.substatus.value}" if r.substatus else ""
            echo(f"  {r.host} {r.probe_id}: {r.status.value}{sub}: {r.message}")
        if len(problems) > 20:
            echo(f"  ... and {len(problems) - 20} more (see the bundle)")
    echo(f"Bundle: {out_dir / 'bundle.json'}")
    if reports:
        echo("Reports: " + ", ".join(str(p) for p in reports))
