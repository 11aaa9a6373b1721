"""Rubric loading and validation: every problem with its file, line and a hint.

:func:`check_rubric_file` returns all problems (for ``clustermax rubric validate``);
:func:`load_rubric` raises :class:`~clustermax.errors.ConfigError` on the first one.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..models.common import Unit
from ..resources import rubrics_dir
from ..safeio import decode_text, read_bytes, read_text
from ..units import NUMERIC_UNITS, convertible
from ..yamlsrc import Loc, YamlDoc, parse_yaml
from .catalog import CATALOG_FILE, MetricCatalog, MetricInfo, load_catalog
from .references import References
from .rubric import NUMERIC_AGGREGATES, NUMERIC_COMPARES, AppliesWhen, Criterion, Rubric, Threshold
from .versions import VersionsTable

DEFAULT_RUBRIC = "clustermax-v1.yaml"
DEFAULT_VERSIONS = "minimum-versions.yaml"
WEIGHT_TOTAL = 100.0


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str
    hint: str | None = None

    def render(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


def default_catalog_path() -> Path:
    """The metric catalog shipped with clustermax (rubrics/metrics.yaml)."""
    return rubrics_dir() / CATALOG_FILE


def catalog_path_of(rubric: Rubric, base: Path | None) -> Path:
    """The catalog a rubric names (relative to its file), or the shipped one."""
    if rubric.metrics is None or base is None:
        return default_catalog_path() if rubric.metrics is None else rubrics_dir() / rubric.metrics
    return base / rubric.metrics


_SHIPPED_CATALOG: dict[str, MetricCatalog] = {}


def _shipped_catalog() -> MetricCatalog:
    key = str(default_catalog_path())
    if key not in _SHIPPED_CATALOG:
        catalog, _, error = load_catalog(default_catalog_path())
        if catalog is None:
            raise ConfigError(default_catalog_path(), None, error or "bad metric catalog")
        _SHIPPED_CATALOG[key] = catalog
    return _SHIPPED_CATALOG[key]


def metric_catalog() -> dict[str, MetricInfo]:
    """metric name -> (probe, unit, label keys), from the shipped metric catalog (rubrics/metrics.yaml)."""
    return _shipped_catalog().info


def default_rubric_path() -> Path:
    return rubrics_dir() / DEFAULT_RUBRIC


def _loc_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _suggest(word: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def load_references(path: Path) -> tuple[References | None, list[Problem]]:
    try:
        text = read_text(path, what="hardware references")
    except ConfigError as err:
        return None, [Problem(str(path), err.line, err.message.split(": ", 1)[-1], err.hint)]
    try:
        doc = parse_yaml(text, path)
    except ConfigError as err:
        return None, [Problem(str(path), err.line, err.message.split(": ", 1)[-1], err.hint)]
    try:
        refs = References.model_validate(doc.data)
    except ValidationError as err:
        return None, [
            Problem(str(path), doc.line(tuple(e["loc"])), f"{_loc_text(tuple(e['loc']))}: {e['msg']}")
            for e in err.errors()
        ]
    problems = [Problem(str(path), line, f"duplicate key {_loc_text(loc)}") for loc, line in doc.duplicates]
    return refs, problems


def default_versions_path() -> Path:
    """The minimum-versions table shipped with clustermax (rubrics/minimum-versions.yaml)."""
    return rubrics_dir() / DEFAULT_VERSIONS


def load_versions(path: Path) -> tuple[VersionsTable | None, list[Problem]]:
    """Read and validate a minimum-versions table: every problem with its file and line."""
    try:
        text = read_text(path, what="minimum-versions table")
        doc = parse_yaml(text, path)
    except ConfigError as err:
        return None, [Problem(str(path), err.line, err.message.split(": ", 1)[-1], err.hint)]
    problems = [Problem(str(path), line, f"duplicate key {_loc_text(loc)}") for loc, line in doc.duplicates]
    try:
        table = VersionsTable.model_validate(doc.data)
    except ValidationError as err:
        for e in err.errors():
            loc = tuple(e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            hint = None
            if e["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
                hint = "see rubrics/minimum-versions.yaml for the keys a table takes"
            elif e["type"] == "missing":
                hint = "every floor needs version, advisory, url and read_on"
            problems.append(Problem(str(path), doc.line(loc), f"{_loc_text(loc)}: {msg}", hint))
        return None, problems
    return (table if not problems else None), problems


_SHIPPED_VERSIONS: dict[str, tuple[VersionsTable, str]] = {}


def _shipped_versions() -> tuple[VersionsTable, str]:
    path = default_versions_path()
    key = str(path)
    if key not in _SHIPPED_VERSIONS:
        table, problems = load_versions(path)
        if table is None:
            first = problems[0]
            raise ConfigError(first.path, first.line, first.message, hint=first.hint)
        digest = hashlib.sha256(read_bytes(path, what="minimum-versions table")).hexdigest()
        _SHIPPED_VERSIONS[key] = (table, digest)
    return _SHIPPED_VERSIONS[key]


def _check_threshold(
    doc: YamlDoc,
    loc: Loc,
    thr: Threshold | None,
    crit: Criterion,
    unit: Unit | None,
    refs: References | None,
    versions: VersionsTable | None = None,
    versions_path: str = "",
) -> list[Problem]:
    if thr is None:
        return []
    problems: list[Problem] = []
    line = doc.line(loc)
    if thr.floor is not None:
        if crit.compare != ">=":
            problems.append(
                Problem(doc.path, line, f"criterion {crit.id!r}: a floor threshold needs compare '>=', "
                        f"not {crit.compare!r}")
            )  # fmt: skip
        if unit is not None and unit is not Unit.VERSION:
            problems.append(
                Problem(doc.path, line, f"criterion {crit.id!r}: a floor threshold judges versions, but the "
                        f"metric is in {unit.value}")
            )  # fmt: skip
        if versions is not None and thr.floor not in versions.components:
            names = sorted(versions.components)
            problems.append(
                Problem(
                    doc.path,
                    line,
                    f"criterion {crit.id!r}: the minimum-versions table {versions_path} has no component "
                    f"{thr.floor!r}",
                    hint=_suggest(thr.floor, names) or f"one of: {', '.join(names)}",
                )
            )
        return problems
    if thr.unit is not None and unit is not None and not convertible(thr.unit, unit):
        problems.append(
            Problem(
                doc.path,
                line,
                f"criterion {crit.id!r}: threshold unit {thr.unit.value} does not convert to the metric's "
                f"unit {unit.value}",
                hint=f"write the threshold in {unit.value} (or a unit of the same kind)",
            )
        )
    if thr.reference is not None and refs is not None:
        names = sorted(refs.figure_names())
        if thr.reference not in names:
            problems.append(
                Problem(
                    doc.path,
                    line,
                    f"criterion {crit.id!r}: unknown hardware reference {thr.reference!r}",
                    hint=_suggest(thr.reference, names) or "see rubrics/references.yaml for the figure names",
                )
            )
        elif unit is not None:
            kind, _, fig = thr.reference.partition(".")
            table = refs.gpus if kind == "gpu" else refs.fabrics
            for ref_id, ref in table.items():
                figure = ref.figures.get(fig)
                if figure is not None and figure.unit is not None and not convertible(figure.unit, unit):
                    problems.append(
                        Problem(
                            doc.path,
                            line,
                            f"criterion {crit.id!r}: reference {thr.reference} of {ref_id} is in "
                            f"{figure.unit.value}, which does not convert to {unit.value}",
                        )
                    )
                    break
    if crit.compare in NUMERIC_COMPARES and unit is not Unit.VERSION:
        values = thr.value if isinstance(thr.value, list) else [thr.value]
        if any(isinstance(v, (bool, str)) for v in values if v is not None):
            problems.append(
                Problem(
                    doc.path,
                    line,
                    f"criterion {crit.id!r}: compare {crit.compare!r} needs numbers, got {thr.value!r}",
                    hint="write e.g. '400 Gb/s' or 0.9",
                )
            )
    return problems


def check_rubric(
    doc: YamlDoc,
    references_path: Path | None = None,
    catalog_path: Path | None = None,
    versions_path: Path | None = None,
) -> tuple[Rubric | None, References | None, list[Problem]]:
    """Validate a parsed rubric document: structure (pydantic), then cross-references."""
    problems = [Problem(doc.path, line, f"duplicate key {_loc_text(loc)}") for loc, line in doc.duplicates]
    named = _subject_names(doc)
    if named:
        return None, None, problems + named
    try:
        rubric = Rubric.model_validate(doc.data)
    except ValidationError as err:
        for e in err.errors():
            loc = tuple(e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            hint = None
            if e["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
                hint = "see docs/scoring.md for the keys a rubric takes"
            elif e["type"] == "enum" and len(loc) >= 3 and loc[-1] == "category":
                hint = "one of: " + ", ".join(e.get("ctx", {}).get("expected", "").split(", "))
            problems.append(Problem(doc.path, doc.line(loc), f"{_loc_text(loc)}: {msg}", hint))
        return None, None, problems

    base = Path(doc.path).parent
    ref_path = references_path or (base / rubric.references)
    outside = references_path is None and not _inside(ref_path, base)
    if outside:  # a rubric may not point at any file on the machine (its errors would show that file)
        problems.append(
            Problem(doc.path, doc.line(("references",)),
                    f"references: {rubric.references!r} is outside the rubric's folder; refusing to read it",
                    hint="put the hardware references next to the rubric (or in a folder below it)")
        )  # fmt: skip
        refs, ref_problems = None, list[Problem]()
    else:
        refs, ref_problems = load_references(ref_path)
    problems += ref_problems
    versions, versions_file, version_problems = _versions_for(doc, rubric, base, versions_path)
    problems += version_problems
    if versions is not None:
        rubric._versions = versions
    cat_path = catalog_path or catalog_path_of(rubric, base)
    loaded_catalog, _, catalog_error = load_catalog(cat_path)
    if loaded_catalog is None:
        problems.append(
            Problem(
                str(cat_path),
                None,
                catalog_error or "bad metric catalog",
                hint="rubrics/metrics.yaml is written by scripts/make_metric_catalog.py",
            )
        )
        return None, refs, problems
    rubric._catalog = loaded_catalog
    catalog = loaded_catalog.info
    metric_names = sorted(catalog)

    # categories and weights
    seen_cat: set[str] = set()
    for i, cat in enumerate(rubric.categories):
        if cat.id.value in seen_cat:
            problems.append(
                Problem(doc.path, doc.line(("categories", i)), f"category {cat.id.value!r} twice")
            )
        seen_cat.add(cat.id.value)
    total = sum(c.weight for c in rubric.categories)
    if abs(total - WEIGHT_TOTAL) > 1e-6:
        problems.append(
            Problem(
                doc.path,
                doc.line(("categories",)),
                f"category weights add up to {total:g}, not {WEIGHT_TOTAL:g}",
                hint="adjust the weights so they sum to 100",
            )
        )

    # named subjects (applies_when)
    for name, subject in rubric.subjects.items():
        problems += _check_rule(doc, ("subjects", name), f"subject {name!r}", subject, catalog, metric_names)

    # criteria
    ids: dict[str, int] = {}
    used_metrics: set[str] = set()
    for i, crit in enumerate(rubric.criteria):
        at: Loc = ("criteria", i)
        if crit.id in ids:
            problems.append(
                Problem(doc.path, doc.line((*at, "id")), f"criterion id {crit.id!r} is used twice")
            )
        ids[crit.id] = i
        if crit.category.value not in seen_cat:
            problems.append(
                Problem(
                    doc.path,
                    doc.line((*at, "category")),
                    f"criterion {crit.id!r}: unknown category {crit.category.value!r} (not in categories)",
                    hint="add it under categories: or pick one listed there",
                )
            )
        unit: Unit | None = None
        for metric in crit.metric:
            used_metrics.add(metric)
            info = catalog.get(metric)
            if info is None:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*at, "metric")),
                        f"criterion {crit.id!r}: unknown metric {metric!r} (no probe declares it)",
                        hint=_suggest(metric, metric_names)
                        or "see the metrics of `clustermax probes list` (rubrics/metrics.yaml)",
                    )
                )
                continue
            if unit is None:
                unit = info.unit
            elif not convertible(info.unit, unit):
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*at, "metric")),
                        f"criterion {crit.id!r}: cannot pool metrics in {unit.value} and {info.unit.value}",
                    )
                )
            for key in crit.labels:
                if key not in info.labels:
                    known = ", ".join(sorted(info.labels)) or "none"
                    problems.append(
                        Problem(
                            doc.path,
                            doc.line((*at, "labels", key)),
                            f"criterion {crit.id!r}: metric {metric!r} has no label {key!r} ({known})",
                        )
                    )
        if unit is not None:
            numeric = unit in NUMERIC_UNITS
            if crit.aggregate in NUMERIC_AGGREGATES and not numeric:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*at, "aggregate")),
                        f"criterion {crit.id!r}: aggregate {crit.aggregate!r} needs numbers, "
                        f"but the metric is {unit.value}",
                        hint="use all, any, count, fraction or distinct",
                    )
                )
            if (
                crit.compare in NUMERIC_COMPARES
                and not numeric
                and crit.aggregate not in ("count", "fraction", "distinct")
                and unit is not Unit.VERSION
            ):
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*at, "compare")),
                        f"criterion {crit.id!r}: compare {crit.compare!r} needs numbers, but the metric is "
                        f"{unit.value}",
                    )
                )
        problems += _check_applicability(doc, at, crit, catalog, metric_names)
        judged_unit = None if crit.aggregate in ("count", "fraction", "distinct") else unit
        for key, thr in (("pass", crit.pass_), ("warn", crit.warn)):
            problems += _check_threshold(
                doc, (*at, key), thr, crit, judged_unit, refs, versions, versions_file
            )

    # tiers and gates
    for tier, rule in rubric.tiers.items():
        for g, gate in enumerate(rule.gates):
            for name in gate.criteria:
                if name not in ids:
                    problems.append(
                        Problem(
                            doc.path,
                            doc.line(("tiers", tier.value, "gates", g)),
                            f"tier {tier.value}: gate names a missing criterion {name!r}",
                            hint=_suggest(name, sorted(ids)) or "gates list criterion ids",
                        )
                    )
        for cov_cat in rule.min_category_coverage:
            if cov_cat.value not in seen_cat:
                problems.append(
                    Problem(
                        doc.path,
                        doc.line(("tiers", tier.value, "min_category_coverage", cov_cat.value)),
                        f"tier {tier.value}: unknown category {cov_cat.value!r} in min_category_coverage",
                    )
                )

    # informational metrics
    for i, metric in enumerate(rubric.informational):
        if metric not in catalog:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(("informational", i)),
                    f"informational: unknown metric {metric!r}",
                    hint=_suggest(metric, metric_names),
                )
            )
        elif metric in used_metrics:
            problems.append(
                Problem(
                    doc.path,
                    doc.line(("informational", i)),
                    f"informational: metric {metric!r} is also read by a criterion",
                    hint="remove it from informational",
                )
            )
    return rubric, refs, problems


_SUBJECT_UNITS = frozenset({Unit.COUNT, Unit.BOOL})


def _subject_names(doc: YamlDoc) -> list[Problem]:
    """Names in applies_when that the rubric's subjects: does not define (with their lines)."""
    data: dict[str, Any] = doc.data if isinstance(doc.data, dict) else {}
    raw_subjects = data.get("subjects")
    subjects: dict[str, Any] = raw_subjects if isinstance(raw_subjects, dict) else {}
    names = sorted(str(k) for k in subjects)
    problems: list[Problem] = []
    raw_criteria = data.get("criteria")
    criteria: list[Any] = raw_criteria if isinstance(raw_criteria, list) else []
    for i, raw in enumerate(criteria):
        if not isinstance(raw, dict):
            continue
        rules = raw.get("applies_when")
        items = [rules] if isinstance(rules, str) else rules if isinstance(rules, list) else []
        for j, rule in enumerate(items):
            if isinstance(rule, str) and rule not in subjects:
                loc: Loc = (
                    ("criteria", i, "applies_when", j)
                    if isinstance(rules, list)
                    else ("criteria", i, "applies_when")
                )
                problems.append(
                    Problem(
                        doc.path,
                        doc.line(loc),
                        f"criterion {raw.get('id')!r}: applies_when names an unknown subject {rule!r}",
                        hint=_suggest(rule, names) or (
                            f"one of: {', '.join(names)}" if names else "define it under subjects:"),
                    )
                )  # fmt: skip
    return problems


def _check_rule(
    doc: YamlDoc,
    where: Loc,
    who: str,
    rule: AppliesWhen,
    catalog: dict[str, MetricInfo],
    metric_names: list[str],
) -> list[Problem]:
    """One applicability rule: known subject metrics (counts or booleans when their value is the subject),
    known labels."""
    problems: list[Problem] = []
    for metric in rule.metric:
        info = catalog.get(metric)
        if info is None:
            problems.append(
                Problem(
                    doc.path,
                    doc.line((*where, "metric")),
                    f"{who}: applies_when names an unknown metric {metric!r}",
                    hint=_suggest(metric, metric_names)
                    or "a subject metric is one of rubrics/metrics.yaml (e.g. gpu.count)",
                )
            )
            continue
        if rule.count == "value" and info.unit not in _SUBJECT_UNITS:
            problems.append(
                Problem(
                    doc.path,
                    doc.line((*where, "metric")),
                    f"{who}: applies_when metric {metric!r} is in {info.unit.value}; its value cannot"
                    " count a subject",
                    hint="use a count or bool metric, or `count: values` to count its measured values",
                )
            )
        for key in rule.labels:
            if key not in info.labels:
                known = ", ".join(sorted(info.labels)) or "none"
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*where, "labels", key)),
                        f"{who}: applies_when metric {metric!r} has no label {key!r} ({known})",
                    )
                )
    return problems


def _check_applicability(
    doc: YamlDoc, at: Loc, crit: Criterion, catalog: dict[str, MetricInfo], metric_names: list[str]
) -> list[Problem]:
    """Inline applies_when rules (named ones are checked once, under subjects:); min_samples' label is a
    label of every metric the criterion reads."""
    problems: list[Problem] = []
    for a, rule in enumerate(crit.applies_when):
        if not isinstance(rule, str):
            problems += _check_rule(
                doc, (*at, "applies_when", a), f"criterion {crit.id!r}", rule, catalog, metric_names
            )
    samples = crit.min_samples
    if samples is not None and samples.label is not None:
        for metric in crit.metric:
            info = catalog.get(metric)
            if info is not None and samples.label not in info.labels:
                known = ", ".join(sorted(info.labels)) or "none"
                problems.append(
                    Problem(
                        doc.path,
                        doc.line((*at, "min_samples", "label")),
                        f"criterion {crit.id!r}: min_samples label {samples.label!r} is no label of metric "
                        f"{metric!r} ({known})",
                        hint="the label must carry each value's sample count (e.g. runs)",
                    )
                )
    if samples is not None and crit.aggregate in ("all", "any", "count") and samples.label is None:
        problems.append(
            Problem(
                doc.path,
                doc.line((*at, "min_samples")),
                f"criterion {crit.id!r}: min_samples without a label means nothing for aggregate "
                f"{crit.aggregate!r} (it judges every value on its own)",
                hint="give a label that carries each value's sample count, or remove min_samples",
            )
        )
    return problems


def _versions_for(
    doc: YamlDoc, rubric: Rubric, base: Path, given: Path | None
) -> tuple[VersionsTable | None, str, list[Problem]]:
    """The minimum-versions table for a rubric: ``--versions FILE``, else the one the rubric names (next to
    it), else the shipped one."""
    if given is None and rubric.versions is None:
        return _shipped_versions()[0], str(default_versions_path()), []
    path = given if given is not None else base / str(rubric.versions)
    if given is None and not _inside(path, base):
        return None, str(path), [
            Problem(doc.path, doc.line(("versions",)),
                    f"versions: {rubric.versions!r} is outside the rubric's folder; refusing to read it",
                    hint="put the minimum-versions table next to the rubric (or in a folder below it)")
        ]  # fmt: skip
    table, problems = load_versions(path)
    return table, str(path), problems


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (links resolved) lies in ``folder`` or below it."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def check_rubric_file(
    path: str | Path, catalog_path: Path | None = None, versions_path: str | Path | None = None
) -> tuple[Rubric | None, list[Problem]]:
    """Every problem of a rubric file and of the minimum-versions table it is checked with (``versions_path``,
    else the one it names, else the shipped one). Returns the rubric (with its references) when there is
    none."""
    p = Path(path)
    try:
        raw = read_bytes(p, what="rubric")
        doc = parse_yaml(decode_text(raw, p, what="rubric"), path)
    except ConfigError as err:
        return None, [Problem(str(path), err.line, err.message.split(": ", 1)[-1], err.hint)]
    given = Path(versions_path) if versions_path is not None else None
    rubric, refs, problems = check_rubric(doc, catalog_path=catalog_path, versions_path=given)
    if rubric is None or problems:
        return None, problems
    rubric._sha256 = hashlib.sha256(raw).hexdigest()
    rubric._versions_sha256 = _versions_digest(rubric, p.parent, given)
    rubric._references = refs
    if refs is not None:
        ref_path = p.parent / rubric.references
        ref_bytes = read_bytes(ref_path, what="hardware references")
        rubric._references_sha256 = hashlib.sha256(ref_bytes).hexdigest()
    return rubric, []


def _versions_digest(rubric: Rubric, base: Path, given: Path | None) -> str:
    if given is None and rubric.versions is None:
        return _shipped_versions()[1]
    path = given if given is not None else base / str(rubric.versions)
    return hashlib.sha256(read_bytes(path, what="minimum-versions table")).hexdigest()


_DEFAULT_CACHE: dict[str, Rubric] = {}


def load_rubric(path: str | Path | None = None, versions: str | Path | None = None) -> Rubric:
    """Load and validate a rubric (None: the default rubric), with the minimum-versions table ``versions``
    (None: the one the rubric names, else the shipped one). Raises ConfigError on the first problem."""
    target = Path(path) if path is not None else default_rubric_path()
    key = str(target.resolve()) if path is None and versions is None else ""
    if key and key in _DEFAULT_CACHE:
        return _DEFAULT_CACHE[key]
    rubric, problems = check_rubric_file(target, versions_path=versions)
    if rubric is None:
        first = problems[0]
        more = f" ({len(problems) - 1} more problem(s): run `clustermax rubric validate {target}`)"
        raise ConfigError(
            first.path, first.line, first.message + (more if len(problems) > 1 else ""), hint=first.hint
        )
    if key:
        _DEFAULT_CACHE[key] = rubric
    return rubric


def catalog_of(rubric: Rubric) -> MetricCatalog:
    """The metric catalog a rubric was loaded with (the shipped one for rubrics built in code)."""
    catalog = rubric._catalog
    if isinstance(catalog, MetricCatalog):
        return catalog
    loaded = _shipped_catalog() if rubric.metrics is None else None
    if loaded is None:
        path = rubrics_dir() / str(rubric.metrics)
        loaded, _, error = load_catalog(path)
        if loaded is None:
            raise ConfigError(path, None, error or "bad metric catalog")
    rubric._catalog = loaded
    return loaded


def versions_of(rubric: Rubric) -> VersionsTable:
    """The minimum-versions table a rubric was loaded with (the shipped one for rubrics built in code)."""
    table = rubric._versions
    if isinstance(table, VersionsTable):
        return table
    if rubric.versions is not None:
        path = rubrics_dir() / rubric.versions
        loaded, problems = load_versions(path)
        if loaded is None:
            first = problems[0]
            raise ConfigError(first.path, first.line, first.message, hint=first.hint)
        rubric._versions = loaded
        rubric._versions_sha256 = hashlib.sha256(read_bytes(path, what="minimum-versions table")).hexdigest()
        return loaded
    shipped, digest = _shipped_versions()
    rubric._versions = shipped
    rubric._versions_sha256 = digest
    return shipped


def references_of(rubric: Rubric) -> References:
    """The hardware references a rubric was loaded with (the default table for rubrics built in code)."""
    refs = rubric._references
    if isinstance(refs, References):
        return refs
    ref_path = rubrics_dir() / rubric.references
    loaded, problems = load_references(ref_path)
    if loaded is None:
        first = problems[0]
        raise ConfigError(first.path, first.line, first.message)
    rubric._references = loaded
    rubric._references_sha256 = hashlib.sha256(read_bytes(ref_path, what="hardware references")).hexdigest()
    return loaded
