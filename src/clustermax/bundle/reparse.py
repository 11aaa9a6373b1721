"""Re-derive every probe result of a bundle from its raw command results, with today's parsers.

Pure and offline: ``clustermax score --reparse`` calls it, so a bundle made by an older clustermax is
scored with the current parsers. Connection-level errors (the host was unreachable, refused our key,
...) and results without commands are kept as they were: there is nothing to re-parse.

Commands made by ``clustermax import`` (step ``import:<kind>``) are re-parsed by
:func:`clustermax.bundle.from_files.reparse_import_commands` with all the import commands of the result
(the nccl-tests logs of one import form one result), the bundle's ``target.profile_override`` and every
command of the bundle (an nvidia-smi output's expected GPU count comes from the profile or an imported
``scontrol show node``). Audit commands go through :func:`clustermax.probes.result.result_from_commands`,
the parse step of the audit itself.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..models import Bundle, CommandResult, JSONValue, ProbeResult, ProbeSpec
from ..probes.derive import is_derived, with_derived
from ..probes.result import result_from_commands
from ..probes.specs import load_probe_specs
from .from_files import reparse_import_commands


def reparse_result(
    result: ProbeResult,
    commands: dict[str, CommandResult],
    specs: dict[str, ProbeSpec],
    profile: Mapping[str, JSONValue] | None = None,
) -> ProbeResult:
    """``result`` re-derived from its commands (unchanged when there is nothing to re-parse).

    ``profile``: the bundle's ``target.profile_override`` (an imported result's expected GPU count).
    """
    cmds = [commands[cid] for cid in result.command_ids if cid in commands]
    if not cmds:
        return result
    imports = [c for c in cmds if c.step.startswith("import:")]
    if imports:
        return reparse_import_commands(imports, profile=profile, context=list(commands.values()))
    spec = specs.get(result.probe_id)
    if spec is None:
        return result
    fresh = result_from_commands(spec, result.host, result.params, cmds)
    return fresh.model_copy(update={"started_at": result.started_at, "duration_s": result.duration_s})


def reparse_bundle(bundle: Bundle, specs: dict[str, ProbeSpec] | None = None) -> Bundle:
    """A copy of ``bundle`` whose results are re-derived from its raw commands."""
    if specs is None:
        specs = load_probe_specs() if any(not c.step.startswith("import:") for c in bundle.commands) else {}
    commands = {c.id: c for c in bundle.commands}
    profile = bundle.target.profile_override
    results = [reparse_result(r, commands, specs, profile) for r in bundle.results if not is_derived(r)]
    return bundle.model_copy(update={"results": with_derived(results)})
