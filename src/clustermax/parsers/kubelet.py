"""The kubelet's CPU manager policy, from the kubelet's ``/configz`` (``kubectl get --raw
/api/v1/nodes/<node>/proxy/configz``, JSON) or its state file ``/var/lib/kubelet/cpu_manager_state``.
Pure; None when the text is neither."""

from __future__ import annotations

import json
from typing import Any

DEFAULT_POLICY = "none"
"""The kubelet's default (KubeletConfiguration reference: cpuManagerPolicy, default "none")."""


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def cpu_manager_policy(text: str) -> str | None:
    """``static`` / ``none`` of a configz body ({"kubeletconfig": {...}}; a missing key is the kubelet's
    default, ``none``) or of a cpu_manager_state file ({"policyName": ...})."""
    data = _load(text)
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("kubeletconfig"), dict):
        data = data["kubeletconfig"]
        value = data.get("cpuManagerPolicy", DEFAULT_POLICY)
        return str(value) if value else DEFAULT_POLICY
    if "policyName" in data and isinstance(data["policyName"], str):
        return data["policyName"]
    return None
