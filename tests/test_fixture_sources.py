"""Every recorded fixture's provenance sidecar (tests/data/**/<name>.source) is valid YAML that says where the
output came from (``url``, or null when it has no public address) and what it is (``what``, or
``description``), and sits next to the file it describes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parent / "data"
SIDECARS = sorted(DATA.rglob("*.source"))


def test_there_are_sidecars() -> None:
    assert len(SIDECARS) > 50


@pytest.mark.parametrize("path", SIDECARS, ids=[str(p.relative_to(DATA)) for p in SIDECARS])
def test_sidecar_is_yaml_with_url_and_description(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        pytest.fail(f"{path.relative_to(DATA)} is not valid YAML: {err}")
    assert isinstance(data, dict), f"{path.relative_to(DATA)}: expected a mapping of keys"
    assert "url" in data, f"{path.relative_to(DATA)}: no url key (write 'url: null' when there is none)"
    url = data["url"]
    assert url is None or (isinstance(url, str) and url.startswith(("http://", "https://"))), (
        f"{path.relative_to(DATA)}: url must be an http(s) address or null, got {url!r}"
    )
    description = data.get("description", data.get("what"))
    assert isinstance(description, str) and description.strip(), (
        f"{path.relative_to(DATA)}: no description ('what' or 'description')"
    )
    described = path.with_name(path.name.removesuffix(".source"))
    assert described.is_file(), f"{path.relative_to(DATA)}: describes {described.name}, which does not exist"
