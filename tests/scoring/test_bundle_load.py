"""load_bundle: files or directories, schema versions, broken files: a clear ConfigError each time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clustermax.bundle.io import load_bundle
from clustermax.errors import ConfigError
from clustermax.models import SCHEMA_VERSION
from clustermax.scoring import score_bundle

from .factory import clean_h100_slurm


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_file_and_directory_load_the_same_bundle(tmp_path: Path) -> None:
    b = clean_h100_slurm()
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "bundle.json").write_text(b.model_dump_json(indent=2), encoding="utf-8")
    assert load_bundle(tmp_path / "audit") == load_bundle(tmp_path / "audit" / "bundle.json") == b


def test_older_schema_version_fails_clearly(tmp_path: Path) -> None:
    data = json.loads(clean_h100_slurm().model_dump_json())
    data["schema_version"] = 0
    path = _write(tmp_path / "bundle.json", data)
    with pytest.raises(ConfigError) as info:
        load_bundle(path)
    assert (
        f"bundle schema_version 0 is older than {SCHEMA_VERSION} and cannot be migrated" in info.value.message
    )
    assert info.value.hint is not None and "re-run the audit" in info.value.hint


def test_older_schema_version_with_a_migration_is_rescored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clustermax.bundle import io as bundle_load

    data = json.loads(clean_h100_slurm().model_dump_json())
    data["schema_version"] = 0
    data["old_field"] = "dropped by the migration"

    def upgrade(old: dict[str, object]) -> dict[str, object]:
        new = {k: v for k, v in old.items() if k != "old_field"}
        new["schema_version"] = 1
        return new

    monkeypatch.setitem(bundle_load.MIGRATIONS, 0, upgrade)
    b = load_bundle(_write(tmp_path / "bundle.json", data))
    assert score_bundle(b) == score_bundle(clean_h100_slurm())


def test_newer_schema_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    data = json.loads(clean_h100_slurm().model_dump_json())
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ConfigError, match="newer than this clustermax reads"):
        load_bundle(_write(tmp_path / "bundle.json", data))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a clustermax bundle"),
        ('{"hello": 1}', "no integer schema_version"),
        (json.dumps({"schema_version": SCHEMA_VERSION, "target": {}}), "invalid bundle"),
    ],
)
def test_broken_files(tmp_path: Path, content: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_bundle(_write(tmp_path / "bundle.json", content))


def test_missing_bundle(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_bundle(tmp_path)
    assert "bundle not found" in info.value.message
    assert info.value.hint == "a bundle directory must hold bundle.json"
