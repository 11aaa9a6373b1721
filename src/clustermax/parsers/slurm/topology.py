"""``scontrol show topology``: the switch (tree plugin) or block (block plugin) records."""

from __future__ import annotations

import re

_RECORD = re.compile(r"^\s*(?:SwitchName|BlockName)=\S+", re.MULTILINE)


def topology_switches(text: str) -> int:
    """Switch (tree) or block records printed by ``scontrol show topology``."""
    return len(_RECORD.findall(text))
