"""The history database and `clustermax diff` at scale, side by side with json.load of the same bundles.

    .venv/bin/python benchmarks/history.py [--bundles 10000] [--clusters 10] [--db PATH|postgresql://...]

Synthetic bundles are built from recorded real outputs (tests/data): `clustermax import` of a real nvidia-smi
table, a real kernel log and a real nccl-tests log gives one node's evidence; a bundle repeats it for N nodes
under synthetic host names (node0001 ...). Only the host names, the node counts, the cluster names and the
start times are synthetic, and each bundle says so in its ``options`` and its ``origin.command``.

Measured in one run:
  * add: HistoryDB.add of each of the bundles (one transaction each, as `history add` does; its scoring is
    the scoring benchmark's business: a template's score is reused, its digest set to the file's sha256),
    per bundle, beside json.load of the same file (target: <= 20 ms per bundle on SQLite);
  * list: the newest 50 audits with their newest score, rendered (target <= 200 ms);
  * show: one cluster's every audit with its key metrics, rendered as text and as HTML with the chart
    (target <= 200 ms);
  * diff: two 1,000-node bundles, both scored and compared (target <= 2 s), beside json.load of both.
The CLI's own start-up (python, typer) is printed apart: it is paid once per command.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from clustermax.bundle.from_files import import_files
from clustermax.diff import diff_bundles
from clustermax.history import HistoryDB, render
from clustermax.models import Bundle
from clustermax.scoring import load_rubric, score_bundle

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SYNTHETIC = "synthetic benchmark bundle: host names, node counts, cluster names and start times are synthetic"


def node_evidence(files: list[str]) -> Bundle:
    """One node's evidence, imported from recorded real outputs."""
    return import_files(
        [str(DATA / f) for f in files],
        provider="bench",
        cluster="bench",
        host="node",
        profile={"gpus_per_node": 8},
        reproducible=True,
    ).bundle


def replicate(
    node: Bundle, cluster: str, nodes: int, start_offset_h: int, extra: Bundle | None = None
) -> Bundle:
    """``node``'s commands and results once per synthetic host (the first with ``extra`` instead)."""
    commands, results, hosts = [], [], []
    for i in range(nodes):
        name = f"node{i + 1:04d}"
        src = extra if (extra is not None and i == 0) else node
        for cmd in src.commands:
            commands.append(
                cmd.model_copy(update={"id": cmd.id.replace("node/", f"{name}/", 1), "host": name})
            )
        for r in src.results:
            if r.host == "cluster":
                continue
            ms = [m.model_copy(update={"host": name}) for m in r.measurements]
            fs = [f.model_copy(update={"host": name}) for f in r.findings]
            ids = [c.replace("node/", f"{name}/", 1) for c in r.command_ids]
            results.append(
                r.model_copy(update={"host": name, "measurements": ms, "findings": fs, "command_ids": ids})
            )
        hosts.append(src.hosts[0].model_copy(update={"name": name}))
    started = node.started_at + timedelta(hours=start_offset_h)
    return node.model_copy(
        update={
            "target": node.target.model_copy(update={"cluster": cluster}),
            "origin": node.origin.model_copy(update={"command": f"benchmarks/history.py ({SYNTHETIC})"}),
            "options": {"synthetic": SYNTHETIC},
            "started_at": started,
            "ended_at": started,
            "commands": commands,
            "results": results,
            "hosts": hosts,
        }
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", type=int, default=10_000)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--diff-nodes", type=int, default=1000)
    ap.add_argument("--db", default=None, help="database to fill (default: a new SQLite file in a temp dir)")
    args = ap.parse_args()
    rubric = load_rubric(None)
    healthy = node_evidence(["nvidia-smi/h100x8-565-table.txt", "xid/dmesg-T-akash-43-31-94.log"])
    sick = node_evidence(["nvidia-smi/h100x8-560-persistence-off.txt", "xid/dmesg-fallen-off-bus-no-xid.log"])

    with tempfile.TemporaryDirectory(prefix="cmx-bench-history-") as tmp:
        work = Path(tmp)
        db_url = args.db or str(work / "history.sqlite")
        # templates: (cluster, node count) scored once each; bundles differ from their template in time only
        templates = {}
        for c in range(args.clusters):
            nodes = 2 + c % 4
            b = replicate(healthy, f"cluster-{c:02d}", nodes, 0)
            templates[c] = (nodes, score_bundle(b, rubric))
        files: list[tuple[Path, int]] = []
        t = time.perf_counter()
        for i in range(args.bundles):
            c = i % args.clusters
            b = replicate(healthy, f"cluster-{c:02d}", templates[c][0], i)
            path = work / "bundles" / f"{i:05d}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b.model_dump_json().encode())
            files.append((path, c))
        print(
            f"generated {args.bundles} bundles from recorded real outputs in {time.perf_counter() - t:.1f} s "
            f"({sum(p.stat().st_size for p, _ in files) / len(files) / 1024:.0f} KiB each)"
        )

        loads, adds = [], []
        with HistoryDB.open(db_url, create=True) as db:
            for path, c in files:
                t0 = time.perf_counter()
                raw = path.read_bytes()
                json.loads(raw)
                t1 = time.perf_counter()
                bundle = Bundle.model_validate_json(raw)
                score = templates[c][1].model_copy(update={"bundle_sha256": hashlib.sha256(raw).hexdigest()})
                t2 = time.perf_counter()
                db.add(raw, bundle, score)
                adds.append(time.perf_counter() - t2)
                loads.append(t1 - t0)
            q = sorted(adds)
            print(
                f"add {len(adds)} bundles: median {ms(statistics.median(adds))}, "
                f"p95 {ms(q[int(len(q) * 0.95)])}, total {sum(adds):.1f} s; json.load of the same files: "
                f"median {ms(statistics.median(loads))} (add/json.load = "
                f"{statistics.median(adds) / statistics.median(loads):.1f}x; target add <= 20 ms)"
            )

            t0 = time.perf_counter()
            rows = db.audits(limit=50)
            listed = render.table(render.LIST_HEADER, render.list_rows(rows))
            t_list = time.perf_counter() - t0
            print(f"history list (newest 50 of {db.count()}): {ms(t_list)} (target <= 200 ms)")
            t0 = time.perf_counter()
            rows = db.audits(cluster="cluster-00", ascending=True)
            metrics = db.metrics_of([r["id"] for r in rows])
            text = render.table(render.SHOW_HEADER, render.show_rows(rows, metrics))
            t_show = time.perf_counter() - t0
            t0 = time.perf_counter()
            page = render.show_html("cluster-00", db.target.display, rows, metrics)
            t_html = time.perf_counter() - t0
            print(
                f"history show cluster-00 ({len(rows)} audits): text {ms(t_show)}, html with chart "
                f"{ms(t_show + t_html)} (target <= 200 ms); {len(text) + len(listed) + len(page)} characters"
            )
        env = {**os.environ, "CLUSTERMAX_DB": db_url}
        t0 = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "clustermax"), "--version"], check=True, capture_output=True
        )
        t_start = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "clustermax"), "history", "list"],
            check=True,
            capture_output=True,
            env=env,
        )
        print(
            f"  the CLI: `clustermax history list` {ms(time.perf_counter() - t0)} wall, of which "
            f"{ms(t_start)} is the interpreter and typer starting (`clustermax --version`)"
        )

        old = replicate(healthy, "big", args.diff_nodes, 0)
        new = replicate(
            healthy, "big", args.diff_nodes - 1, 24, extra=sick
        )  # node0001 sick, the last one gone
        old_path, new_path = work / "old.json", work / "new.json"
        old_path.write_bytes(old.model_dump_json().encode())
        new_path.write_bytes(new.model_dump_json().encode())
        t0 = time.perf_counter()
        json.loads(old_path.read_bytes())
        json.loads(new_path.read_bytes())
        t_json = time.perf_counter() - t0
        t0 = time.perf_counter()
        a = Bundle.model_validate_json(old_path.read_bytes())
        b = Bundle.model_validate_json(new_path.read_bytes())
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = diff_bundles(a, b, rubric)
        t_diff = time.perf_counter() - t0
        size = (old_path.stat().st_size + new_path.stat().st_size) / 2**20
        print(
            f"diff of two {args.diff_nodes}-node bundles ({size:.0f} MiB): score both + compare "
            f"{t_diff:.2f} s, validating load {t_load:.2f} s, json.load {t_json:.2f} s "
            f"(diff/json.load = {t_diff / t_json:.1f}x; "
            f"target diff <= 2 s); {len(result.nodes)} node(s) changed, {len(result.nodes_gone)} gone, "
            f"{len(result.regressions)} regression(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
