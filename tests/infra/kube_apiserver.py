"""A small fake Kubernetes API server (stdlib ``http.server``) that the real ``kubectl`` talks to.

No real kube-apiserver can run on the test machine (see the test-infrastructure notes), so the
Kubernetes probes are tested against this server, driven by the real kubectl binary.

What it serves, and where each byte comes from:

* **Recorded real objects**, loaded verbatim from ``tests/data/k8s-objects/`` (Nodes, DaemonSets,
  StorageClasses ...; JSON or YAML, ``List`` kinds expanded). Objects without a namespace that must have
  one get ``default``, as a ``kubectl create`` would give them.
* **RBAC decisions** for SelfSubjectAccessReview / SelfSubjectRulesReview and for every request, computed
  from a recorded real Role or ClusterRole (its ``rules``), the identity of the kubeconfig's user.
* **API envelope it invents** (only what kubectl needs to work): ``List`` kinds with ``metadata``,
  discovery documents (``/api``, ``/apis``, ``APIResourceList`` per group/version, including the
  custom resource types a scenario declares as installed, such as ``mpijobs.kubeflow.org``), and
  ``Status`` objects for errors (403, 404, 409, 405).
* **Pods created by clients** (time to first pod): the posted Pod gets uid, creationTimestamp and a
  status that moves on a timer through the phases of a recorded real GPU pod
  (``pod-cuda-vectoradd.yaml.source``: ContainerCreating, Running, Completed): Pending (unscheduled),
  Pending on a node (ContainerCreating), Running, Succeeded. A pod that asks for more ``nvidia.com/gpu``
  than any node has allocatable stays Pending with the scheduler's ``Unschedulable`` condition, as a real
  scheduler leaves it. Delete removes a pod at once.
* **MPIJobs created by clients** (kubeflow.org/v2beta1, when the scenario declares the type installed):
  the posted MPIJob is stored; ``mpijob_pods_after_s`` later the fake plays the MPI Operator and creates
  the pods the operator creates (``<job>-worker-<i>`` per Worker replica, one on each GPU node, and
  ``<job>-launcher-<5 chars>``), labelled as the operator labels them (``training.kubeflow.org/job-name``,
  ``job-role``, ``replica-type``, ``replica-index``) on top of the templates' labels, owned by the MPIJob.
  They move through the pod phases above; workers stay Running (sshd), the launcher succeeds, or stays
  Running forever with ``mpijob_launcher_hangs``. The MPIJob's status conditions (Created, Running,
  Succeeded) follow its launcher. Deleting the MPIJob deletes its pods (the garbage collector's work).
* **Launcher logs** (``GET .../pods/<launcher>/log``): the recorded real nccl-tests output named by
  ``mpijob_log`` (a real MPIJob's launcher log), served verbatim once the launcher has succeeded; while it
  runs, only the log's leading ``#`` header lines (what nccl-tests prints before its first result row).
* **Pods pinned to a node** (``spec.nodeName``, or a required node affinity on ``metadata.name``, as the
  DaemonSet controller and clustermax's node pods pin them) are placed on that node, and only when its
  allocatable ``nvidia.com/gpu`` minus the GPUs of the pods already bound there and not finished covers
  the request; otherwise they stay Pending with the scheduler's ``Unschedulable`` condition. A pod whose
  command is ``sleep infinity`` (a tenant's long job holding GPUs) stays Running.
* **Node-probe pod logs** (pods labelled ``clustermax-role=node-probes``): once such a pod has
  succeeded, the fake plays its container: it runs the pod's own command (``bash -c`` of the wrapper
  clustermax sent) with the pod's environment, except that each probe script ``CMX_SCRIPT_<i>`` is
  replaced by ``cat`` of the recorded real output that ``node_pod_outputs`` names for that probe id
  (paths relative to tests/data; a probe without one prints nothing). The log is what that printed.
* **Status-only Node documents** (``node_status_files``: a recorded ``status:`` block of a real Node, as
  posted in an issue) get the Node envelope (kind, apiVersion, ``metadata.name`` = the node's own
  Hostname address).

Run it as a process (``python -m tests.infra.kube_apiserver --config FILE``): the pytest fixtures start
it on 127.0.0.1 or inside a test host's network namespace (``nsenter``), and stop it by PID. The
config is JSON: ``objects`` (paths), ``rbac`` (path of a Role/ClusterRole), ``version`` (path of a
/version body), ``custom_resources`` ([group, version, plural, kind, namespaced]), ``pod_timing_s``
([scheduled, running, succeeded] seconds after creation), ``node_status_files`` (paths), ``mpijob_log``
(path), ``mpijob_pods_after_s``, ``mpijob_launcher_hangs``, ``node_pod_outputs`` ({probe id: path}), ``host``,
``port``, ``log`` (request log path).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

Obj = dict[str, Any]

# kind -> (group, version, plural, namespaced): the built-in types the fake knows
SHORT_NAMES = {
    "nodes": ["no"],
    "pods": ["po"],
    "namespaces": ["ns"],
    "services": ["svc"],
    "daemonsets": ["ds"],
    "deployments": ["deploy"],
    "storageclasses": ["sc"],
    "customresourcedefinitions": ["crd", "crds"],
}
BUILTIN: dict[str, tuple[str, str, str, bool]] = {
    "Node": ("", "v1", "nodes", False),
    "Pod": ("", "v1", "pods", True),
    "Namespace": ("", "v1", "namespaces", False),
    "Service": ("", "v1", "services", True),
    "DaemonSet": ("apps", "v1", "daemonsets", True),
    "Deployment": ("apps", "v1", "deployments", True),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
}
REVIEWS = {
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
}
USER = "system:serviceaccount:default:clustermax-audit"


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_objects(path: Path) -> list[Obj]:
    """Objects in a JSON/YAML file (several YAML documents and ``List`` kinds are expanded)."""
    text = path.read_text(encoding="utf-8")
    docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))
    out: list[Obj] = []
    for doc in docs:
        if not doc:
            continue
        if str(doc.get("kind", "")).endswith("List") and "items" in doc:
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


@dataclass
class Rule:
    verbs: list[str]
    api_groups: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    resource_names: list[str] = field(default_factory=list)
    non_resource_urls: list[str] = field(default_factory=list)
    namespace: str | None = None
    """Namespace of a Role's rule; None for a ClusterRole (every namespace and the cluster scope)."""

    def allows(self, verb: str, group: str, resource: str, namespace: str | None, name: str = "") -> bool:
        if self.non_resource_urls:
            return False
        if self.namespace is not None and namespace != self.namespace:
            return False
        if not _match(self.verbs, verb) or not _match(self.api_groups, group):
            return False
        if not _match(self.resources, resource):
            return False
        return not self.resource_names or name in self.resource_names

    def allows_path(self, verb: str, path: str) -> bool:
        if not self.non_resource_urls or not _match(self.verbs, verb):
            return False
        return any(
            u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1]))
            for u in self.non_resource_urls
        )


def _match(values: list[str], value: str) -> bool:
    return "*" in values or value in values


def rules_of(role: Obj) -> list[Rule]:
    ns = role.get("metadata", {}).get("namespace") if role.get("kind") == "Role" else None
    return [
        Rule(
            verbs=list(r.get("verbs", [])),
            api_groups=list(r.get("apiGroups", [])),
            resources=list(r.get("resources", [])),
            resource_names=list(r.get("resourceNames", [])),
            non_resource_urls=list(r.get("nonResourceURLs", [])),
            namespace=ns,
        )
        for r in role.get("rules", [])
    ]


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass
class CreatedPod:
    obj: Obj
    t0: float
    gpus: int
    node: str = ""
    """Node the pod is placed on (empty: the first GPU node)."""
    forever: bool = False
    """Stays Running once started (an MPI worker's sshd, or a hung launcher)."""
    pinned: str = ""
    """The node the pod asks for by name (nodeName or a metadata.name node affinity), if any."""


@dataclass
class CreatedMPIJob:
    t0: float
    spawned: bool = False
    launcher: str = ""


MPIJOBS = "mpijobs.kubeflow.org"
JOB_LABEL = "training.kubeflow.org/job-name"
ROLE_LABEL = "training.kubeflow.org/job-role"


class FakeCluster:
    """The state behind the HTTP handler. Thread-safe (one lock)."""

    def __init__(self, config: Obj, base: Path) -> None:
        self.lock = threading.Lock()
        self.types: dict[str, ResourceType] = {}
        for kind, (g, v, plural, ns) in BUILTIN.items():
            self.types[plural if not g else f"{plural}.{g}"] = ResourceType(g, v, plural, kind, ns)
        for g, v, plural, kind, ns in config.get("custom_resources", []):
            self.types[f"{plural}.{g}"] = ResourceType(g, v, plural, kind, bool(ns))
        self.store: dict[str, dict[tuple[str, str], Obj]] = {key: {} for key in self.types}
        for rel in config.get("objects", []):
            for obj in load_objects(_path(base, rel)):
                self.add(obj)
        for rel in config.get("node_status_files", []):
            for doc in load_objects(_path(base, rel)):
                addrs = doc.get("status", {}).get("addresses", [])
                name = next(a["address"] for a in addrs if a.get("type") == "Hostname")
                self.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, **doc})
        self.rules: list[Rule] = []
        if config.get("rbac"):
            for role in load_objects(_path(base, config["rbac"])):
                self.rules.extend(rules_of(role))
        self.version: Obj = (
            json.loads(_path(base, config["version"]).read_text()) if config.get("version") else {}
        )
        timing = config.get("pod_timing_s", [0.3, 0.6, 1.2])
        self.t_sched, self.t_run, self.t_done = (float(x) for x in timing)
        self.pods: dict[tuple[str, str], CreatedPod] = {}
        self.rv = 1000
        self.mpijob_log = _path(base, config["mpijob_log"]).read_text() if config.get("mpijob_log") else ""
        self.mpijob_pods_after = float(config.get("mpijob_pods_after_s", 0.3))
        self.launcher_hangs = bool(config.get("mpijob_launcher_hangs"))
        self.mpijobs: dict[tuple[str, str], CreatedMPIJob] = {}
        self.node_pod_outputs: dict[str, str] = {
            k: str(_path(base, v)) for k, v in (config.get("node_pod_outputs") or {}).items()
        }
        self.node_pod_logs: dict[tuple[str, str], str] = {}

    # --- objects ---------------------------------------------------------------------------
    def type_of_kind(self, kind: str) -> tuple[str, ResourceType]:
        for key, rt in self.types.items():
            if rt.kind == kind:
                return key, rt
        raise KeyError(kind)

    def add(self, obj: Obj) -> None:
        key, rt = self.type_of_kind(obj["kind"])
        meta = obj.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        self.store[key][(meta.get("namespace", ""), meta["name"])] = obj

    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def max_allocatable_gpus(self) -> int:
        counts = [
            int(n.get("status", {}).get("allocatable", {}).get("nvidia.com/gpu", "0"))
            for n in self.store["nodes"].values()
        ]
        return max(counts, default=0)

    def gpu_nodes(self) -> list[str]:
        return [
            str(node["metadata"]["name"])
            for node in self.store["nodes"].values()
            if int(node.get("status", {}).get("allocatable", {}).get("nvidia.com/gpu", "0")) > 0
        ]

    def gpu_node(self) -> str:
        nodes = self.gpu_nodes()
        return nodes[0] if nodes else ""

    def allocatable_gpus(self, node: str) -> int:
        obj = self.store["nodes"].get(("", node))
        return int((obj or {}).get("status", {}).get("allocatable", {}).get("nvidia.com/gpu", "0"))

    def gpus_bound(self, node: str, but: tuple[str, str]) -> int:
        """GPUs of the pods bound to ``node`` that have not finished (``but`` excluded)."""
        total = 0
        for key, cp in self.pods.items():
            if key == but or cp.node != node or cp.gpus == 0:
                continue
            if cp.obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            total += cp.gpus
        return total

    def create_pod(self, ns: str, body: Obj, node: str = "", forever: bool = False) -> tuple[int, Obj]:
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            return 422, status_obj(422, "Invalid", 'Pod "" is invalid: metadata.name: Required value')
        if (ns, name) in self.store["pods"]:
            return 409, status_obj(
                409, "AlreadyExists", f'pods "{name}" already exists', name=name, kind="pods"
            )
        meta.update(
            namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now_iso(), resourceVersion=self.next_rv()
        )
        body.setdefault("apiVersion", "v1")
        body.setdefault("kind", "Pod")
        gpus = 0
        for c in body.get("spec", {}).get("containers", []):
            res = c.get("resources", {})
            gpus += int(
                str(
                    res.get("limits", {}).get(
                        "nvidia.com/gpu", res.get("requests", {}).get("nvidia.com/gpu", 0)
                    )
                )
            )
        spec = body.get("spec", {})
        pinned = str(spec.get("nodeName") or "")
        for term in (
            spec.get("affinity", {})
            .get("nodeAffinity", {})
            .get("requiredDuringSchedulingIgnoredDuringExecution", {})
            .get("nodeSelectorTerms", [])
        ):
            for expr in term.get("matchFields", []):
                if expr.get("key") == "metadata.name" and expr.get("operator") == "In" and expr.get("values"):
                    pinned = str(expr["values"][0])
        command = [
            str(a) for c in spec.get("containers", []) for a in c.get("command", []) + c.get("args", [])
        ]
        forever = forever or command[-2:] == ["sleep", "infinity"]
        self.store["pods"][(ns, name)] = body
        self.pods[(ns, name)] = CreatedPod(
            body, time.monotonic(), gpus, node=node, forever=forever, pinned=pinned
        )
        self.refresh_pod(ns, name)
        return 201, body

    # --- MPIJobs (the MPI Operator's part) ------------------------------------------------------
    def create_mpijob(self, ns: str, body: Obj) -> tuple[int, Obj]:
        meta = body.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            return 422, status_obj(
                422, "Invalid", 'MPIJob.kubeflow.org "" is invalid: metadata.name: Required value'
            )
        if (ns, name) in self.store[MPIJOBS]:
            return 409, status_obj(
                409,
                "AlreadyExists",
                f'mpijobs.kubeflow.org "{name}" already exists',
                name=name,
                kind="mpijobs",
            )
        meta.update(
            namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now_iso(), resourceVersion=self.next_rv()
        )
        body["status"] = {
            "conditions": [
                {
                    "type": "Created",
                    "status": "True",
                    "reason": "MPIJobCreated",
                    "message": f"MPIJob {ns}/{name} is created.",
                    "lastTransitionTime": now_iso(),
                    "lastUpdateTime": now_iso(),
                }
            ]
        }
        self.store[MPIJOBS][(ns, name)] = body
        self.mpijobs[(ns, name)] = CreatedMPIJob(time.monotonic())
        return 201, body

    def tick(self) -> None:
        """Play the MPI Operator: create the pods of MPIJobs that are due; follow their launchers."""
        for (ns, name), job in list(self.mpijobs.items()):
            obj = self.store[MPIJOBS].get((ns, name))
            if obj is None:
                continue
            if not job.spawned and time.monotonic() - job.t0 >= self.mpijob_pods_after:
                job.spawned = True
                job.launcher = self._spawn(ns, name, obj)
            if job.launcher and (ns, job.launcher) in self.pods:
                self.refresh_pod(ns, job.launcher)
                phase = self.store["pods"][(ns, job.launcher)].get("status", {}).get("phase")
                conds = obj["status"]["conditions"]
                have = {c["type"] for c in conds}
                for kind, wanted in (("Running", ("Running", "Succeeded")), ("Succeeded", ("Succeeded",))):
                    if phase in wanted and kind not in have:
                        conds.append(
                            {
                                "type": kind,
                                "status": "True",
                                "reason": f"MPIJob{kind}",
                                "message": f"MPIJob {ns}/{name} is {kind.lower()}.",
                                "lastTransitionTime": now_iso(),
                                "lastUpdateTime": now_iso(),
                            }
                        )

    def _spawn(self, ns: str, name: str, job: Obj) -> str:
        specs = job.get("spec", {}).get("mpiReplicaSpecs", {})
        owner = {
            "apiVersion": "kubeflow.org/v2beta1",
            "kind": "MPIJob",
            "name": name,
            "uid": job["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        nodes = self.gpu_nodes() or [""]

        def pod(role: str, pod_name: str, index: int | None) -> Obj:
            tmpl = copy.deepcopy(specs.get(role.capitalize(), {}).get("template", {}))
            labels = dict(tmpl.get("metadata", {}).get("labels") or {})
            labels.update({JOB_LABEL: name, ROLE_LABEL: role, "training.kubeflow.org/replica-type": role})
            if index is not None:
                labels["training.kubeflow.org/replica-index"] = str(index)
            meta = {"name": pod_name, "labels": labels, "ownerReferences": [owner]}
            return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl.get("spec", {})}

        workers = int(specs.get("Worker", {}).get("replicas", 0) or 0)
        for i in range(workers):
            self.create_pod(
                ns, pod("worker", f"{name}-worker-{i}", i), node=nodes[i % len(nodes)], forever=True
            )
        launcher = f"{name}-launcher-{uuid.uuid4().hex[:5]}"
        self.create_pod(ns, pod("launcher", launcher, None), forever=self.launcher_hangs)
        return launcher

    def delete_owned(self, ns: str, name: str) -> None:
        """The garbage collector's part: an MPIJob's pods go with it."""
        self.mpijobs.pop((ns, name), None)
        for key, obj in list(self.store["pods"].items()):
            if key[0] == ns and (obj.get("metadata", {}).get("labels") or {}).get(JOB_LABEL) == name:
                self.store["pods"].pop(key, None)
                self.pods.pop(key, None)

    def launcher_log(self, ns: str, name: str) -> tuple[int, str]:
        """The log of a created pod: the recorded launcher log (header only while it runs)."""
        self.refresh_pod(ns, name)
        pod = self.store["pods"][(ns, name)]
        phase = pod.get("status", {}).get("phase")
        waiting = [
            c["state"]["waiting"].get("reason", "")
            for c in pod.get("status", {}).get("containerStatuses", [])
            if "waiting" in c.get("state", {})
        ]
        if phase == "Pending":
            container = (pod.get("spec", {}).get("containers") or [{}])[0].get("name", "")
            reason = waiting[0] if waiting else "ContainerCreating"
            return 400, f'container "{container}" in pod "{name}" is waiting to start: {reason}'
        labels = pod["metadata"].get("labels") or {}
        if labels.get("clustermax-role") == "node-probes":
            return 200, self.node_pod_log(ns, name, pod) if phase == "Succeeded" else ""
        if labels.get(ROLE_LABEL) != "launcher":
            return 200, ""
        if phase == "Succeeded":
            return 200, self.mpijob_log
        head = []
        for line in self.mpijob_log.splitlines(keepends=True):
            if not line.startswith("#"):
                break
            head.append(line)
        return 200, "".join(head)

    def node_pod_log(self, ns: str, name: str, pod: Obj) -> str:
        """Play a node-probe pod's container once: its own command, each probe's script replaced by
        ``cat`` of that probe's recorded output (see the module docstring)."""
        import shlex
        import subprocess

        if (ns, name) in self.node_pod_logs:
            return self.node_pod_logs[(ns, name)]
        container = pod["spec"]["containers"][0]
        env = {e["name"]: str(e.get("value", "")) for e in container.get("env", [])}
        for i, probe_id in enumerate(env.get("CMX_PROBES", "").split()):
            path = self.node_pod_outputs.get(probe_id)
            env[f"CMX_SCRIPT_{i}"] = f"cat {shlex.quote(path)}\n" if path else "exit 0\n"
        env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        out = subprocess.run(
            container["command"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60
        )
        text = out.stdout.decode("utf-8", "replace")
        self.node_pod_logs[(ns, name)] = text
        return text

    def refresh_pod(self, ns: str, name: str) -> None:
        """Move a created pod along its phases (Pending, scheduled, Running, Succeeded) by elapsed time."""
        cp = self.pods.get((ns, name))
        if cp is None:
            return
        pod, dt = cp.obj, time.monotonic() - cp.t0
        if cp.forever:
            dt = min(dt, (self.t_run + self.t_done) / 2)
        spec, containers = pod.setdefault("spec", {}), pod.get("spec", {}).get("containers", [])
        status: Obj = {"phase": "Pending", "qosClass": "BestEffort"}
        if cp.pinned and not cp.node and dt >= self.t_sched:
            free = self.allocatable_gpus(cp.pinned) - self.gpus_bound(cp.pinned, (ns, name))
            if cp.gpus <= free:
                cp.node = cp.pinned
            else:
                n = len(self.store["nodes"])
                others = f", {n - 1} node(s) didn't match Pod's node affinity/selector" if n > 1 else ""
                status["conditions"] = [
                    {
                        "lastProbeTime": None,
                        "lastTransitionTime": pod["metadata"]["creationTimestamp"],
                        "message": f"0/{n} nodes are available: 1 Insufficient nvidia.com/gpu{others}.",
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }
                ]
                pod["status"] = status
                return
        if cp.gpus > self.max_allocatable_gpus() or dt < self.t_sched:
            if cp.gpus > self.max_allocatable_gpus():
                n = len(self.store["nodes"])
                status["conditions"] = [
                    {
                        "lastProbeTime": None,
                        "lastTransitionTime": pod["metadata"]["creationTimestamp"],
                        "message": f"0/{n} nodes are available: {n} Insufficient nvidia.com/gpu.",
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }
                ]
            pod["status"] = status
            return
        spec["nodeName"] = cp.node or self.gpu_node()
        status["conditions"] = [
            {"lastProbeTime": None, "lastTransitionTime": now_iso(), "status": "True", "type": "PodScheduled"}
        ]
        status["startTime"] = pod["metadata"]["creationTimestamp"]
        state: Obj
        if dt < self.t_run:
            state = {"waiting": {"reason": "ContainerCreating"}}
        elif dt < self.t_done:
            status["phase"] = "Running"
            state = {"running": {"startedAt": now_iso()}}
        else:
            status["phase"] = "Succeeded"
            state = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": now_iso(),
                    "finishedAt": now_iso(),
                }
            }
        status["containerStatuses"] = [
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": "",
                "ready": "running" in state,
                "restartCount": 0,
                "started": "running" in state,
                "state": state,
            }
            for c in containers
        ]
        pod["status"] = status

    # --- RBAC -----------------------------------------------------------------------------
    def allowed(self, verb: str, group: str, resource: str, namespace: str | None, name: str = "") -> bool:
        return any(r.allows(verb, group, resource, namespace, name) for r in self.rules)

    def rules_review(self, namespace: str) -> Obj:
        resource_rules, non_resource = [], []
        # what every authenticated user may do (system:basic-user, system:discovery)
        resource_rules.append(
            {
                "verbs": ["create"],
                "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
            }
        )
        non_resource.append(
            {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/version"]}
        )
        for r in self.rules:
            if r.non_resource_urls:
                non_resource.append({"verbs": r.verbs, "nonResourceURLs": r.non_resource_urls})
            elif r.namespace is None or r.namespace == namespace:
                entry: Obj = {"verbs": r.verbs, "apiGroups": r.api_groups, "resources": r.resources}
                if r.resource_names:
                    entry["resourceNames"] = r.resource_names
                resource_rules.append(entry)
        return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}


def _path(base: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else base / p


def status_obj(code: int, reason: str, message: str, name: str = "", kind: str = "") -> Obj:
    out: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if name or kind:
        out["details"] = {"name": name, "kind": kind}
    return out


PROTO_MAGIC = b"k8s\x00"


def _pb_fields(buf: bytes) -> dict[int, list[bytes | int]]:
    """Fields of one protobuf message: varints as int, length-delimited as bytes (enough for reviews)."""
    out: dict[int, list[bytes | int]] = {}
    i = 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out.setdefault(num, []).append(varint())
        elif wire == 2:
            n = varint()
            out.setdefault(num, []).append(buf[i : i + n])
            i += n
        elif wire == 5:
            i += 4
        elif wire == 1:
            i += 8
        else:
            break
    return out


def _pb_str(fields: dict[int, list[bytes | int]], num: int) -> str:
    v = fields.get(num, [b""])[0]
    return v.decode() if isinstance(v, bytes) else ""


def review_from_protobuf(raw: bytes) -> Obj:
    """Decode a SelfSubject{Access,Rules}Review sent as Kubernetes protobuf (a runtime.Unknown)."""
    unknown = _pb_fields(raw[len(PROTO_MAGIC) :])
    type_meta = _pb_fields(bytes(unknown.get(1, [b""])[0]))  # type: ignore[arg-type]
    kind = _pb_str(type_meta, 2)
    msg = _pb_fields(bytes(unknown.get(2, [b""])[0]))  # type: ignore[arg-type]
    spec = _pb_fields(bytes(msg.get(2, [b""])[0]))  # type: ignore[arg-type]
    body: Obj = {"kind": kind, "apiVersion": "authorization.k8s.io/v1", "metadata": {}}
    if kind == "SelfSubjectRulesReview":
        body["spec"] = {"namespace": _pb_str(spec, 1)}
        return body
    out_spec: Obj = {}
    if 1 in spec:
        ra = _pb_fields(bytes(spec[1][0]))  # type: ignore[arg-type]
        names = ["namespace", "verb", "group", "version", "resource", "subresource", "name"]
        out_spec["resourceAttributes"] = {k: _pb_str(ra, i + 1) for i, k in enumerate(names) if i + 1 in ra}
    if 2 in spec:
        nra = _pb_fields(bytes(spec[2][0]))  # type: ignore[arg-type]
        out_spec["nonResourceAttributes"] = {"path": _pb_str(nra, 1), "verb": _pb_str(nra, 2)}
    body["spec"] = out_spec
    return body


def match_labels(selector: str, labels: dict[str, str]) -> bool:
    """Equality-based label selectors: ``a=b``, ``a==b``, ``a!=b``, ``a``, ``!a``, comma-separated."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k.strip()) == v.strip():
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k.strip()) != v.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def match_fields(selector: str, obj: Obj) -> bool:
    meta = obj.get("metadata", {})
    for term in filter(None, (t.strip() for t in selector.split(","))):
        neg = "!=" in term
        k, v = term.replace("!=", "=").replace("==", "=").split("=", 1)
        actual = {
            "metadata.name": meta.get("name"),
            "metadata.namespace": meta.get("namespace"),
            "status.phase": obj.get("status", {}).get("phase"),
            "spec.nodeName": obj.get("spec", {}).get("nodeName"),
        }.get(k.strip())
        if (actual == v.strip()) == neg:
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    log_path: Path | None = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.log_path:
            with self.log_path.open("a") as fh:
                fh.write(f"{self.command} {self.path} -> {args[1] if len(args) > 1 else ''}\n")

    def send_json(self, code: int, body: Obj) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self) -> Obj:
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        if raw.startswith(PROTO_MAGIC):  # typed clients (auth can-i) send protobuf
            return review_from_protobuf(raw)
        parsed = yaml.safe_load(raw.decode() or "{}")  # kubectl may send JSON or YAML
        return parsed if isinstance(parsed, dict) else {}

    def forbidden(self, verb: str, group: str, resource: str, ns: str | None, name: str = "") -> None:
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        what = f'{resource} "{name}"' if name else resource
        msg = (
            f'{what} is forbidden: User "{USER}" cannot {verb} resource "{resource}" '
            f'in API group "{group}" {scope}'
        )
        self.send_json(403, status_obj(403, "Forbidden", msg, name=name, kind=resource))

    # --- discovery --------------------------------------------------------------------------
    def discovery(self, path: str) -> Obj | None:
        c = self.cluster
        if path == "/version":
            return c.version
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        groups: dict[str, list[str]] = {}
        for rt in c.types.values():
            if rt.group:
                groups.setdefault(rt.group, [])
                if rt.version not in groups[rt.group]:
                    groups[rt.group].append(rt.version)
        groups.setdefault("authorization.k8s.io", ["v1"])
        if path == "/apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [
                    {
                        "name": g,
                        "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                    }
                    for g, vs in sorted(groups.items())
                ],
            }
        gv = path.removeprefix("/api/") if path.startswith("/api/") else path.removeprefix("/apis/")
        if (path.startswith("/api/") and gv != "v1") or (path.startswith("/apis/") and gv.count("/") != 1):
            return None
        resources = [
            {
                "name": rt.plural,
                "singularName": rt.kind.lower(),
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "shortNames": SHORT_NAMES.get(rt.plural, []),
            }
            for rt in c.types.values()
            if rt.group_version == gv
        ]
        if gv == "authorization.k8s.io/v1":
            resources += [
                {"name": plural, "singularName": "", "namespaced": False, "kind": kind, "verbs": ["create"]}
                for plural, kind in REVIEWS.items()
            ]
        if not resources:
            return None
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    # --- resource paths ---------------------------------------------------------------------
    def parse(self, path: str) -> tuple[str, ResourceType, str | None, str | None, str] | None:
        """path -> (store key, type, namespace, name, subresource); None when not a resource path."""
        parts = [p for p in path.split("/") if p]
        if not parts:
            return None
        if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        sub = rest[2] if len(rest) > 2 else ""
        key = plural if not group else f"{plural}.{group}"
        rt = self.cluster.types.get(key)
        if rt is None or rt.version != version:
            return None
        return key, rt, ns, name, sub

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        c = self.cluster
        with c.lock:
            c.tick()
            disc = self.discovery(url.path.rstrip("/") or "/")
            if disc is not None:
                self.send_json(200, disc)
                return
            parsed = self.parse(url.path)
            if parsed is None:
                self.send_json(
                    404, status_obj(404, "NotFound", "the server could not find the requested resource")
                )
                return
            key, rt, ns, name, sub = parsed
            if rt.plural == "pods" and name and sub == "log":
                if not c.allowed("get", "", "pods/log", ns, name):
                    self.forbidden("get", "", "pods/log", ns, name)
                    return
                if (ns or "", name) not in c.pods:
                    self.send_json(
                        404, status_obj(404, "NotFound", f'pods "{name}" not found', name=name, kind="pods")
                    )
                    return
                code, text = c.launcher_log(ns or "", name)
                if code != 200:
                    self.send_json(code, status_obj(code, "BadRequest", text))
                else:
                    self.send_text(200, text)
                return
            if query.get("watch") in ("true", "1"):
                self.send_json(
                    405, status_obj(405, "MethodNotAllowed", "watch is not supported by this test server")
                )
                return
            verb = "get" if name else "list"
            if not c.allowed(verb, rt.group, rt.plural, ns, name or ""):
                self.forbidden(verb, rt.group, rt.plural, ns, name or "")
                return
            if name:
                obj = c.store[key].get((ns or "", name))
                if obj is None:
                    self.send_json(
                        404,
                        status_obj(
                            404, "NotFound", f'{rt.plural} "{name}" not found', name=name, kind=rt.plural
                        ),
                    )
                    return
                if rt.plural == "pods":
                    c.refresh_pod(ns or "", name)
                self.send_json(200, obj)
                return
            items = []
            for (ons, oname), obj in sorted(c.store[key].items()):
                if ns is not None and ons != ns:
                    continue
                if rt.plural == "pods":
                    c.refresh_pod(ons, oname)
                if "labelSelector" in query and not match_labels(
                    query["labelSelector"], obj.get("metadata", {}).get("labels") or {}
                ):
                    continue
                if "fieldSelector" in query and not match_fields(query["fieldSelector"], obj):
                    continue
                items.append({"apiVersion": rt.group_version, "kind": rt.kind, **obj})
            self.send_json(
                200,
                {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.group_version,
                    "metadata": {"resourceVersion": str(c.rv)},
                    "items": items,
                },
            )

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.read_body()
        c = self.cluster
        with c.lock:
            parts = [p for p in url.path.split("/") if p]
            if (
                parts[:3] == ["apis", "authorization.k8s.io", "v1"]
                and len(parts) == 4
                and parts[3] in REVIEWS
            ):
                spec = body.get("spec", {})
                if parts[3] == "selfsubjectaccessreviews":
                    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
                    if ra:
                        ok = c.allowed(
                            ra.get("verb", ""),
                            ra.get("group", ""),
                            ra.get("resource", ""),
                            ra.get("namespace") or None,
                            ra.get("name", ""),
                        )
                    else:
                        ok = bool(nra) and any(
                            r.allows_path(nra.get("verb", ""), nra.get("path", "")) for r in c.rules
                        )
                    body["status"] = {"allowed": ok} if ok else {"allowed": False, "reason": ""}
                else:
                    body["status"] = c.rules_review(spec.get("namespace", "default"))
                body.setdefault("metadata", {})["creationTimestamp"] = None
                self.send_json(201, body)
                return
            parsed = self.parse(url.path)
            if parsed is not None and parsed[0] == MPIJOBS and parsed[2] is not None and parsed[3] is None:
                if not c.allowed("create", "kubeflow.org", "mpijobs", parsed[2]):
                    self.forbidden("create", "kubeflow.org", "mpijobs", parsed[2])
                    return
                code, obj = c.create_mpijob(parsed[2], body)
                self.send_json(code, obj)
                return
            if parsed is None or parsed[1].plural != "pods" or parsed[2] is None:
                self.send_json(
                    405,
                    status_obj(
                        405,
                        "MethodNotAllowed",
                        "the server does not allow this method on the requested resource",
                    ),
                )
                return
            ns = parsed[2]
            if not c.allowed("create", "", "pods", ns):
                self.forbidden("create", "", "pods", ns)
                return
            code, obj = c.create_pod(ns, body)
            self.send_json(code, obj)

    def do_DELETE(self) -> None:
        url = urlsplit(self.path)
        self.read_body()
        c = self.cluster
        with c.lock:
            parsed = self.parse(url.path)
            if parsed is None or parsed[3] is None:
                self.send_json(
                    405, status_obj(405, "MethodNotAllowed", "delete of a collection is not supported")
                )
                return
            key, rt, ns, name, _ = parsed
            assert name is not None
            if not c.allowed("delete", rt.group, rt.plural, ns, name):
                self.forbidden("delete", rt.group, rt.plural, ns, name)
                return
            obj = c.store[key].pop((ns or "", name), None)
            c.pods.pop((ns or "", name), None)
            if key == MPIJOBS:
                c.delete_owned(ns or "", name)
            if obj is None:
                self.send_json(
                    404,
                    status_obj(404, "NotFound", f'{rt.plural} "{name}" not found', name=name, kind=rt.plural),
                )
                return
            self.send_json(200, obj)


def serve(config_path: Path) -> None:
    config = json.loads(config_path.read_text())
    cluster = FakeCluster(config, config_path.parent)
    handler = type(
        "BoundHandler",
        (Handler,),
        {"cluster": cluster, "log_path": Path(config["log"]) if config.get("log") else None},
    )
    server = ThreadingHTTPServer((config.get("host", "127.0.0.1"), int(config.get("port", 0))), handler)
    print(f"listening {server.server_address[0]}:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, type=Path)
    args = ap.parse_args(argv)
    serve(args.config)
    return 0


if __name__ == "__main__":
    sys.exit(main())


DATA = Path(__file__).resolve().parent.parent / "data" / "k8s-objects"


def kubeconfig_text(server_url: str, namespace: str = "default") -> str:
    """A kubeconfig for the fake server (plain HTTP, any token), context 'fake'."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: fake\n  cluster:\n    server: {server_url}\n"
        "users:\n- name: audit\n  user:\n    token: not-a-secret\n"
        "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: audit\n"
        f"    namespace: {namespace}\n"
        "current-context: fake\n"
    )


class RunningAPIServer:
    """A fake API server process started by :func:`start`; stop it with :meth:`stop` (by PID)."""

    def __init__(self, proc: Any, url: str, config: Obj, workdir: Path) -> None:
        self.proc = proc
        self.url = url
        self.config = config
        self.workdir = workdir

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def requests(self) -> list[str]:
        log = self.config.get("log")
        return Path(log).read_text().splitlines() if log and Path(log).exists() else []


def start(workdir: Path, config: Obj, netns: str | None = None, host: str = "127.0.0.1") -> RunningAPIServer:
    """Start a fake API server for ``config`` (object paths relative to tests/data/k8s-objects).

    With ``netns``, it runs inside that network namespace (``nsenter``), bound to ``host`` there.
    """
    import socket
    import subprocess

    workdir.mkdir(parents=True, exist_ok=True)
    full = dict(config)
    full.setdefault("host", host)
    if not full.get("port"):
        with socket.socket() as s:  # a free port number (in the root namespace; good enough in a netns)
            s.bind(("127.0.0.1", 0))
            full["port"] = s.getsockname()[1]
    full.setdefault("log", str(workdir / "requests.log"))
    full["objects"] = [str(_path(DATA, p)) for p in full.get("objects", [])]
    for key in ("rbac", "version"):
        if full.get(key):
            full[key] = str(_path(DATA, full[key]))
    # recorded data outside k8s-objects: paths relative to tests/data
    full["node_status_files"] = [str(_path(DATA.parent, p)) for p in full.get("node_status_files", [])]
    full["node_pod_outputs"] = {
        k: str(_path(DATA.parent, v)) for k, v in (full.get("node_pod_outputs") or {}).items()
    }
    if full.get("mpijob_log"):
        full["mpijob_log"] = str(_path(DATA.parent, full["mpijob_log"]))
    cfg = workdir / "apiserver.json"
    cfg.write_text(json.dumps(full))
    argv = [sys.executable, "-m", "tests.infra.kube_apiserver", "--config", str(cfg)]
    if netns:
        argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
    root = Path(__file__).resolve().parent.parent.parent
    out = (workdir / "apiserver.out").open("wb")
    proc = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "listening" in (workdir / "apiserver.out").read_text(errors="replace"):
            break
        if proc.poll() is not None:
            raise RuntimeError("fake API server exited: " + (workdir / "apiserver.out").read_text())
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("fake API server did not start within 10 s")
    return RunningAPIServer(proc, f"http://{full['host']}:{full['port']}", full, workdir)


GPU_CLUSTER: Obj = {
    "objects": [
        "nodes-rke2-a16-vgpu.json",
        "daemonset-nvidia-device-plugin.yaml",
        "daemonset-dcgm-exporter.yaml",
        "storageclass-aks-default.yaml",
        "storageclass-azurefile.yaml",
    ],
    "rbac": "clusterrole-cluster-admin.yaml",
    "version": "version-v1.19.2.json",
    "custom_resources": [["kubeflow.org", "v2beta1", "mpijobs", "MPIJob", True]],
}
"""A GPU cluster audited by an admin: the recorded GPU node, device plugin and DCGM exporter DaemonSets,
AKS-like StorageClasses, the MPIJob type installed (discovery only, no objects)."""

RESTRICTED_USER: Obj = {**GPU_CLUSTER, "rbac": "role-pod-reader.yaml"}
"""The same cluster seen by a user who may only read pods in 'default'."""

MPI_CLUSTER: Obj = {
    **GPU_CLUSTER,
    "node_status_files": ["kubectl-nodes/status-yaml-podman-desktop-7778.yaml"],
    "mpijob_log": "nccl-tests/h100-64rank-mpijob-coreweave-readme.log",
}
"""The GPU cluster with a second recorded one-GPU node (nvidia1) and the MPI Operator's MPIJob type; the
launchers of MPIJobs print the recorded log of CoreWeave's H100 MPIJob."""

NO_MPI_OPERATOR: Obj = {**MPI_CLUSTER, "custom_resources": []}
"""The same cluster without the MPI Operator (no kubeflow.org group)."""
