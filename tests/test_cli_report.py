"""`clustermax report` and `clustermax compare`, run as the real command on saved bundles."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from clustermax.cli import main

from .reports.factories import make_bundle


def _write(tmp_path: Path, name: str, **kw) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "bundle.json").write_text(make_bundle(**kw).model_dump_json(), encoding="utf-8")
    return folder


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([*args])
        raise SystemExit(0)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def test_report_terminal_is_plain_when_piped(tmp_path, capsys):
    bundle = _write(tmp_path, "a")
    code, out, _ = _run(["report", str(bundle)], capsys)
    assert code == 0
    assert out.startswith("Acme Cloud / acme-h100")
    assert "score " in out and "Criteria measured or attested" in out
    assert "\x1b" not in out


def test_report_formats_and_out_file(tmp_path, capsys):
    bundle = _write(tmp_path, "a")
    out_file = tmp_path / "r" / "report.html"
    code, out, err = _run(
        ["report", str(bundle / "bundle.json"), "--format", "html", "--out", str(out_file)], capsys
    )
    assert code == 0 and out == "" and f"wrote {out_file}" in err
    assert 'id="tier">' in out_file.read_text(encoding="utf-8")
    code, out, _ = _run(["report", str(bundle), "-f", "json"], capsys)
    data = json.loads(out)
    assert data["mode"] == "single" and data["clusters"][0]["meta"]["rubric_id"]
    code, out, _ = _run(["report", str(bundle), "-f", "junit", "--junit-warn", "skipped"], capsys)
    assert code == 0 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>')


def test_compare_command_and_report_compare_agree(tmp_path, capsys):
    a = _write(tmp_path, "a")
    b = _write(tmp_path, "b", cluster="beta", provider="Beta GPU", intra_peak=250.0)
    c = _write(tmp_path, "c", cluster="gamma", provider="Gamma", ttfj=[])
    code, out, _ = _run(["compare", str(a), str(b), str(c), "--format", "csv"], capsys)
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert set(frame.cluster) == {"acme-h100", "beta", "gamma"}
    assert "key.nccl_intra_peak" in set(frame.metric)
    code, out2, _ = _run(["report", str(a), str(b), str(c), "--compare", "--format", "csv"], capsys)
    assert out2 == out
    code, md, _ = _run(["compare", str(a), str(b), "-f", "markdown", "--redact"], capsys)
    assert "## Leaderboard" in md and "gpu-001" not in md and "Redacted" not in md


def test_missing_bundle_is_a_usage_error(tmp_path, capsys):
    code, out, err = _run(["report", str(tmp_path / "nope")], capsys)
    assert code == 2
    assert err.startswith("error: ") and "bundle not found" in err
    assert "Traceback" not in err and out == ""


def test_bad_format_is_a_usage_error(tmp_path, capsys):
    bundle = _write(tmp_path, "a")
    code, _, err = _run(["report", str(bundle), "--format", "pdf"], capsys)
    assert code == 2 and "pdf" in err


def test_help_lists_the_formats():
    proc = subprocess.run(
        [sys.executable, "-m", "clustermax", "report", "--help"], capture_output=True, text=True, check=True
    )
    for fmt in ("terminal", "markdown", "html", "json", "csv", "junit", "--redact", "--compare", "--rubric"):
        assert fmt in proc.stdout
