"""The minimum-versions table (rubrics/minimum-versions.yaml): dated security floors, each with its source,
and the one comparison of a measured version with them.

A rubric threshold ``{floor: <component>}`` resolves to a :class:`VersionRule` of the table the rubric was
loaded with (the shipped table, or ``--versions FILE``). Judging a version against it gives one of three
outcomes, never a guess:

* ``pass``: at or above the floor of its branch (or of the only floor), or a branch newer than every
  listed one when the component says so (``unlisted_newer: pass``);
* ``fail``: below the floor, or an older branch the table does not list when the component says that
  means end of life (``unlisted_older: fail``);
* ``undecided`` (judged a warn, with the reason): a branch the table does not assess
  (``unlisted_*: warn``), a version text that is not a version, or a distro build (Debian, Ubuntu, RHEL
  and SUSE packages backport fixes without changing the upstream number, so an upstream floor cannot
  decide them: ``distro_builds: undecided``).

Versions compare field by field as numbers (``13.1`` = ``13.1.0``); a pre-release (``1.5.0-rc.3``) sorts
before its release; a numeric field after a hyphen extends the release (the ABI of ``6.8.0-124``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ..models.common import FrozenModel

Outcome = Literal["pass", "fail", "undecided"]

_PRE = re.compile(r"^[-.~_]?(?P<tag>rc|alpha|beta|pre|a|b)[.-]?(?P<n>\d*)", re.IGNORECASE)
_LEAD = re.compile(r"^\s*[vV]?(?P<rel>\d+(?:\.\d+)*)")
_NUMERIC_TAIL = re.compile(r"^-(?P<n>\d+)(?=$|[.+~-])")
_DISTRO = re.compile(
    r"(?:ubuntu|[+~]deb\d|\+ds\d*|\.el\d|\.fc\d\d|\.amzn\d|suse|\.sles|\.mga\d|\.module\+el|~bpo\d)",
    re.IGNORECASE,
)
_PRE_RANK = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "pre": 2, "rc": 3}


@dataclass(frozen=True, order=True)
class Version:
    """A parsed version: numeric release fields, an optional pre-release, whether it is a distro build."""

    release: tuple[int, ...]
    pre: tuple[int, int] | None = None
    """(rank of alpha/beta/pre/rc, number); None for a release."""
    distro: bool = False
    text: str = ""


def parse_version(text: object) -> Version | None:
    """``1.19.1`` -> (1, 19, 1); ``1.5.0-rc.3`` -> (1, 5, 0) pre (rc, 3); ``6.8.0-124`` -> (6, 8, 0, 124);
    ``1.1.5+ds1-1+deb12u1`` -> (1, 1, 5), distro build. None when the text does not start with a number."""
    raw = str(text).strip()
    m = _LEAD.match(raw)
    if not m:
        return None
    release = [int(p) for p in m.group("rel").split(".")]
    rest = raw[m.end() :]
    pre: tuple[int, int] | None = None
    tail = _NUMERIC_TAIL.match(rest)
    if tail:
        release.append(int(tail.group("n")))
        rest = rest[tail.end() :]
    else:
        p = _PRE.match(rest)
        if p:
            pre = (_PRE_RANK[p.group("tag").lower()], int(p.group("n") or 0))
    return Version(tuple(release), pre, bool(_DISTRO.search(rest)), raw)


def _padded(a: tuple[int, ...], n: int) -> tuple[int, ...]:
    return a + (0,) * (n - len(a))


def version_key(v: Version) -> tuple[tuple[int, ...], int, int]:
    """Sort key: release (zero-padded to 8 fields), then pre-releases before the release."""
    rank, num = v.pre if v.pre is not None else (99, 0)
    return (_padded(v.release, 8), rank, num)


# ------------------------------------------------------------------------------------ the table


class Floor(FrozenModel):
    """One published minimum version, with where it comes from."""

    version: str = Field(description="The minimum version (of its branch, when the component has branches).")
    advisory: str = Field(description="The bulletin or release note that sets this floor.")
    url: str = Field(pattern=r"^https?://", description="Where the advisory can be read.")
    cves: list[str] = Field(default_factory=list, description="CVE or GHSA ids the floor fixes.")
    published: dt.date | None = Field(
        default=None, description="When the advisory (or the fix) was published."
    )
    read_on: dt.date = Field(description="When clustermax read this floor from its source.")
    via: str | None = Field(
        default=None, description="Where the floor was found, when not at the url itself."
    )

    @field_validator("version")
    @classmethod
    def _is_version(cls, value: str) -> str:
        if parse_version(value) is None:
            raise ValueError(f"{value!r} is not a version (it must start with a number)")
        return value


class Component(FrozenModel):
    """The floors of one piece of software or firmware, and how a version is compared with them."""

    title: str
    read_with: str = Field(description="The command(s) a probe reads the version with.")
    branch: int = Field(
        default=0,
        ge=0,
        le=4,
        description="0: one floor for every version; N: a floor per branch, the first N fields.",
    )
    skip: int = Field(
        default=0,
        ge=0,
        le=2,
        description="Leading fields of a measured version that are not compared (a device family); the "
        "floors are written without them.",
    )
    unlisted_older: Literal["fail", "warn"] = Field(
        default="fail", description="A branch older than the newest listed one that has no floor of its own."
    )
    unlisted_newer: Literal["pass", "warn"] = Field(
        default="pass", description="A branch newer than every listed one."
    )
    distro_builds: Literal["undecided", "upstream"] = Field(
        default="undecided",
        description="undecided: a distro build (backported fixes, upstream number) is a warn; upstream: "
        "compare its upstream number like any other.",
    )
    floors: list[Floor] = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _branches(self) -> Component:
        seen: dict[tuple[int, ...], str] = {}
        for f in self.floors:
            v = parse_version(f.version)
            assert v is not None
            fields = v.release
            if self.branch and len(fields) < self.branch + 1:
                raise ValueError(
                    f"floor {f.version!r} has no field after its branch of {self.branch} field(s)"
                )
            key = fields[: self.branch] if self.branch else ()
            if key in seen:
                what = f"branch {'.'.join(map(str, key))}" if key else "the component (branch: 0)"
                raise ValueError(f"floors {seen[key]!r} and {f.version!r} are both for {what}")
            seen[key] = f.version
        return self


class VersionsTable(FrozenModel):
    """rubrics/minimum-versions.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_: Literal["clustermax-minimum-versions/1"] = Field(alias="schema")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    checked: dt.date = Field(
        alias="date", description="When the table's floors were last checked against their sources."
    )
    description: str
    components: dict[str, Component]

    @field_validator("components")
    @classmethod
    def _names(cls, value: dict[str, Component]) -> dict[str, Component]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"component name {name!r}: use lower case, digits and _")
        return value


# ------------------------------------------------------------------------------------ judging


@dataclass(frozen=True)
class VersionRule:
    """A resolved ``{floor: <component>}`` threshold: the component's floors, ready to judge versions."""

    name: str
    component: Component
    table_id: str
    table_date: dt.date

    def floors_text(self) -> str:
        """``13.1`` or ``[535.309.01, 570.211.01]``."""
        versions = [f.version for f in self.component.floors]
        return (
            versions[0]
            if len(versions) == 1 and not self.component.branch
            else "[" + ", ".join(versions) + "]"
        )

    def describe(self) -> str:
        return f"{self.floors_text()} ({self.name} in {self.table_id} of {self.table_date.isoformat()})"

    def sources(self) -> str:
        """The advisories behind the floors, in one line."""
        seen: list[str] = []
        for f in self.component.floors:
            text = f"{f.advisory} <{f.url}>"
            if text not in seen:
                seen.append(text)
        return "; ".join(seen)

    def _floor_for(self, v: Version) -> tuple[Floor | None, str | None]:
        """The floor that applies to ``v``, or (None, the reason no floor applies)."""
        comp = self.component
        if not comp.branch:
            return comp.floors[0], None
        fields = v.release[comp.skip :]
        key = fields[: comp.branch]
        if len(key) < comp.branch:
            return None, f"{v.text} has too few fields to name a branch"
        branches = []
        for f in comp.floors:
            fv = parse_version(f.version)
            assert fv is not None
            fkey = fv.release[: comp.branch]
            if fkey == key:
                return f, None
            branches.append(fkey)
        label = ".".join(map(str, key))
        if key > max(branches):
            return None, f"newer:branch {label} is newer than every branch the table lists"
        return None, f"older:branch {label} has no floor of its own (the table lists {self.floors_text()})"

    def judge(self, value: object) -> tuple[Outcome, str]:
        """The outcome for one measured version, and a phrase saying why."""
        v = parse_version(value)
        if v is None:
            return "undecided", f"{value!r} is not a version the floors can be compared with"
        comp = self.component
        if v.distro and comp.distro_builds == "undecided":
            return (
                "undecided",
                f"{v.text} is a distro build: its fixes are backported, so the upstream floor "
                f"({self.floors_text()}) cannot decide it",
            )
        floor, why = self._floor_for(v)
        if floor is None:
            assert why is not None
            kind, _, reason = why.partition(":")
            if kind == "newer":
                return (
                    ("pass", reason)
                    if comp.unlisted_newer == "pass"
                    else ("undecided", f"{reason}: not assessed")
                )
            if kind == "older":
                return (
                    ("fail", reason)
                    if comp.unlisted_older == "fail"
                    else ("undecided", f"{reason}: not assessed")
                )
            return "undecided", why
        fv = parse_version(floor.version)
        assert fv is not None
        got = Version(v.release[comp.skip :], v.pre)
        need = Version(fv.release, fv.pre)
        if version_key(got) >= version_key(need):
            return "pass", f"at or above {floor.version} ({floor.advisory})"
        ids = [c for c in floor.cves if c not in floor.advisory]
        cves = f", {', '.join(ids)}" if ids else ""
        return "fail", f"below {floor.version} ({floor.advisory}{cves})"
