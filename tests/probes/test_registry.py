"""One home per probe: every probe folder has its module, registered under its id, and the registry holds
nothing else; every module of clustermax/probes is a probe or one of the stage's support modules."""

from __future__ import annotations

from pathlib import Path

import clustermax.probes
from clustermax.probes.registry import PROBES, file_kinds, probe_module
from clustermax.probes.specs import load_probe_specs

SUPPORT = {"__init__", "base", "evidence", "registry", "specs", "result", "derive", "plausibility"}
"""Modules of the parse stage that are not a probe (a probe id may not take these names)."""


def test_every_probe_folder_has_its_module_under_its_id() -> None:
    specs = load_probe_specs()
    assert set(specs) == set(PROBES)
    for probe_id, spec in specs.items():
        assert spec.parser == probe_id
        module = probe_module(probe_id)
        assert module.__name__ == f"clustermax.probes.{probe_id}"  # type: ignore[attr-defined]


def test_the_package_holds_probe_modules_and_support_modules_only() -> None:
    folder = Path(clustermax.probes.__file__).parent
    names = {p.stem for p in folder.glob("*.py")}
    assert names - SUPPORT == set(PROBES)
    assert not SUPPORT & set(load_probe_specs())


def test_a_parser_kind_belongs_to_one_probe() -> None:
    kinds = file_kinds()
    assert {probe for probe, _ in kinds.values()} == {
        "gpu_health",
        "fabric",
        "nccl_allreduce",
        "slurm",
        "kubernetes",
    }
    for probe_id, entry in kinds.values():
        assert entry in PROBES[probe_id].FILES
