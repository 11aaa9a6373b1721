"""Extra probe files travel inside the stdin stream and reach the script unchanged, quoted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from clustermax.errors import ConfigError
from clustermax.probes.specs import load_probe_spec, probe_script

ROOT = Path(__file__).resolve().parents[2] / "probes"


def _probe(tmp_path: Path, files: str, script: str) -> Path:
    base = tmp_path / "probes"
    shutil.copytree(ROOT / "_lib", base / "_lib")
    folder = base / "system_info"  # a registered parser name, so the spec loads
    folder.mkdir()
    (folder / "run.sh").write_text(script)
    (folder / "probe.yaml").write_text(
        "id: system_info\ntitle: t\ndescription: d\ncategory: system\nscope: host\ntimeout_s: 10\n"
        f"parser: system_info\nfiles: {files}\nmetrics: []\n"
    )
    return folder


def test_files_reach_the_script_byte_for_byte_and_unexpanded(tmp_path: Path) -> None:
    show = 'cat "$CMX_FILES/data.txt"; printf "|"; cat "$CMX_FILES/tool.py"\n'
    folder = _probe(tmp_path, "[data.txt, tool.py]", show)
    (folder / "data.txt").write_text("$HOME `id` $(touch /tmp/cmx-never) 'q' \"d\"\nEOF\n")
    (folder / "tool.py").write_text("print('no final newline')")
    spec = load_probe_spec(folder)
    text = probe_script(spec, folder.parent)
    proc = subprocess.run(["bash", "-s"], input=text, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "$HOME `id` $(touch /tmp/cmx-never) 'q' \"d\"\nEOF\n|print('no final newline')\n"
    assert not Path("/tmp/cmx-never").exists()


@pytest.mark.parametrize("name", ["missing.txt", "../run.sh", "sub/dir.txt"])
def test_a_bad_file_entry_is_a_config_error(tmp_path: Path, name: str) -> None:
    folder = _probe(tmp_path, f"['{name}']", "true\n")
    with pytest.raises(ConfigError, match="plain file names only"):
        load_probe_spec(folder)
