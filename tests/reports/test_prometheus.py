"""`--format prometheus`: text exposition that prometheus_client's own parser reads back, sample by sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from clustermax.cli import main
from clustermax.errors import UsageError
from clustermax.models import Tier, Verdict
from clustermax.reports import build_report, render, render_report
from clustermax.sanitize import prom_label

from .factories import make_bundle, make_score

ROOT = Path(__file__).resolve().parents[2]


def _families(text: str) -> dict[str, list]:
    """Family name -> samples, as prometheus_client's parser reads the text (it raises on bad syntax)."""
    families = list(text_string_to_metric_families(text))
    assert all(f.type == "gauge" for f in families)
    names = [f.name for f in families]
    assert len(names) == len(set(names)), "a family appears twice"
    return {f.name: f.samples for f in families}


def _pair(**kw):
    bundle = make_bundle(**kw)
    return bundle, make_score(bundle, **{k: kw.pop(k) for k in ("tier", "floor", "ceiling") if k in kw})


def test_tier_score_coverage_verdicts_and_key_metrics_parse_back() -> None:
    bundle = make_bundle()
    score = make_score(bundle, tier=Tier.SILVER)
    text = render([(bundle, score)], "prometheus")
    fam = _families(text)
    base = {"cluster": "acme-h100", "provider": "Acme Cloud"}
    tiers = {s.labels["bound"]: (s.labels["tier"], s.value) for s in fam["clustermax_tier_rank"]}
    assert tiers == {"floor": ("silver", 2.0), "ceiling": ("platinum", 4.0), "decided": ("silver", 2.0)}
    assert all({**s.labels, **base} == s.labels for s in fam["clustermax_tier_rank"])
    scores = {s.labels["bound"]: s.value for s in fam["clustermax_score"]}
    assert scores["measured"] == pytest.approx(score.score)
    assert scores["floor"] == pytest.approx(score.score_floor)
    assert scores["ceiling"] == pytest.approx(score.score_ceiling)
    (coverage,) = fam["clustermax_coverage_ratio"]
    assert coverage.value == pytest.approx(score.coverage) and coverage.labels == base
    assert [s.value for s in fam["clustermax_rated"]] == [1.0]
    verdicts = {s.labels["criterion"]: s.labels["verdict"] for s in fam["clustermax_criterion_verdict"]}
    assert verdicts == {c.id: c.verdict.value for c in score.criteria}
    assert {s.value for s in fam["clustermax_criterion_verdict"]} == {1.0}
    nodes = {
        (s.labels["node"], s.labels["criterion"]): s.labels["verdict"]
        for s in fam["clustermax_node_criterion_verdict"]
    }
    expected = {(h, c.id): v.value for c in score.criteria for h, v in c.host_verdicts.items()}
    assert nodes and nodes == expected
    assert any(v == Verdict.FAIL.value for v in nodes.values())
    report = build_report([(bundle, score)])
    measured = {m.id: m.value for m in report.clusters[0].key_metrics if m.value is not None}
    metrics = {s.labels["metric"]: s.value for s in fam["clustermax_key_metric"]}
    assert metrics == pytest.approx(measured)
    units = {s.labels["metric"]: s.labels["unit"] for s in fam["clustermax_key_metric"]}
    assert units["nccl_intra_peak"] == "GB/s"
    severities = {s.labels["severity"]: s.value for s in fam["clustermax_findings"]}
    assert set(severities) == {"critical", "high", "medium", "low", "info"}
    assert sum(severities.values()) == len(report.clusters[0].findings)


def test_what_was_not_measured_has_no_sample_and_not_rated_has_no_decided_tier() -> None:
    bundle = make_bundle(inter_peak=None, ttfj=[])
    score = make_score(bundle, tier=None, ceiling=Tier.GOLD)
    fam = _families(render([(bundle, score)], "prometheus"))
    assert {s.labels["bound"] for s in fam["clustermax_tier_rank"]} == {"floor", "ceiling"}
    assert [s.value for s in fam["clustermax_rated"]] == [0.0]
    metrics = {s.labels["metric"] for s in fam["clustermax_key_metric"]}
    assert "ttfj_median" not in metrics and "nccl_inter_peak" not in metrics  # unknown is no sample, not 0
    assert "nccl_intra_peak" in metrics
    nm = [s for s in fam["clustermax_criterion_verdict"] if s.labels["verdict"] == "not_measured"]
    assert nm, "not-measured criteria keep their sample, with the verdict saying so"


def test_label_values_are_escaped_through_the_one_sanitiser() -> None:
    cluster = 'evil"\\cluster\nname\x1b[2J\x1b]0;pwned\x07'
    provider = 'Evil "Cloud" \\ & co'
    bundle = make_bundle(cluster=cluster, provider=provider, nodes=['gpu"1\\', "gpu-002"], ecc_host='gpu"1\\')
    text = render([(bundle, make_score(bundle))], "prometheus")
    assert "\x1b" not in text and "\x07" not in text
    fam = _families(text)
    (info,) = fam["clustermax_audit_info"]
    assert info.labels["cluster"] == 'evil"\\cluster name'  # controls gone, the line folded, then escaped
    assert info.labels["provider"] == provider
    assert 'cluster="evil\\"\\\\cluster name"' in text
    nodes = {s.labels["node"] for s in fam["clustermax_node_criterion_verdict"]}
    assert 'gpu"1\\' in nodes
    assert prom_label('a"b\\c\nd') == 'a\\"b\\\\c d'


def test_several_clusters_share_one_family_each() -> None:
    pairs = [_pair(), _pair(cluster="beta", provider="Beta GPU", intra_peak=300.0)]
    fam = _families(render(pairs, "prometheus", compare=True))
    assert {s.labels["cluster"] for s in fam["clustermax_score"]} == {"acme-h100", "beta"}


def test_the_same_cluster_twice_is_refused() -> None:
    report = build_report([_pair(), _pair()])
    with pytest.raises(UsageError, match="more than once"):
        render_report(report, "prometheus")


def test_report_and_score_write_it_for_the_textfile_collector(tmp_path: Path, capsys) -> None:
    bundle = ROOT / "tests" / "data" / "bundles" / "h100-healthy-ndr"
    target = tmp_path / "textfile" / "clustermax.prom"
    with pytest.raises(SystemExit) as done:
        main(["report", str(bundle), "--format", "prometheus", "--out", str(target)])
    assert done.value.code == 0
    fam = _families(target.read_text(encoding="utf-8"))
    assert fam["clustermax_tier_rank"][0].labels["cluster"] == "h100-ndr"
    assert not list(target.parent.glob(".*.tmp"))  # written to a temporary file and renamed
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["score", str(bundle), "-f", "prometheus"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert _families(out).keys() == fam.keys()
    with pytest.raises(SystemExit) as done:
        main(["score", str(bundle), str(bundle), "-f", "prometheus"])
    assert done.value.code == 2
    assert "given more than once" in capsys.readouterr().err
