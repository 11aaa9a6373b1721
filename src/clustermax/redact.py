"""Stable pseudonyms for host names, IP addresses and user names (`clustermax report --redact`).

How a pseudonym is made (documented in docs/reports.md):

* The *key* is ``SHA-256("clustermax-redact-v1\\n" + sorted host names joined by newlines)``, or, when the
  environment variable ``CLUSTERMAX_REDACT_KEY`` is set, ``SHA-256("clustermax-redact-v1\\n" + that
  secret)``. The key never leaves the process.
* A name's pseudonym is ``<kind>-`` plus the first 8 hex digits of ``HMAC-SHA256(key, kind + ":" + name)``,
  e.g. ``host-3fa2c19b``, ``ip-0c41d2e7``, ``user-9e1a77c0``.

So the same audit redacted twice gives the same pseudonyms (a published report can be regenerated), the
same host keeps its pseudonym across audits of the same host list, and a reader cannot reverse a pseudonym
without knowing the whole host list. With ``CLUSTERMAX_REDACT_KEY`` set, pseudonyms are stable across any
audits redacted with that secret, and cannot be reversed without it.

Redaction replaces whole names wherever they appear in text (also inside longer messages and probe output
excerpts), every IPv4/IPv6 address (validated with :mod:`ipaddress`), and the remote user names of the
bundle (except ``root``, which names no one). The short name of a fully qualified host name maps to the
same pseudonym as the full name.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

KEY_ENV = "CLUSTERMAX_REDACT_KEY"
_DOMAIN = b"clustermax-redact-v1\n"
_NOT_NAMES = frozenset({"", "cluster", "localhost", "local", "imported", "none", "null", "unknown"})
_NOT_USERS = frozenset({"root"})

_IPV4_CANDIDATE = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|(?:\d{1,3}\.){3}\d{1,3})(?:%\w+)?(?![\w:])"
)


class Redactor:
    """Maps host names, addresses and user names to stable pseudonyms, in names and in free text."""

    def __init__(
        self,
        hosts: Iterable[str] = (),
        users: Iterable[str] = (),
        addresses: Iterable[str] = (),
        *,
        secret: str | None = None,
    ) -> None:
        host_set = sorted({h for h in hosts if h and h.lower() not in _NOT_NAMES})
        if secret is None:
            secret = os.environ.get(KEY_ENV) or None
        material = secret if secret is not None else "\n".join(host_set)
        self._key = hashlib.sha256(_DOMAIN + material.encode("utf-8")).digest()
        self._names: dict[str, str] = {}
        for host in host_set:
            self._names.setdefault(host, self.pseudonym("host", host))
        for host in host_set:  # short names of FQDNs, after the full names so a real short host wins
            short = host.split(".", 1)[0]
            if short != host and not _looks_like_ip(host) and short.lower() not in _NOT_NAMES:
                self._names.setdefault(short, self._names[host])
        for user in sorted({u for u in users if u and u not in _NOT_USERS}):
            self._names.setdefault(user, self.pseudonym("user", user))
        self._addresses = {a for a in addresses if a}
        names = sorted(self._names, key=lambda n: (-len(n), n))
        self._pattern = (
            re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])")
            if names
            else None
        )

    @classmethod
    def for_bundles(cls, bundles: Iterable[Any], *, secret: str | None = None) -> Redactor:
        """A redactor that knows every host, address and user name the bundles mention."""
        hosts: set[str] = set()
        users: set[str] = set()
        addresses: set[str] = set()
        for bundle in bundles:
            for record in bundle.hosts:
                hosts.add(record.name)
                if record.via:
                    hosts.add(record.via)
                if record.address:
                    (addresses if _looks_like_ip(record.address) else hosts).add(record.address)
                if record.user:
                    users.add(record.user)
            if bundle.origin.run_from:
                hosts.add(bundle.origin.run_from)
            for cmd in bundle.commands:
                hosts.add(cmd.host)
            for result in bundle.results:
                hosts.add(result.host)
                for finding in result.findings:
                    if finding.host:
                        hosts.add(finding.host)
                for m in result.measurements:
                    if m.host:
                        hosts.add(m.host)
                    if m.metric == "system.hostname" and isinstance(m.value, str):
                        hosts.add(m.value)
                    for label in ("node", "host", "hostname"):
                        if label in m.labels:
                            hosts.add(m.labels[label])
                nodes = result.facts.get("nodes") if isinstance(result.facts, Mapping) else None
                if isinstance(nodes, list):
                    hosts.update(str(n) for n in nodes if isinstance(n, str))
            for imported in bundle.imports:
                if imported.host:
                    hosts.add(imported.host)
        return cls(hosts, users, addresses, secret=secret)

    def pseudonym(self, kind: str, name: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{name}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:8]}"

    def text(self, value: str) -> str:
        """Redact every known name and every IP address in a piece of text."""
        if not value:
            return value
        out = value
        if self._pattern is not None:
            out = self._pattern.sub(lambda m: self._names[m.group(0)], out)
        out = _IPV6_CANDIDATE.sub(self._ip_sub, out)
        out = _IPV4_CANDIDATE.sub(self._ip_sub, out)
        return out

    def _ip_sub(self, match: re.Match[str]) -> str:
        token = match.group(0)
        if not _looks_like_ip(token.split("%", 1)[0]):
            return token
        return self.pseudonym("ip", token)

    def tree(self, value: Any) -> Any:
        """Redact every string (and dict key) in a JSON-like tree."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.tree(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.tree(v) for k, v in value.items()}
        return value


def _looks_like_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True
