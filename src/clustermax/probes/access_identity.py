"""access_identity: the audit user's rights on the login node, where accounts come from, and the GPU
modules of a login shell (sections in ``probes/access_identity/run.sh``).

* ``access.sudo``: ``root``; ``passwordless-all`` / ``passwordless-some`` / ``password`` from ``sudo -n
  -l``; ``not-in-sudo-group`` when the user is in none of sudo, wheel, admin (sudo is then not asked: it
  would log an incident, and a rule of the user's own cannot be seen without the password); or
  ``not-installed``.
* ``access.user_admin``: true for root, or passwordless sudo for everything with useradd and groupadd
  present; false when sudo is not installed (or the user has no sudo group and is not root); null
  otherwise (a password rule may or may not allow it).
* ``access.external_idp``: nsswitch's passwd uses sss, ldap, winbind or nis, or a PAM stack uses pam_sss,
  pam_ldap, pam_krb5, pam_winbind or an OIDC/OAuth2 module; false when neither (local accounts only).
* ``software.gpu_modules``: modules named cuda*, hpcx*, nccl*, nvhpc* (and nvidia/*) a login shell's
  ``module -t avail`` lists; 0 without a module system.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..models import Finding, Measurement, ScalarValue, Severity, Unit
from ..parsers.hostinfo import (
    GPU_MODULE,
    ModuleListing,
    module_listing,
    nsswitch_sources,
    pam_modules,
    sudo_rights,
)
from .base import FileKind, Measured, ProbeInput, ProbeOutput, Section
from .evidence import with_remediation

IDP_SOURCES = frozenset({"sss", "ldap", "winbind", "nis", "nisplus"})
IDP_PAM = frozenset(
    {
        "pam_sss",
        "pam_ldap",
        "pam_krb5",
        "pam_winbind",
        "pam_oauth2",
        "pam_oidc",
        "pam_okta",
        "pam_oauth2_device",
    }
)
SUDO_GROUPS = frozenset({"sudo", "wheel", "admin"})


def _ok(section: Section | None) -> str | None:
    return section.text if section is not None and section.ok else None


@dataclass(frozen=True)
class AccessEvidence:
    uid: int | None = None
    groups: list[str] = field(default_factory=list)
    sudo: str | None = None
    user_tools: bool | None = None
    passwd_sources: list[str] | None = None
    pam: set[str] | None = None
    sssd: str | None = None
    modules: ModuleListing | None = None


def _sudo(s: Mapping[str, Section], uid: int | None, groups: list[str]) -> str | None:
    section = s.get("sudo")
    if uid == 0:
        return "root"
    if section is not None and section.rc == 127 and section.missing:
        return "not-installed"
    if section is None:
        if uid is not None and not (set(groups) & SUDO_GROUPS):
            return "not-in-sudo-group"
        return None
    rights = sudo_rights(section.text)
    return None if rights.kind == "unknown" else rights.kind


def evidence(s: Mapping[str, Section]) -> AccessEvidence:
    ident = (_ok(s.get("id")) or "").splitlines()
    uid = int(ident[0]) if ident and ident[0].strip().isdigit() else None
    groups = ident[1].split() if len(ident) > 1 else []
    tools = _ok(s.get("user-tools"))
    nss = _ok(s.get("nsswitch"))
    pam = _ok(s.get("pam"))
    modules = _ok(s.get("modules"))
    return AccessEvidence(
        uid=uid,
        groups=groups,
        sudo=_sudo(s, uid, groups),
        user_tools=None
        if tools is None
        else {line.split()[0] for line in tools.splitlines() if line.split()} >= {"useradd", "groupadd"},
        passwd_sources=nsswitch_sources(nss).get("passwd") if nss is not None else None,
        pam=pam_modules(pam) if pam is not None else None,
        sssd=_ok(s.get("sssd")),
        modules=module_listing(modules) if modules is not None else None,
    )


def external_idp(ev: AccessEvidence) -> bool | None:
    if ev.passwd_sources is None and ev.pam is None:
        return None
    if ev.passwd_sources and IDP_SOURCES & set(ev.passwd_sources):
        return True
    return bool(ev.pam and IDP_PAM & ev.pam)


def user_admin(ev: AccessEvidence) -> bool | None:
    if ev.sudo in ("root", "passwordless-all"):
        return bool(ev.user_tools) if ev.user_tools is not None else None
    if ev.sudo in ("not-installed", "not-in-sudo-group"):
        return False
    return None


def measure(ev: AccessEvidence, host: str, remediation: Mapping[str, str] | None = None) -> Measured:
    out: list[Measurement] = []
    findings: list[Finding] = []

    def m(metric: str, value: ScalarValue, unit: Unit, **labels: str) -> None:
        out.append(Measurement(metric=metric, value=value, unit=unit, host=host, labels=labels))

    m("access.sudo", ev.sudo, Unit.TEXT)
    m("access.user_admin", user_admin(ev), Unit.BOOL)
    idp = external_idp(ev)
    m("access.external_idp", idp, Unit.BOOL)
    sources = list(ev.passwd_sources or []) + sorted((ev.pam or set()) & IDP_PAM)
    m("access.identity_sources", ",".join(sources) if sources else None, Unit.TEXT)
    if idp is False:
        findings.append(
            Finding(
                code="no-idp",
                severity=Severity.LOW,
                host=host,
                message="accounts are local only (nsswitch: files; no SSSD/LDAP/OIDC PAM module)",
            )
        )
    if ev.modules is not None:
        m("software.modules_system", ev.modules.system or "none", Unit.TEXT)
        gpu = [name for name in ev.modules.modules if GPU_MODULE.match(name)]
        m("software.gpu_modules", len(gpu), Unit.COUNT)
        if not gpu:
            findings.append(
                Finding(
                    code="no-gpu-modules",
                    severity=Severity.LOW,
                    host=host,
                    message="a login shell offers no CUDA / HPC-X / NCCL module",
                )
            )
    return Measured(out, with_remediation(findings, remediation or {}))


def from_sections(inp: ProbeInput) -> ProbeOutput:
    ev = evidence(inp.sections)
    measurements, findings = measure(ev, inp.host, inp.spec.remediation)
    idp = external_idp(ev)
    parts = [
        f"sudo: {ev.sudo or 'unknown'}",
        f"identity: {'external' if idp else 'local' if idp is False else 'unknown'}",
    ]
    if ev.modules is not None:
        parts.append(f"modules: {ev.modules.system or 'none'}")
    return ProbeOutput(message=", ".join(parts), measurements=measurements, findings=findings)


FILES: tuple[FileKind, ...] = ()
"""No parser kind: ``clustermax import`` files no output under this probe."""
