"""`clustermax audit`: audit a cluster (or this machine), write the bundle, score it, write the reports.

Only typer and the standard library are imported at module level (``clustermax --help`` stays fast);
the engine, paramiko, pydantic models and rich are imported inside the commands.
"""

from __future__ import annotations

import typing
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ._help import command
from .probes import _load_specs
from .score import TierName

if typing.TYPE_CHECKING:
    from ..engine.audit import AuditRequest, HostSpec
    from ..models import Bundle, ProbeSpec
    from ..safeio import DirLock
    from ..transport.base import Transport
    from ..transport.ssh import SSHConnector


def register(app: typer.Typer) -> None:
    """Add `audit` to the app."""
    command(
        app,
        "audit",
        summary="Audit a cluster or this machine: bundle, score, reports, verdict.",
        examples=(
            "clustermax audit --local",
            "clustermax audit ubuntu@login.example.com:2222",
            "clustermax audit login1 --max-nodes 8 --out audit1",
            "clustermax audit --inventory cluster.yaml --fail-under silver --github-summary",
            "clustermax audit login1 --probes gpu_health,nccl_allreduce -p nccl_allreduce.iters=50",
            "clustermax audit --resume clustermax-audit-20261126-154500 login1",
        ),
    )(audit)


class AuditFormat(str, Enum):
    text = "text"
    json = "json"


class ReachName(str, Enum):
    auto = "auto"
    ssh = "ssh"
    scheduler = "scheduler"


_SLURM = "Scheduler reach (Slurm)"


def audit(
    destinations: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="HOST",
            help="Host(s) to audit over SSH, as [USER@]HOST[:PORT] (ssh_config aliases work).",
            show_default=False,
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Audit this machine (no SSH, no cluster needed).")
    ] = False,
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-I", metavar="FILE", help="Inventory YAML file.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Output directory (default: ./clustermax-audit-YYYYmmdd-HHMMSS).",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="DIR",
            help="Finish the interrupted audit in DIR, rebuilt from its journal (re-runs what is missing "
            "or failed to connect). Name what it audited again (the same USER@HOST..., --inventory FILE or "
            "--local) and give again the trust options it needs (--ssh-config, --known-hosts, "
            "--identity-file, --accept-new-host-keys): those are never taken from the directory.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Write into an --out directory that is not empty (never one that holds an audit)."
        ),
    ] = False,
    probes: Annotated[
        str | None,
        typer.Option("--probes", metavar="IDS", help="Run only these probes (comma-separated ids)."),
    ] = None,
    skip_probes: Annotated[
        str | None,
        typer.Option("--skip-probes", metavar="IDS", help="Do not run these probes (comma-separated ids)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", metavar="PROBE.KEY=VALUE", help="Probe parameter (overrides the inventory)."
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", metavar="N", min=1, help="Hosts audited at once.")
    ] = 16,
    max_nodes: Annotated[
        int | None, typer.Option("--max-nodes", metavar="N", min=1, help="Audit at most N compute nodes.")
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
        typer.Option(
            "--ssh-config",
            "-F",
            metavar="FILE",
            help="ssh_config to resolve hosts with (default: ~/.ssh/config).",
        ),
    ] = None,
    identity_file: Annotated[
        Path | None,
        typer.Option(
            "--identity-file",
            "-i",
            metavar="FILE",
            help="Private key for the hosts given on the command line.",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", metavar="NAME", help="Cluster name (default: inventory or host)."),
    ] = None,
    provider: Annotated[str | None, typer.Option("--provider", metavar="NAME", help="Provider name.")] = None,
    rubric: Annotated[
        Path | None, typer.Option("--rubric", metavar="FILE", help="Rubric to score with (default: shipped).")
    ] = None,
    versions: Annotated[
        Path | None,
        typer.Option(
            "--versions",
            metavar="FILE",
            help="Minimum-versions table to judge version floors with (default: the one the rubric names, "
            "else the shipped one). Never fetched: give a newer file.",
        ),
    ] = None,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", metavar="SECONDS", min=1, help="SSH connect timeout (s).")
    ] = 15.0,
    login_shell: Annotated[
        bool, typer.Option("--login-shell", help="Run probe scripts with bash -l.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress output (the summary still prints).")
    ] = False,
    fail_under: Annotated[
        TierName | None,
        typer.Option(
            "--fail-under",
            metavar="TIER",
            help="Exit 1 unless the audit is rated with its floor at or above this tier (as `clustermax "
            "score --fail-under`: the tier must be proven; a not-rated audit fails).",
        ),
    ] = None,
    fmt: Annotated[
        AuditFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: the verdict and summary on stdout. json: the score JSON (as `clustermax score "
            "--format json`) on stdout, the summary and progress on stderr.",
        ),
    ] = AuditFormat.text,
    reach: Annotated[
        ReachName | None,
        typer.Option(
            "--reach",
            help="How node probes reach the compute nodes: auto (SSH where a node accepts it, the scheduler "
            "where it does not), ssh, or scheduler (all node probes as one srun step, one task per node). "
            "Default: the inventory's defaults.reach, else auto.",
            rich_help_panel=_SLURM,
        ),
    ] = None,
    partition: Annotated[
        str | None, typer.Option("--partition", help="Slurm partition of the step.", rich_help_panel=_SLURM)
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Slurm account of the step.", rich_help_panel=_SLURM)
    ] = None,
    qos: Annotated[
        str | None, typer.Option("--qos", help="Slurm QOS of the step.", rich_help_panel=_SLURM)
    ] = None,
    reservation: Annotated[
        str | None, typer.Option("--reservation", help="Slurm reservation to run in.", rich_help_panel=_SLURM)
    ] = None,
    exclusive: Annotated[
        bool,
        typer.Option("--exclusive", help="Ask for whole nodes (srun --exclusive).", rich_help_panel=_SLURM),
    ] = False,
    time_min: Annotated[
        int | None,
        typer.Option(
            "--time",
            min=1,
            metavar="MINUTES",
            help="Time limit of the step (default: what the probes' timeouts need).",
            rich_help_panel=_SLURM,
        ),
    ] = None,
    gpus_per_node: Annotated[
        int | None,
        typer.Option(
            "--gpus-per-node",
            min=0,
            help="GPUs to request on each node (default: all of the node's GPUs, so nvidia-smi sees them).",
            rich_help_panel=_SLURM,
        ),
    ] = None,
    immediate: Annotated[
        int,
        typer.Option(
            "--immediate",
            min=1,
            metavar="SECONDS",
            help="Wait at most this long for the allocation (srun --immediate); nodes not allocated are "
            "recorded as not run, never as failed.",
            rich_help_panel=_SLURM,
        ),
    ] = 60,
    plan: Annotated[
        bool,
        typer.Option(
            "--plan",
            help="Discover the cluster (read-only login-node probes), then print every command, script "
            "digest and srun spec the audit would run, where and through what, and stop: nothing runs on "
            "the compute nodes. With --format json, the plan as JSON.",
        ),
    ] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Store the finished audit in the history database.")
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", metavar="DB", envvar="CLUSTERMAX_DB", help="History database (see `clustermax history`)."
        ),
    ] = None,
    node_pods: Annotated[
        bool,
        typer.Option(
            "--node-pods",
            help="On Kubernetes, run the node probes in one pod per GPU node (through the login node's "
            "kubectl; every pod is deleted), not over SSH. Also `kubernetes.node_pods` in the inventory.",
        ),
    ] = False,
    pod_image: Annotated[
        str | None,
        typer.Option("--pod-image", metavar="IMAGE", help="Image of the node pods (recorded in the bundle)."),
    ] = None,
    pod_namespace: Annotated[
        str | None, typer.Option("--pod-namespace", metavar="NS", help="Namespace of the node pods.")
    ] = None,
    github_summary: Annotated[
        bool,
        typer.Option(
            "--github-summary",
            help="Also append the audit's Markdown report (report.md) to the GitHub Actions step summary "
            "(the file $GITHUB_STEP_SUMMARY names).",
        ),
    ] = False,
) -> None:
    """Audit a cluster (or this machine), write a result bundle, a score and reports, and print the
    verdict: the tier the evidence decides (or not rated), its range, why, and what would lift it."""
    import shlex
    import sys

    from ..errors import UsageError

    given = [bool(destinations), local, inventory is not None]
    if sum(given) != 1:
        if resume is not None:
            raise UsageError(
                "--resume needs what the audit audited, again: the same USER@HOST..., --inventory FILE "
                "or --local",
                hint="options that widen trust (targets, ssh_config, known_hosts, keys, accepting new host "
                "keys) come only from the command line that resumes, never from the audit directory",
            )
        raise UsageError(
            "say what to audit: one of USER@HOST, --local, --inventory FILE or --resume DIR",
            hint="clustermax audit --local audits this machine",
        )
    from ..safeio import MAX_KNOWN_HOSTS_BYTES, MAX_SSH_FILE_BYTES, check_regular_file

    if identity_file is not None:
        check_regular_file(identity_file.expanduser(), what="identity file (-i)", limit=MAX_SSH_FILE_BYTES)
    for kh in known_hosts or []:
        check_regular_file(kh.expanduser(), what="known_hosts file", limit=MAX_KNOWN_HOSTS_BYTES)
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
        "known_hosts": [str(p.expanduser().resolve()) for p in known_hosts or []],
        "ssh_config": str(ssh_config.expanduser().resolve()) if ssh_config else None,
        "identity_file": str(identity_file.expanduser().resolve()) if identity_file else None,
        "cluster": cluster,
        "provider": provider,
        "rubric": str(rubric.resolve()) if rubric else None,
        "versions": str(versions.resolve()) if versions else None,
        "connect_timeout_s": connect_timeout,
        "login_shell": login_shell,
        "node_pods": node_pods,
        "pod_image": pod_image,
        "pod_namespace": pod_namespace,
        "reach": reach.value if reach is not None else None,
        "partition": partition,
        "account": account,
        "qos": qos,
        "reservation": reservation,
        "exclusive": exclusive,
        "time_min": time_min,
        "gpus_per_node": gpus_per_node,
        "immediate_s": immediate,
    }
    if resume is not None:
        if out is not None:
            raise UsageError("--resume writes into its own directory; drop --out")
        if force:
            raise UsageError("--resume finishes the audit in its directory; drop --force")
        fixed = {"--probes": probes, "--skip-probes": skip_probes, "--param": param, "--max-nodes": max_nodes,
                 "--cluster": cluster, "--provider": provider, "--reach": reach, "--partition": partition,
                 "--account": account, "--qos": qos, "--reservation": reservation, "--exclusive": exclusive,
                 "--time": time_min, "--gpus-per-node": gpus_per_node, "--plan": plan}  # fmt: skip
        changed = [name for name, value in fixed.items() if value]
        if changed or login_shell:
            raise UsageError(
                f"{', '.join(changed or ['--login-shell'])}: an audit is finished as it was started",
                hint="drop these options (the audit's own are used), or start a new audit",
            )
        _resume(
            resume, options, quiet=quiet, history=(db,) if history else None, github_summary=github_summary
        )
        return
    if plan:
        if out is not None or force:
            raise UsageError("--plan writes nothing; drop --out / --force")
        _plan(options, fmt)
        return
    command_line = "clustermax " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out_dir = out or _default_out_dir()
    _run_audit(
        options,
        out_dir,
        previous=None,
        quiet=quiet,
        command_line=command_line,
        force=force,
        fail_under=fail_under,
        fmt=fmt,
        history=(db,) if history else None,
        github_summary=github_summary,
    )


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _default_out_dir() -> Path:
    import time

    return Path.cwd() / time.strftime("clustermax-audit-%Y%m%d-%H%M%S")


def _prepare_out_dir(out_dir: Path, *, force: bool) -> DirLock:
    """Create and lock ``out_dir`` for a new audit; refuse a link, an audit, or (without --force) any
    non-empty directory. The lock is held until the audit is written; a second audit fails at once."""
    import os

    from ..bundle.io import BUNDLE_FILE as BUNDLE
    from ..engine.journal import JOURNAL
    from ..errors import OutputError, UsageError
    from ..safeio import LOCK_NAME, DirLock, write_error
    from ..sanitize import term

    if out_dir.is_symlink():
        raise OutputError(
            f"--out {out_dir} is a symbolic link; clustermax does not write through links",
            hint="give the directory itself",
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out {out_dir} exists and is not a directory", hint="choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(out_dir, err, "audit directory") from err
    lock = DirLock(out_dir).acquire()
    try:
        try:
            entries = sorted(e for e in os.listdir(out_dir) if e != LOCK_NAME)
        except OSError as err:
            raise write_error(out_dir, err, "audit directory") from err
        if BUNDLE in entries or JOURNAL in entries:
            raise UsageError(
                f"{out_dir} already holds an audit",
                hint=f"finish it with clustermax audit --resume {out_dir} (naming what it audited), "
                "or choose another --out",
            )
        if entries and not force:
            shown = ", ".join(term(e, 60) for e in entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise UsageError(
                f"--out {out_dir} is not empty ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: "
                f"{shown}); an audit goes into a new or empty directory",
                hint="choose another --out, or add --force to write into this one",
            )
    except BaseException:
        lock.release()
        raise
    return lock


def _resume(
    directory: Path,
    cli: dict[str, typing.Any],
    *,
    quiet: bool,
    fail_under: TierName | None = None,
    fmt: AuditFormat = AuditFormat.text,
    history: tuple[str | None] | None = None,
    github_summary: bool = False,
) -> None:
    """Finish the audit in ``directory``, rebuilt from its journal (bundle.json is never read).

    The journal's start record says what the audit was; what it audited must be named again on the
    command line (and must be the same), and every option that widens trust comes from that command line.
    """
    from pydantic import ValidationError

    from ..audit_options import TRUST_OPTIONS, StoredOptions
    from ..engine.journal import JOURNAL, read_journal
    from ..errors import ConfigError, UsageError
    from ..models import Bundle
    from ..safeio import DirLock
    from ..sanitize import term

    if directory.is_symlink() or not directory.is_dir():
        raise UsageError(f"{directory} is not an audit directory", hint="give the directory the audit wrote")
    lock = DirLock(directory).acquire()
    try:
        journal = directory / JOURNAL
        state = read_journal(directory)
        if state.start is None:
            raise UsageError(f"{directory} holds no audit to resume (no readable {JOURNAL})")
        try:
            skeleton = Bundle.model_validate(state.start)
            stored = StoredOptions.model_validate(skeleton.options)
        except ValidationError as err:
            first = err.errors()[0]
            where = "options." if err.title == "StoredOptions" else ""
            loc = where + ".".join(str(x) for x in first["loc"])
            raise ConfigError(
                journal, None, f"the audit's start record is not valid: {loc}: {first['msg']}",
                hint="the journal is damaged or was not written by clustermax",
            ) from err  # fmt: skip
        if skeleton.kind != "audit":
            raise UsageError(f"{journal} is not the journal of an audit")
        same = stored.mode == cli["mode"] and (
            (stored.mode == "targets" and stored.targets == cli["targets"])
            or (stored.mode == "inventory" and stored.inventory == cli["inventory"])
            or stored.mode == "local"
        )
        if not same:
            recorded = {"targets": " ".join(stored.targets), "inventory": f"--inventory {stored.inventory}",
                        "local": "--local"}[stored.mode]  # fmt: skip
            raise UsageError(
                f"{directory} is an audit of {term(recorded, 200)}; name the same to resume it",
                hint="a resumed audit must audit what it started with (or start a new audit)",
            )
        options = stored.model_dump()
        options.update({key: cli[key] for key in ("targets", "inventory", *TRUST_OPTIONS)})
        if cli["concurrency"] != 16:
            options["concurrency"] = cli["concurrency"]
        if cli["connect_timeout_s"] != 15.0:
            options["connect_timeout_s"] = cli["connect_timeout_s"]
        if state.skipped:
            typer.echo(f"warning: {state.skipped} line(s) of {journal} could not be read; what they held "
                       "is run again", err=True)  # fmt: skip
        previous = skeleton.model_copy(
            update={"hosts": state.hosts, "commands": state.commands, "results": state.results,
                    "steps": state.steps, "complete": False}
        )  # fmt: skip
        _run_audit(
            options,
            directory,
            previous=previous,
            quiet=quiet,
            command_line=previous.origin.command,
            fail_under=fail_under,
            fmt=fmt,
            history=history,
            github_summary=github_summary,
        )
    finally:
        lock.release()


def _selection(specs: dict[str, ProbeSpec], options: dict[str, typing.Any]) -> list[str]:
    from ..errors import UsageError

    known = ", ".join(sorted(specs))
    chosen: list[str] = options.get("probes") or [p for p, s in specs.items() if s.default]
    skip: list[str] = options.get("skip_probes") or []
    for pid in [*chosen, *skip]:
        if pid not in specs:
            from ._help import did_you_mean

            raise UsageError(
                f"unknown probe {pid!r}", hint=did_you_mean(pid, list(specs), f"known probes: {known}")
            )
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
            from ._help import did_you_mean

            raise UsageError(
                f"--param {item!r}: unknown probe {probe_id!r}",
                hint=did_you_mean(probe_id, list(specs), f"known: {', '.join(sorted(specs))}"),
            )
        if name not in spec.params:
            from ._help import did_you_mean

            known = ", ".join(sorted(spec.params)) or "none"
            raise UsageError(
                f"--param {item!r}: probe {probe_id} has no parameter {name!r}",
                hint=did_you_mean(name, list(spec.params), f"known: {known}"),
            )
        try:
            out.setdefault(probe_id, {})[name] = coerce_param(spec.params[name], value, from_text=True)
        except ValueError as err:
            raise UsageError(f"--param {item!r}: {err}", hint=spec.params[name].description) from err
    return out


def _step_options(options: dict[str, typing.Any]) -> typing.Any:
    """The srun options of the scheduler reach, from the audit's options."""
    from ..engine.slurm_step import DEFAULT_IMMEDIATE_S, StepOptions

    return StepOptions(
        partition=options.get("partition"),
        account=options.get("account"),
        qos=options.get("qos"),
        reservation=options.get("reservation"),
        exclusive=bool(options.get("exclusive")),
        time_min=options.get("time_min"),
        gpus_per_node=options.get("gpus_per_node"),
        immediate_s=int(options.get("immediate_s") or DEFAULT_IMMEDIATE_S),
    )


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


def _pod_options(options: dict[str, typing.Any], inv: typing.Any) -> typing.Any:
    """The node pods' settings (``--node-pods``, ``--pod-image``, ``--pod-namespace``, the inventory's
    ``kubernetes:``), or None when the nodes are reached over SSH."""
    from ..engine.kube_pods import DEFAULT_IMAGE, PodOptions
    from ..errors import UsageError

    if not (options.get("node_pods") or (inv is not None and inv.node_pods)):
        if options.get("pod_image") or options.get("pod_namespace"):
            raise UsageError(
                "--pod-image and --pod-namespace set up node pods, which are off",
                hint="add --node-pods (or kubernetes.node_pods: true in the inventory)",
            )
        return None
    try:
        return PodOptions(
            image=options.get("pod_image") or (inv.pod_image if inv is not None else None) or DEFAULT_IMAGE,
            namespace=options.get("pod_namespace")
            or (inv.namespace if inv is not None else None)
            or "default",
            kubeconfig=(inv.kubeconfig if inv is not None else None) or "",
            context=(inv.context if inv is not None else None) or "",
            gpu_resource=(inv.gpu_resource if inv is not None else None) or "nvidia.com/gpu",
        )
    except ValueError as err:
        raise UsageError(str(err), hint="give a Kubernetes name (image, namespace, resource)") from err


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
        "reach": options.get("reach") or "auto",
        "step_options": _step_options(options),
    }
    if mode != "inventory":
        common["pods"] = _pod_options(options, None)
    if mode == "local":
        import socket

        name = socket.gethostname()
        login = HostSpec(name=name, role="local", address=None)
        req = AuditRequest(cluster=options.get("cluster") or name, login=login, single=True, **common)
        return req, known
    cfg = load_ssh_config(options.get("ssh_config"))  # bounded, errors never quote the file

    def discovered_maker(
        login_target: typing.Any, defaults: typing.Any
    ) -> typing.Callable[[str, str | None], HostSpec]:
        d_user = defaults.user if defaults else None
        d_ident = defaults.identity_file if defaults else None

        def make(name: str, address: str | None) -> HostSpec:
            # the engine passes only names and addresses that passed the host-name check
            # (clustermax.hostnames): they may meet a `Match exec` of the ssh_config without harm
            entry = cfg.lookup(name)
            says = entry.get("hostname", name) != name or "proxyjump" in entry
            if says:  # the ssh_config knows how to reach this node: do as OpenSSH would
                target = resolve_target(
                    name, cfg, user=d_user, identity_file=d_ident, hop_user=d_user, hop_identity_file=d_ident
                )  # fmt: skip
            else:
                jump = login_target
                if defaults is not None and defaults.proxy_jump:
                    jump = resolve_target(
                        defaults.proxy_jump, cfg, hop_user=d_user, hop_identity_file=d_ident
                    )
                    jump = replace(
                        jump, user=jump.user or d_user,
                        identity_files=jump.identity_files or ((d_ident,) if d_ident else ()),
                    )  # fmt: skip
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
    loaded.check_files()
    inv = loaded.inventory
    known = [*inv.known_hosts, *known]
    d = inv.defaults

    def inv_target(h: typing.Any) -> typing.Any:
        entry = cfg.lookup(h.destination)
        target = resolve_target(
            h.destination, cfg, user=h.user, port=h.port or (None if "port" in entry else d.port),
            identity_file=h.identity_file, proxy_jump=h.proxy_jump or d.proxy_jump,
            hop_user=d.user, hop_identity_file=d.identity_file,
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
    common["pods"] = _pod_options(options, inv.kubernetes)
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
            "reach": options.get("reach") or d.reach or "auto",
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
    force: bool = False,
    fail_under: TierName | None = None,
    fmt: AuditFormat = AuditFormat.text,
    history: tuple[str | None] | None = None,
    github_summary: bool = False,
) -> None:
    """Check everything the audit needs (nothing is written before that), then run it into ``out_dir``.

    A new audit (``previous`` None) creates and locks ``out_dir`` once the checks passed; a resumed one
    runs under the lock its caller holds."""

    def warn(text: str) -> None:
        from ..sanitize import term

        typer.echo(term(text), err=True)  # warnings quote the inventory's keys and values

    specs = _load_specs()
    request, known = _build_request(options, specs, warn)
    if options.get("rubric") or options.get("versions"):
        from ..scoring import load_rubric

        # a bad rubric fails now, not after the audit
        load_rubric(options.get("rubric"), options.get("versions"))
    if history is not None:
        from .history import open_db

        open_db(history[0], create=True).close()  # a database that cannot be used fails now, too
    if github_summary:
        from ._github import require_step_summary

        require_step_summary()  # fails now, not after the audit
    lock = _prepare_out_dir(out_dir, force=force) if previous is None else None
    try:
        _audit_into(request, known, options, out_dir, previous=previous, quiet=quiet,
                    command_line=command_line, fail_under=fail_under, fmt=fmt, history=history,
                    github_summary=github_summary)  # fmt: skip
    finally:
        if lock is not None:
            lock.release()


def _connector(
    options: dict[str, typing.Any], known: typing.Iterable[str]
) -> tuple[SSHConnector, typing.Callable[[HostSpec], Transport]]:
    """How the engine reaches a host: this machine for a local target, else SSH with the known_hosts
    files and the host-key policy of the command line (close the connector when done)."""
    from ..transport.local import LocalTransport
    from ..transport.ssh import SSHConnector

    connector = SSHConnector(
        known_hosts_files=list(known),
        accept_new=bool(options.get("accept_new_host_keys")),
        connect_timeout_s=float(options.get("connect_timeout_s") or 15.0),
    )

    def connect(host: HostSpec) -> Transport:
        if host.target is None:
            return LocalTransport(host.name)
        return connector.connect(host.target, name=host.name)

    return connector, connect


def _audit_into(
    request: AuditRequest,
    known: list[str],
    options: dict[str, typing.Any],
    out_dir: Path,
    *,
    previous: Bundle | None,
    quiet: bool,
    command_line: str | None,
    fail_under: TierName | None = None,
    fmt: AuditFormat = AuditFormat.text,
    history: tuple[str | None] | None = None,
    github_summary: bool = False,
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
    from ..errors import EXIT_INTERRUPTED, EXIT_UNREACHABLE, OutputError
    from ..models import Origin
    from ..sanitize import term

    request.origin = Origin(
        tool_version=__version__,
        python=_platform.python_version(),
        platform=sys.platform,
        run_from=socket.gethostname(),
        command=command_line,
    )
    connector, connect = _connector(options, known)

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
        typer.echo(f"clustermax: auditing {term(request.cluster)}; writing to {out_dir}", err=True)
    try:
        with events if use_rich else contextlib.nullcontext():
            engine = Audit(request, connect, out_dir, stop=stop, events=events, previous=previous)
            bundle = engine.run()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        connector.close_all()
    resume_hint = _resume_command(options, out_dir)
    if engine.failure is not None:  # a full disk: the journal keeps what was written, nothing else is tried
        raise OutputError(
            f"{engine.failure.message}; the audit stopped",
            hint=f"free some space, then finish it with: {resume_hint}",
        )
    bundle, score, reports, score_note = _score_and_report(
        bundle, out_dir, options.get("rubric"), options.get("versions")
    )
    as_json = fmt is AuditFormat.json
    _print_summary(bundle, score, out_dir, reports, score_note, err=as_json)
    if as_json:
        from ..scoring.render import scores_json

        sys.stdout.write(scores_json([score]))
        sys.stdout.flush()
    if github_summary:
        from ..safeio import read_text
        from ._github import append_step_summary

        markdown = next(p for p in reports if p.name == "report.md")
        append_step_summary(read_text(markdown, what="report", limit=64 * 2**20))
    if stop.is_set():
        typer.echo(
            f"clustermax: interrupted; partial bundle in {out_dir}. Finish it with: {resume_hint}",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not engine.reached_any():
        typer.echo("clustermax: no host could be reached (see the per-host errors above)", err=True)
        raise typer.Exit(EXIT_UNREACHABLE)
    if history is not None:
        from .history import record

        record(history[0], [(out_dir, bundle, score)])
    if fail_under is not None:
        from ..models.score import Tier
        from .score import raise_below

        raise_below([score], Tier(fail_under.value))


def _plan(options: dict[str, typing.Any], fmt: AuditFormat) -> None:
    """Discover (login node only), then print what the audit would run; nothing runs on the nodes."""
    import sys
    import tempfile

    from ..engine.audit import Audit
    from ..engine.plan import make_plan, plan_text
    from ..engine.progress import PlainEvents

    def warn(text: str) -> None:
        from ..sanitize import term

        typer.echo(term(text), err=True)

    request, known = _build_request(options, _load_specs(), warn)
    connector, connect = _connector(options, known)

    try:
        with tempfile.TemporaryDirectory(prefix="clustermax-plan-") as scratch:  # the engine writes nothing
            engine = Audit(request, connect, Path(scratch), events=PlainEvents(quiet=True))
            result = make_plan(engine)
    finally:
        connector.close_all()
    if fmt is AuditFormat.json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        for line in plan_text(result):
            typer.echo(line)


def _resume_command(options: dict[str, typing.Any], out_dir: Path) -> str:
    """The command that finishes this audit: what it audits and the trust options, from this command line."""
    import shlex

    from ..sanitize import term

    parts = ["clustermax", "audit", "--resume", str(out_dir)]
    if options["mode"] == "local":
        parts.append("--local")
    elif options["mode"] == "inventory":
        parts += ["--inventory", str(options["inventory"])]
    else:
        parts += list(options.get("targets") or [])
    if options.get("ssh_config"):
        parts += ["--ssh-config", str(options["ssh_config"])]
    for kh in options.get("known_hosts") or []:
        parts += ["--known-hosts", str(kh)]
    if options.get("identity_file"):
        parts += ["--identity-file", str(options["identity_file"])]
    if options.get("accept_new_host_keys"):
        parts.append("--accept-new-host-keys")
    if options.get("rubric"):
        parts += ["--rubric", str(options["rubric"])]
    if options.get("versions"):
        parts += ["--versions", str(options["versions"])]
    if options.get("node_pods"):
        parts.append("--node-pods")
    if options.get("pod_image"):
        parts += ["--pod-image", str(options["pod_image"])]
    if options.get("pod_namespace"):
        parts += ["--pod-namespace", str(options["pod_namespace"])]
    return term(" ".join(shlex.quote(p) for p in parts))


def _score_and_report(
    bundle: Bundle, out_dir: Path, rubric_path: str | None, versions_path: str | None = None
) -> tuple[Bundle, typing.Any, list[Path], str | None]:
    """Score with the rubric, record it in the bundle, write report.md/report.html next to it."""
    from ..bundle.io import write_bundle
    from ..reports import write_audit_reports
    from ..scoring import load_rubric, rubric_ref, score_bundle

    rubric = load_rubric(rubric_path, versions_path)
    bundle = bundle.model_copy(update={"rubric": rubric_ref(rubric)})
    write_bundle(bundle, out_dir)
    score = score_bundle(bundle, rubric)
    return bundle, score, write_audit_reports(bundle, score, out_dir), None


def _print_summary(
    bundle: Bundle,
    score: typing.Any,
    out_dir: Path,
    reports: list[Path],
    note: str | None,
    *,
    err: bool = False,
) -> None:
    from collections import Counter

    from ..models import ProbeStatus
    from ..sanitize import term

    def echo(text: str) -> None:
        typer.echo(text, err=err)

    reached = sum(1 for h in bundle.hosts if h.state == "ok")
    # every name, address, message and error below came from the cluster (or a bundle): one line each
    echo(
        f"clustermax audit of {term(bundle.target.cluster)} (platform {bundle.target.platform}): "
        f"{len(bundle.hosts)} host(s), {reached} reached" + ("" if bundle.complete else "; INCOMPLETE")
    )
    if score is not None:
        for line in _verdict_lines(score, out_dir):
            echo(line)
    if note:
        echo(term(note))
    echo("Hosts:")
    names = {h.name: term(h.name, 80) for h in bundle.hosts}
    width = max([len(n) for n in names.values()] + [4])
    down: dict[str, str | None] = {}
    for h in bundle.hosts:
        detail = term(h.address or "", 80)
        if h.reach == "scheduler":
            detail = f"through srun, job {term(h.reach_id or '?', 40)}"
        elif h.via:
            detail += f" via {term(h.via, 80)}"
        if h.state != "ok":
            down[h.name] = h.error
            if h.error:
                detail = term(h.error, 400)
        echo(f"  {names[h.name]:<{width}}  {h.role:<8} {h.state:<12} {detail}".rstrip())
    statuses = [s.value for s in ProbeStatus]
    per_probe: dict[str, Counter[str]] = {}
    for r in bundle.results:
        per_probe.setdefault(term(r.probe_id, 60), Counter())[r.status.value] += 1
    if per_probe:
        pw = max(len(p) for p in per_probe)
        echo(f"{'Probes:':<{pw + 2}}" + "".join(f"{s:>9}" for s in statuses))
        for pid, counts in per_probe.items():
            echo(f"  {pid:<{pw}}" + "".join(f"{counts.get(s, 0):>9}" for s in statuses))
    # a probe that could not run because its host could not be reached repeats the host's error: the host
    # line above says it once
    problems = [
        r
        for r in bundle.results
        if r.status in (ProbeStatus.FAILED, ProbeStatus.ERROR)
        and not (r.host in down and r.status == ProbeStatus.ERROR and r.message == down[r.host])
    ]
    not_run = sum(1 for r in bundle.results if r.host in down and r.message == down[r.host])
    if problems or not_run:
        echo("Problems:")
        for r in problems[:20]:
            sub = f"/{r.substatus.value}" if r.substatus else ""
            where = f"{term(r.host, 80)} {term(r.probe_id, 60)}"
            echo(f"  {where}: {r.status.value}{sub}: {term(r.message, 400)}")
        if len(problems) > 20:
            echo(f"  ... and {len(problems) - 20} more (see the bundle)")
        if not_run:
            echo(f"  {not_run} probe run(s) not made on the {len(down)} host(s) that could not be reached")
    for step in bundle.steps:
        queue = {True: "queue clean", False: f"LEFT IN QUEUE: {term(step.left_in_queue, 200)}",
                 None: "queue not checked"}[step.queue_clean]  # fmt: skip
        echo(
            f"Scheduler: job {term(step.job_id or '-', 40)}, {len(step.ran)} of {len(step.nodes)} node(s) "
            f"ran in one srun step, {len(step.not_run)} not run; {queue}"
        )
    echo(f"Bundle: {out_dir / 'bundle.json'}")
    if reports:
        echo("Reports: " + ", ".join(str(p) for p in reports))


def _verdict_lines(score: typing.Any, out_dir: Path) -> list[str]:
    """The tier (or not rated) with its range, the verdict sentence, the three most important reasons and
    the advice headline, as scoring decided them."""
    from ..models.score import TIER_LABEL
    from ..sanitize import term

    word = TIER_LABEL[score.tier].upper() if score.rated and score.tier is not None else "NOT RATED"
    floor, ceiling = TIER_LABEL[score.tier_floor], TIER_LABEL[score.tier_ceiling]
    span = floor if floor == ceiling else f"{floor} to {ceiling}"
    lines = [
        f"Tier: {word}  range {span}  score {score.score:.1f}/100  coverage {score.coverage * 100:.0f}%  "
        f"(rubric {term(score.rubric.id)} {term(score.rubric.version)})",
        f"  {term(score.summary, 1000)}",
    ]
    if score.held_down_by:
        lines.append("  Why:")
        lines += [f"    - {term(s.text, 600)}" for s in score.held_down_by[:3]]
    if score.advice.headline:
        more = f" (all of it: clustermax score --advise {out_dir})" if len(score.advice.actions) > 1 else ""
        unreached = score.not_rated_reason == "no_host_reached"
        first = "First reach the hosts (see Hosts below). " if unreached else ""
        lines.append(f"  {first}{term(score.advice.headline, 600)}{term(more, 400)}")
    return lines
