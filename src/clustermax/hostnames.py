"""Host names that came from the audited cluster: one strict grammar, checked at the trust boundary.

Names the cluster reports (Slurm's ``scontrol show node``, Kubernetes node names, any host a probe's facts
produce) are untrusted. Before such a name touches an ssh_config lookup (paramiko evaluates ``Match exec``
with the name substituted into a local shell command), a connection, a path, a terminal or a command, it
must be a plain host name:

* dot-separated labels of ASCII letters, digits, ``-`` and ``_``, each starting and ending with a letter
  or digit, at most 63 characters each and 253 in all (RFC 1123 host names; ``_`` for Slurm node names);
* or, for an address, an IPv4 or IPv6 literal.

No shell metacharacter, no whitespace or control character, no ``:`` (it would become a port), no ``/``
(a path), no leading ``-`` (an option). A name that fails is *rejected*: recorded as not contacted, never
used. The check does not depend on the user's ssh_config: it holds whatever that file contains.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
MAX_NAME = 253


def is_host_name(text: object) -> bool:
    """True when ``text`` is a plain host name (the grammar above; an IPv4 literal is one too)."""
    return isinstance(text, str) and len(text) <= MAX_NAME and _HOST_RE.fullmatch(text) is not None


def is_ip_address(text: object) -> bool:
    """True for an IPv4 or IPv6 literal (no brackets, no port, no zone index)."""
    if not isinstance(text, str) or not text or len(text) > 45 or "%" in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_host_address(text: object) -> bool:
    """A host name or an IP literal: what may be connected to."""
    return is_host_name(text) or is_ip_address(text)


def shown(text: object, limit: int = 80) -> str:
    """A rejected name as it may be shown in a message: quoted, control characters escaped, cut short."""
    raw = text if isinstance(text, str) else repr(text)
    out = raw.encode("unicode_escape").decode("ascii")
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return "'" + out.replace("'", "\\'") + "'"


def rejection(text: object, what: str = "node name") -> str:
    """Why ``text`` is refused, in one sentence (for the bundle and the terminal)."""
    if isinstance(text, str) and ":" in text and not is_ip_address(text):
        why = "it holds ':' (clustermax never turns part of a name into a port)"
    elif isinstance(text, str) and len(text) > MAX_NAME:
        why = f"it is longer than {MAX_NAME} characters"
    else:
        why = "a host name has only letters, digits, '-', '_' and '.'"
    return f"the cluster reported the {what} {shown(text)}, which is not a valid host name: {why}"


_NUMBERED = re.compile(r"^(.*?)(\d+)(\D*)$")


def hostlist(names: list[str] | tuple[str, ...]) -> str:
    """Names in Slurm's compressed host-list form: ``node[0001-0987,0990],login1``.

    Names that differ only in one trailing number (same prefix, suffix and zero-padded width) become one
    bracketed group of ranges; the others are listed as they are. Groups come in the order of their
    first name, numbers in numeric order; ``hostlist`` of what Slurm would expand gives back the names.
    """
    groups: dict[tuple[str, str, int], list[int]] = {}
    order: list[tuple[str, str, int] | str] = []
    for name in names:
        m = _NUMBERED.match(name)
        if m is None:
            order.append(name)
            continue
        prefix, digits, suffix = m.groups()
        width = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
        key = (prefix, suffix, width)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(digits))
    for key in [k for k in groups if k[2] == 0]:  # node1000 belongs with node0998, node0999
        prefix, suffix, _ = key
        for n in list(groups[key]):
            padded = (prefix, suffix, len(str(n)))
            if padded in groups:
                groups[padded].append(n)
                groups[key].remove(n)
        if not groups[key]:
            del groups[key]
            order.remove(key)
    out: list[str] = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        prefix, suffix, width = item
        numbers = sorted(set(groups[item]))
        if len(numbers) == 1:
            out.append(f"{prefix}{numbers[0]:0{width}d}{suffix}")
            continue
        spans: list[list[int]] = []
        for n in numbers:
            if spans and n == spans[-1][1] + 1:
                spans[-1][1] = n
            else:
                spans.append([n, n])
        ranges = [f"{a:0{width}d}" if a == b else f"{a:0{width}d}-{b:0{width}d}" for a, b in spans]
        out.append(f"{prefix}[{','.join(ranges)}]{suffix}")
    return ",".join(out)
