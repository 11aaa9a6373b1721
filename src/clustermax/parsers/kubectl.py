"""Parsers for ``kubectl version`` / ``oc version`` and for node objects (``kubectl get nodes -o json|yaml``,
a single Node, or ``kubectl describe node`` text).

Pure functions; they raise only :class:`ParseError`. YAML is read with ``yaml.safe_load``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import bounded_int
from .base import ParsedOutput, ParseError

__all__ = [
    "KubeNode",
    "KubectlNodesOutput",
    "KubectlVersionOutput",
    "detect_kubectl_nodes",
    "detect_kubectl_version",
    "is_gpu_resource",
    "parse_kubectl_nodes",
    "parse_kubectl_version",
]


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_PARSE_KUBECTL_VERSION_RE1 = re.compile(r"^(clientVersion|serverVersion):\s*$", re.M)
_DETECT_KUBECTL_VERSION_RE1 = re.compile(r"^(Client|Server|Kubernetes Server) Version: ", re.M)
_DETECT_KUBECTL_VERSION_RE2 = re.compile(r"^oc v\d", re.M)
_PARSE_KUBECTL_NODES_RE1 = re.compile(r"^\s*(apiVersion|kind|items|metadata|status):", re.M)
_PARSE_KUBECTL_NODES_RE2 = re.compile(r"^\s+[a-z0-9.\-]+/[A-Za-z0-9_.\-]+=", re.M)
_DETECT_KUBECTL_NODES_RE1 = re.compile(r"^\s+(nvidia|amd)\.com/gpu\.[a-z.\-]+=\S", re.M)
_PARSE_KUBECTL_VERSION_RE2 = re.compile(r"^(?P<key>[A-Za-z ]+?) Version: (?P<value>.+)$")
_PARSE_KUBECTL_VERSION_RE3 = re.compile(r"^(?P<tool>oc|kubernetes|openshift) (?P<v>v\S+)$")
_PARSE_KUBECTL_VERSION_RE4 = re.compile(r"^Server https?://")
_DETECT_KUBECTL_VERSION_RE3 = re.compile(r'"(clientVersion|serverVersion)"\s*:')
_DETECT_KUBECTL_VERSION_RE4 = re.compile(r"^clientVersion:\s*$", re.M)
_QTY_RE1 = re.compile(r"\d{1,18}")
_PARSE_KUBECTL_NODES_RE3 = re.compile(r"^Name:\s+\S", re.M)
_PARSE_KUBECTL_NODES_RE4 = re.compile(r"^(Capacity|Allocatable|Labels):", re.M)
_DETECT_KUBECTL_NODES_RE2 = re.compile(r'"kind":\s*"(NodeList|Node)"')
_DETECT_KUBECTL_NODES_RE3 = re.compile(r"^kind: (NodeList|Node)\s*$", re.M)
_DETECT_KUBECTL_NODES_RE4 = re.compile(r"^(Capacity|Allocatable|Taints|Labels):", re.M)
_DETECT_KUBECTL_NODES_RE5 = re.compile(r"nvidia\.com/gpu")
_DETECT_KUBECTL_NODES_RE6 = re.compile(r"^\s*(allocatable|capacity):", re.M)
_DETECT_KUBECTL_NODES_RE7 = re.compile(r"^Capacity:\s*$", re.M)
_DETECT_KUBECTL_NODES_RE8 = re.compile(r"^Allocatable:\s*$", re.M)
_PARSE_KUBECTL_VERSION_RE5 = re.compile(r"^(WARNING|The connection|Unable to|error:)")


def _text(kind: str, text: object) -> str:
    if not isinstance(text, str):
        raise ParseError(kind, f"expected text, got {type(text).__name__}")
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not cleaned.strip():
        raise ParseError(kind, "empty output")
    return cleaned


def _yaml_int(loader: Any, node: Any) -> int | None:
    """A YAML int; None when int() refuses it (past its 4300-digit limit, or ``!!int`` on a word): one
    unreadable value is null, the document still parses."""
    try:
        value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        return None
    return value


class _PyLoader(yaml.SafeLoader):
    """SafeLoader whose ints never raise ValueError (see :func:`_yaml_int`)."""


_PyLoader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
_CLOADER: Any = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with the same int constructor as :class:`_PyLoader`."""

    _CLoader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
    _CLOADER = _CLoader

_CONSTRUCT_ERRORS = (ValueError, KeyError, TypeError, OverflowError)
"""What SafeConstructor raises for a value it cannot build ('!!float x', '!!bool maybe', '!!timestamp')."""


def _unconstructable(err: Exception) -> yaml.YAMLError:
    return yaml.YAMLError(f"a value cannot be read: {type(err).__name__}: {err}")


def _safe_load_all(text: str) -> list[Any]:
    """``list(yaml.safe_load_all(text))``, through libyaml's C scanner when PyYAML has it.

    Same constructors (SafeConstructor), so the same data; when the C loader refuses the text the
    pure-Python loader runs again, so errors keep the message (and the outcome) they always had."""
    if _CLOADER is not None:
        try:
            return list(yaml.load_all(text, Loader=_CLOADER))
        except (yaml.YAMLError, RecursionError, *_CONSTRUCT_ERRORS):  # ValueError: e.g. lone surrogates
            pass
    try:
        return list(yaml.load_all(text, Loader=_PyLoader))
    except _CONSTRUCT_ERRORS as err:
        raise _unconstructable(err) from err


def _safe_load(text: str) -> Any:
    """``yaml.safe_load(text)`` with the C scanner when available (see :func:`_safe_load_all`)."""
    if _CLOADER is not None:
        try:
            return yaml.load(text, Loader=_CLOADER)  # noqa: S506 (CSafeLoader is the safe loader)
        except (yaml.YAMLError, RecursionError, *_CONSTRUCT_ERRORS):  # ValueError: e.g. lone surrogates
            pass
    try:
        return yaml.load(text, Loader=_PyLoader)  # noqa: S506 (a SafeLoader)
    except _CONSTRUCT_ERRORS as err:
        raise _unconstructable(err) from err


# ints that int() refuses (past 4300 digits) decode to None instead of failing the whole document
_JSON = json.JSONDecoder(parse_int=lambda s: bounded_int(s, 4300))


def _first_json(text: str) -> Any:
    """Decode the first JSON object in ``text`` (kubectl may print warnings around it); None if none."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _JSON.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            if start > 2000:
                return None
            continue
        return value
    return None


# ------------------------------------------------------------------------------------------- version


class KubectlVersionOutput(ParsedOutput):
    client_version: str | None = Field(
        default=None, description="kubectl (or oc's Kubernetes) client version."
    )
    server_version: str | None = Field(default=None, description="Kubernetes API server version.")
    kustomize_version: str | None = None
    openshift_version: str | None = Field(default=None, description="OpenShift server version (oc version).")
    oc_version: str | None = Field(
        default=None, description="oc client version (OpenShift 3.x 'oc v3...' line)."
    )
    server_error: str | None = Field(
        default=None, description="Why there is no server version ('The connection to the server ...')."
    )
    format: str | None = Field(default=None, description="json, yaml, go-struct, short or oc3.")


_GIT_VERSION = re.compile(r'GitVersion:"(?P<v>[^"]*)"')
_SERVER_ERRORS = (
    re.compile(r"^The connection to the server .* was refused.*$"),
    re.compile(r"^Unable to connect to the server.*$"),
    re.compile(r"^error: You must be logged in to the server.*$"),
    re.compile(r"^error: .*(server|connection|dial tcp|certificate).*$", re.I),
    re.compile(r"^Error from server.*$"),
)


def _version_value(raw: str) -> str | None:
    raw = raw.strip()
    m = _GIT_VERSION.search(raw)
    if m:
        return m.group("v") or None
    if raw.startswith(("version.Info", "&version.Info")):
        return None
    token = raw.split()[0] if raw.split() else ""
    return token or None


@unwrapped_input
def parse_kubectl_version(text: str) -> KubectlVersionOutput:
    """Parse ``kubectl version`` in every format it has had, and ``oc version`` (3.x and 4.x)."""
    kind = "kubectl-version"
    body = _text(kind, text)
    warnings: list[str] = []
    lines = [line.strip() for line in body.split("\n") if line.strip()]
    for line in lines:
        if line.upper().startswith("WARNING"):
            warnings.append(line)
    server_error = next((line for line in lines for p in _SERVER_ERRORS if p.match(line)), None)
    stripped = body.lstrip()
    if stripped.startswith("{"):
        data = _first_json(body)
        if isinstance(data, dict):
            return _version_from_mapping(data, "json", warnings, server_error)
    if _PARSE_KUBECTL_VERSION_RE1.search(body):
        yaml_lines = [line for line in body.split("\n") if not _PARSE_KUBECTL_VERSION_RE5.match(line)]
        try:
            data = _safe_load("\n".join(yaml_lines))
        except yaml.YAMLError as err:
            raise ParseError(
                kind, f"YAML version output is not valid YAML: {str(err).splitlines()[0]}"
            ) from err
        if isinstance(data, dict):
            return _version_from_mapping(data, "yaml", warnings, server_error)
    out: dict[str, str | None] = {}
    fmt: str | None = None
    in_server = False
    for line in lines:
        m = _PARSE_KUBECTL_VERSION_RE2.match(line)
        if m:
            key = m.group("key").strip().lower()
            value = _version_value(m.group("value"))
            if "version.Info" in m.group("value"):
                fmt = "go-struct"
            elif fmt is None:
                fmt = "short"
            target = {
                "client": "client_version",
                "server": "server_version",
                "kubernetes server": "server_version",
                "kustomize": "kustomize_version",
                "openshift": "openshift_version",
                "openshift server": "openshift_version",
            }.get(key)
            if target and target not in out:
                out[target] = value
            continue
        m3 = _PARSE_KUBECTL_VERSION_RE3.match(line)
        if m3:
            fmt = "oc3"
            tool = m3.group("tool")
            if tool == "oc":
                out.setdefault("oc_version", m3.group("v"))
            elif tool == "openshift":
                out.setdefault("openshift_version", m3.group("v"))
            elif in_server:
                out.setdefault("server_version", m3.group("v"))
            else:
                out.setdefault("client_version", m3.group("v"))
            continue
        if _PARSE_KUBECTL_VERSION_RE4.match(line):
            in_server = True
    if not out and server_error is None:
        raise ParseError(
            kind, "no 'Client Version:' / 'Server Version:' line (expected kubectl version output)"
        )
    if out.get("server_version") is None and server_error:
        warnings.append(f"no server version: {server_error}")
    return KubectlVersionOutput(
        client_version=out.get("client_version"),
        server_version=out.get("server_version"),
        kustomize_version=out.get("kustomize_version"),
        openshift_version=out.get("openshift_version"),
        oc_version=out.get("oc_version"),
        server_error=server_error,
        format=fmt,
        warnings=warnings,
    )


def _version_from_mapping(
    data: dict[str, Any], fmt: str, warnings: list[str], server_error: str | None
) -> KubectlVersionOutput:
    def git(key: str) -> str | None:
        block = data.get(key)
        if isinstance(block, dict):
            value = block.get("gitVersion")
            return str(value) if value not in (None, "") else None
        return None

    client, server = git("clientVersion"), git("serverVersion")
    kustomize = data.get("kustomizeVersion")
    openshift = data.get("openshiftVersion")
    if client is None and server is None:
        raise ParseError("kubectl-version", f"{fmt} has no clientVersion/serverVersion gitVersion")
    if server is None and server_error:
        warnings.append(f"no server version: {server_error}")
    return KubectlVersionOutput(
        client_version=client,
        server_version=server,
        kustomize_version=str(kustomize) if kustomize else None,
        openshift_version=str(openshift) if openshift else None,
        server_error=server_error,
        format=fmt,
        warnings=warnings,
    )


@unwrapped_detect
def detect_kubectl_version(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:4000]
    if _DETECT_KUBECTL_VERSION_RE1.search(head):
        return 0.95
    if _DETECT_KUBECTL_VERSION_RE3.search(head) or _DETECT_KUBECTL_VERSION_RE4.search(head):
        return 0.9
    if _DETECT_KUBECTL_VERSION_RE2.search(head):
        return 0.8
    return 0.0


# --------------------------------------------------------------------------------------------- nodes

# nvidia.com/<Upper...>: the GPU passthrough and vGPU-profile resources of KubeVirt nodes (the GPU
# Operator's sandbox device plugin advertises nvidia.com/GA102GL_A10, nvidia.com/NVIDIA_A10-12Q)
_GPU_RESOURCE = re.compile(
    r"^(nvidia\.com/(gpu(\..+)?|mig-.+|[A-Z][A-Za-z0-9_.-]*)|amd\.com/gpu(\..+)?|gpu\.intel\.com/.+"
    r"|habana\.ai/gaudi)$"
)
_WHOLE_GPU = ("nvidia.com/gpu", "amd.com/gpu", "habana.ai/gaudi")


def is_gpu_resource(name: str) -> bool:
    """nvidia.com/gpu(.shared), nvidia.com/mig-*, KubeVirt's nvidia.com/<GPU or vGPU type>, amd.com/gpu,
    gpu.intel.com/*, habana.ai/gaudi."""
    return bool(_GPU_RESOURCE.match(name))


class KubeNode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(description="metadata.name; null when the input had only part of a node.")
    gpu_capacity: int | None = Field(
        default=None,
        description="Whole GPUs in capacity (nvidia.com/gpu + amd.com/gpu + habana.ai/gaudi); 0 when the "
        "node "
        "has a capacity list without them; null when capacity was not shown.",
    )
    gpu_allocatable: int | None = None
    gpu_product: str | None = Field(
        default=None, description="nvidia.com/gpu.product or amd.com/gpu.product-name."
    )
    gpu_count_label: int | None = Field(
        default=None, description="nvidia.com/gpu.count (or amd.com/gpu.count)."
    )
    labels: dict[str, str] = Field(default_factory=dict)
    ready: bool | None = Field(default=None, description="Ready condition; null when not shown or Unknown.")
    gpu_resources: dict[str, str] = Field(
        default_factory=dict, description="Every GPU resource in capacity (shared and MIG variants too)."
    )
    capacity: dict[str, str] = Field(default_factory=dict)
    allocatable: dict[str, str] = Field(default_factory=dict)
    unschedulable: bool | None = None


class KubectlNodesOutput(ParsedOutput):
    nodes: list[KubeNode] = Field(default_factory=list)
    format: str | None = Field(default=None, description="json, yaml or describe.")


def _qty(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _QTY_RE1.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _gpu_total(resources: dict[str, str], known: bool) -> int | None:
    if not known:
        return None
    total = 0
    for key in _WHOLE_GPU:
        if key in resources:
            q = _qty(resources[key])
            if q is None:
                return None
            total += q
    return total


def _build_node(
    name: str | None,
    labels: dict[str, str],
    capacity: dict[str, str] | None,
    allocatable: dict[str, str] | None,
    ready: bool | None,
    unschedulable: bool | None,
) -> KubeNode:
    cap = capacity or {}
    alloc = allocatable or {}
    product = labels.get("nvidia.com/gpu.product") or labels.get("amd.com/gpu.product-name")
    count_label = _qty(labels.get("nvidia.com/gpu.count") or labels.get("amd.com/gpu.count"))
    return KubeNode(
        name=name,
        gpu_capacity=_gpu_total(cap, capacity is not None),
        gpu_allocatable=_gpu_total(alloc, allocatable is not None),
        gpu_product=product,
        gpu_count_label=count_label,
        labels=labels,
        ready=ready,
        gpu_resources={k: v for k, v in cap.items() if is_gpu_resource(k)},
        capacity=cap,
        allocatable=alloc,
        unschedulable=unschedulable,
    )


def _str_map(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _node_from_object(obj: dict[str, Any], warnings: list[str]) -> KubeNode:
    meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    status: dict[str, Any] = obj["status"] if isinstance(obj.get("status"), dict) else {}
    spec: dict[str, Any] = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    if name is None:
        warnings.append("a node without metadata.name (only part of the object was given)")
    ready = None
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        for cond in conditions:
            if isinstance(cond, dict) and cond.get("type") == "Ready":
                ready = {"True": True, "False": False}.get(str(cond.get("status")))
    unsched = spec.get("unschedulable")
    return _build_node(
        name,
        _str_map(meta.get("labels")) or {},
        _str_map(status.get("capacity")),
        _str_map(status.get("allocatable")),
        ready,
        bool(unsched) if isinstance(unsched, bool) else (False if spec else None),
    )


_LABEL_KEY = re.compile(r"^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]{1,18}(?:\.[0-9]{1,9})?(?:[KMGTPE]i?|[mkun]|e[0-9]{1,3})?$")
_NODE_LABEL_PREFIXES = (
    "kubernetes.io/",
    "beta.kubernetes.io/",
    "node.kubernetes.io/",
    "node-role.kubernetes.io/",
    "topology.kubernetes.io/",
    "feature.node.kubernetes.io/",
    "nvidia.com/",
    "amd.com/",
)
_NODE_RESOURCES = frozenset({"cpu", "memory", "pods", "ephemeral-storage"})


def _fragment(data: dict[str, Any], warnings: list[str]) -> KubeNode | None:
    """A node fragment that filtered JSON leaves (``jq '.metadata.labels'``, ``jq '.status.allocatable'``,
    ``-o jsonpath='{.items[*].metadata.labels}'``): a flat map of label keys (at least one a node label
    such as ``kubernetes.io/hostname`` or ``nvidia.com/gpu.product``) or of resource quantities (node
    resources or GPU resources). None for any other JSON."""
    if not data or not all(isinstance(k, str) and _LABEL_KEY.match(k) for k in data):
        return None
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in data.values()):
        return None
    values = {k: str(v) for k, v in data.items()}
    quantities = all(_QUANTITY.match(v) for v in values.values())
    if quantities and any(k in _NODE_RESOURCES or is_gpu_resource(k) for k in values):
        warnings.append(
            "a node resource map without its node (filtered JSON, e.g. jq '.status.allocatable'): capacity"
            " or allocatable is not told, so the GPU counts are null; GPU resources are listed"
        )
        node = _build_node(None, {}, None, None, None, None)
        node.gpu_resources = {k: v for k, v in values.items() if is_gpu_resource(k)}
        return node
    if any(k.startswith(_NODE_LABEL_PREFIXES) for k in values) and not quantities:
        warnings.append(
            "a node labels map without its node (filtered JSON, e.g. jq '.items[].metadata.labels'):"
            " name, capacity and conditions are not in it"
        )
        return _build_node(None, values, None, None, None, None)
    return None


def _nodes_from_data(data: object, warnings: list[str]) -> list[KubeNode] | None:
    if isinstance(data, list):
        nodes: list[KubeNode] = []
        for item in data:
            sub = _nodes_from_data(item, warnings)
            nodes.extend(sub or [])
        return nodes
    if not isinstance(data, dict):
        return None
    kind = data.get("kind")
    if kind in ("NodeList", "List") or (kind is None and isinstance(data.get("items"), list)):
        items = data.get("items")
        if not isinstance(items, list):
            return []
        out = []
        for item in items:
            if isinstance(item, dict) and item.get("kind", "Node") == "Node":
                out.append(_node_from_object(item, warnings))
            elif isinstance(item, dict):
                warnings.append(f"skipped a {item.get('kind')} item")
        return out
    if kind == "Node" or (kind is None and ("status" in data or "metadata" in data)):
        return [_node_from_object(data, warnings)]  # without a kind: part of a node (no other object)
    fragment = _fragment(data, warnings) if kind is None else None
    return [fragment] if fragment is not None else None


def _json_stream(text: str) -> list[Any] | None:
    """Every JSON value of a text that holds one or several (``jq`` prints one per input), None when the
    text after the first is not JSON."""
    values: list[Any] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            return values
        try:
            value, pos = _JSON.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return values if values and not text[pos:].strip().startswith(("{", "[")) else None
        values.append(value)


@unwrapped_input
def parse_kubectl_nodes(text: str) -> KubectlNodesOutput:
    """Parse ``kubectl get nodes -o json|yaml`` (List/NodeList), one Node, or ``kubectl describe node``."""
    kind = "kubectl-nodes"
    body = _text(kind, text)
    warnings: list[str] = []
    stripped = body.lstrip()
    if stripped.startswith(("{", "[")):
        data: object = _first_json(body) if stripped.startswith("{") else None
        nodes = _nodes_from_data(data, warnings) if data is not None else None
        if nodes is None or (nodes and all(n.name is None for n in nodes)):
            stream = _json_stream(stripped)  # jq prints one JSON value per item (jq '.items[]...')
            if stream:
                warnings.clear()
                nodes = _nodes_from_data(stream if len(stream) > 1 else stream[0], warnings)
        if nodes is None:
            raise ParseError(kind, "JSON is not a Node, NodeList or List (or is cut short)")
        return KubectlNodesOutput(nodes=nodes, format="json", warnings=warnings)
    if _PARSE_KUBECTL_NODES_RE3.search(body) or _PARSE_KUBECTL_NODES_RE4.search(body):
        return _parse_describe(body, warnings)
    if _PARSE_KUBECTL_NODES_RE1.search(body):
        try:
            docs = [d for d in _safe_load_all(body) if d is not None]
        except yaml.YAMLError as err:
            raise ParseError(kind, f"not valid YAML: {str(err).splitlines()[0]}") from err
        except RecursionError as err:
            raise ParseError(kind, "YAML nested too deeply") from err
        nodes = _nodes_from_data(docs if len(docs) != 1 else docs[0], warnings)
        if nodes is None:
            raise ParseError(kind, "YAML is not a Node, NodeList or List")
        return KubectlNodesOutput(nodes=nodes, format="yaml", warnings=warnings)
    if _PARSE_KUBECTL_NODES_RE2.search(body):
        return _parse_describe(body, warnings)
    raise ParseError(kind, "neither node JSON/YAML nor kubectl describe node text")


_SECTION = re.compile(r"^(?P<key>[A-Z][A-Za-z ]*):\s*(?P<value>.*)$")


def _parse_describe(body: str, warnings: list[str]) -> KubectlNodesOutput:
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in body.split("\n"):
        if line.startswith("Name:") and current:
            blocks.append(current)
            current = []
        current.append(line)
    if current:
        blocks.append(current)
    nodes = []
    for block in blocks:
        node = _describe_block(block, warnings)
        if node is not None:
            nodes.append(node)
    if not nodes:
        raise ParseError("kubectl-nodes", "describe text without a node name, labels or resources")
    return KubectlNodesOutput(nodes=nodes, format="describe", warnings=warnings)


def _describe_block(block: list[str], warnings: list[str]) -> KubeNode | None:
    name: str | None = None
    labels: dict[str, str] = {}
    capacity: dict[str, str] | None = None
    allocatable: dict[str, str] | None = None
    ready: bool | None = None
    unschedulable: bool | None = None
    section: str | None = None
    for line in block:
        if not line.strip():
            continue
        m = _SECTION.match(line)
        if m and not line.startswith(" "):
            section = m.group("key")
            value = m.group("value").strip()
            if section == "Name":
                name = value or None
            elif section == "Labels" and value and value != "<none>":
                _label(value, labels)
            elif section == "Capacity":
                capacity = {}
            elif section == "Allocatable":
                allocatable = {}
            elif section == "Unschedulable":
                unschedulable = value.lower() == "true"
            continue
        if not line.startswith((" ", "\t")) and not m:
            if line.strip() != "...":
                section = None
            continue
        content = line.strip()
        if section == "Labels" or (section is None and "=" in content and "/" in content.split("=")[0]):
            _label(content, labels)
        elif section in ("Capacity", "Allocatable"):
            key, sep, value = content.partition(":")
            if sep:
                target = capacity if section == "Capacity" else allocatable
                if target is not None:
                    target[key.strip()] = value.strip()
        elif section in ("Conditions", None):
            parts = content.split()
            if len(parts) >= 2 and parts[0] == "Ready" and parts[1] in ("True", "False", "Unknown"):
                ready = {"True": True, "False": False}.get(parts[1])
    if name is None and not labels and capacity is None and allocatable is None:
        return None
    if name is None:
        warnings.append("describe text without a 'Name:' line (only part of the node was given)")
    return _build_node(name, labels, capacity, allocatable, ready, unschedulable)


def _label(content: str, labels: dict[str, str]) -> None:
    key, sep, value = content.partition("=")
    if sep and key.strip() and " " not in key.strip():
        labels[key.strip()] = value.strip()


@unwrapped_detect
def detect_kubectl_nodes(text: str) -> float:
    if not isinstance(text, str):
        return 0.0
    head = text[:6000]
    stripped = text.lstrip()[:1_000_000]
    if stripped.startswith("{") and not _DETECT_KUBECTL_NODES_RE2.search(head):
        values = _json_stream(stripped)
        if values and all(isinstance(v, dict) and _fragment(v, []) is not None for v in values):
            return 0.8  # filtered node JSON: a labels or resource map per node
    if _DETECT_KUBECTL_NODES_RE2.search(head) or _DETECT_KUBECTL_NODES_RE3.search(head):
        return 0.95
    if _PARSE_KUBECTL_NODES_RE3.search(head) and _DETECT_KUBECTL_NODES_RE4.search(head):
        return 0.85
    if _DETECT_KUBECTL_NODES_RE5.search(head) and _DETECT_KUBECTL_NODES_RE6.search(head):
        return 0.6
    if _DETECT_KUBECTL_NODES_RE7.search(head) and _DETECT_KUBECTL_NODES_RE8.search(head):
        return 0.5  # part of a describe node
    if _DETECT_KUBECTL_NODES_RE1.search(head):
        return 0.4  # node labels as describe prints them
    return 0.0
