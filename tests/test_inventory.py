"""The inventory loader: shipped examples, shorthands, relative paths, warnings, file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from clustermax.errors import ConfigError
from clustermax.inventory import load_inventory
from clustermax.probes.specs import load_probe_specs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["inventory.slurm.yaml", "inventory.bare.yaml", "inventory.kubernetes.yaml"])
def test_shipped_examples_load_cleanly(name: str) -> None:
    loaded = load_inventory(EXAMPLES / name, load_probe_specs())
    assert loaded.warnings == []
    assert loaded.inventory.cluster


def test_slurm_example_values() -> None:
    inv = load_inventory(EXAMPLES / "inventory.slurm.yaml", load_probe_specs()).inventory
    assert inv.compute == "discover" and inv.max_nodes == 16
    assert inv.login is not None and inv.login.user == "ubuntu"
    assert inv.probes == {"gpu_health": {"dcgm_level": 2}}
    assert inv.profile is not None and inv.profile.nic_rate_gbps == 400
    assert inv.defaults.expected_gpus == 8


def test_bare_example_hosts_and_shorthand() -> None:
    inv = load_inventory(EXAMPLES / "inventory.bare.yaml").inventory
    assert isinstance(inv.compute, list)
    assert [h.name for h in inv.compute] == ["gpu-a", "gpu-b", "gpu-c", "192.0.2.24"]
    assert (inv.compute[2].port, inv.compute[2].user) == (2222, "admin")
    assert (inv.compute[3].user, inv.compute[3].host) == ("ops", "192.0.2.24")
    assert inv.login_host().name == "gpu-a"  # no login: the first host plays it
    assert inv.platform == "bare"
    assert inv.defaults.identity_file == str(Path("~/.ssh/lab_ed25519").expanduser())


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    f = tmp_path / "sub" / "inv.yaml"
    f.write_text("cluster: c\nlogin: {host: a, identity_file: keys/id}\nknown_hosts: kh\n")
    inv = load_inventory(f).inventory
    assert inv.login is not None and inv.login.identity_file == str(tmp_path / "sub" / "keys" / "id")
    assert inv.known_hosts == [str(tmp_path / "sub" / "kh")]


def test_unknown_keys_probes_and_params_warn_with_lines(tmp_path: Path) -> None:
    f = tmp_path / "inv.yaml"
    f.write_text(
        "cluster: c\n"
        "login:\n  host: a\n  colour: red\n"
        "probes:\n  nosuch: {x: 1}\n  gpu_health:\n    dcgm_levle: 2\n    dcgm_level: 0\n"
        "shoe_size: 9\n"
    )
    specs = load_probe_specs()
    known = ", ".join(sorted(specs["gpu_health"].params))
    loaded = load_inventory(f, specs)
    assert loaded.warnings == [
        f"{f}:4: warning: unknown key 'login.colour' ignored",
        f"{f}:6: warning: unknown probe 'nosuch' ignored (see `clustermax probes list`)",
        f"{f}:8: warning: probe gpu_health has no parameter 'dcgm_levle' (known: {known}); ignored",
        f"{f}:10: warning: unknown key 'shoe_size' ignored",
    ]
    assert loaded.inventory.probes == {"gpu_health": {"dcgm_level": 0}}


def test_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "inv.yaml"
    f.write_text("cluster: c\nlogin: a\ndefaults:\n  port: 70000\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(f)
    assert info.value.line == 4 and "defaults.port" in info.value.message
    f.write_text("cluster: c\nlogin: 'u@h:notaport'\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(f)
    assert info.value.line == 2 and "bad port" in info.value.message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the inventory"):
        load_inventory(tmp_path / "nope.yaml")
