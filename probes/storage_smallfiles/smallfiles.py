"""clustermax storage_smallfiles helper: small-file tests run on each node (python3 >= 3.6, stdlib only).

Sent by probes/storage_smallfiles/run.sh as `python3 -c <this file> COMMAND ...`; every command prints one
JSON object on one line (keys below) and removes what it created on every exit (normal end, SIGTERM,
SIGINT, SIGHUP), except `import-create`, whose tree `import-delete` (or the probe's exit hook) removes.

  meta DIR TAG FILES DEADLINE_S   create, stat, open-read and delete FILES small files in a tree shaped like
                                  an installed Python package (directories of __init__.py and modules of
                                  0-41 KB), in DIR/.cmx-sf.TAG.<host>.XXXXXX; the phases before delete stop
                                  at the deadline (complete=false); delete always runs to the end
  import-create DIR TAG           copy the pure-Python standard-library modules that MODULES import (source
                                  and .pyc) into DIR/.cmx-sf.TAG.import.XXXXXX: a package tree on DIR
  import-run TREE WARM            time `python3 -c "import MODULES"` from TREE: once cold (sync, then
                                  posix_fadvise DONTNEED on every file: the page cache is dropped without
                                  root; attribute and server caches are not), then WARM times
  import-delete TREE              remove the tree
  torch WARM                      time `python3 -c "import torch"` cold (fadvise over torch's files) and warm
  visibility DIR TAG ROLE TIMEOUT_S  ROLE writer: create DIR/.cmx-sf.TAG.vis-a, wait for .vis-b; ROLE reader:
                                  wait for vis-a, create vis-b. The writer reports the round trip on its
                                  own clock (two cross-node visibilities plus two poll intervals)
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time

SIZES = (0, 180, 900, 2600, 6100, 14500, 41000)  # bytes: empty __init__.py ... a large module
WEIGHTS = (1, 5, 6, 5, 3, 2, 1)  # files of each size in a cycle of 23 (roughly site-packages' mix)
CYCLE = [s for s, w in zip(SIZES, WEIGHTS) for _ in range(w)]
FILES_PER_DIR = 16
FANOUT = 8
MODULES = ("asyncio,email.mime.multipart,http.client,json,logging.handlers,unittest,xml.dom.minidom,"
           "urllib.request,concurrent.futures,decimal,argparse,zipfile,tarfile,csv,dataclasses,typing,"
           "multiprocessing,statistics,pydoc")
POLL_S = 0.01
HOST = socket.gethostname().split(".")[0]


class Interrupted(Exception):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def _ignore_signals():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)


def emit(obj):
    obj.setdefault("tool", "clustermax-smallfiles")
    obj.setdefault("host", HOST)
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def plan(n_files):
    """Directories and (path, size) files of the tree, deterministic: pkg/m0/m1 ... fan-out 8."""
    n_dirs = max(1, -(-n_files // FILES_PER_DIR))
    dirs = ["pkg"]
    i = 0
    while len(dirs) < n_dirs:
        parent = dirs[i]
        for k in range(FANOUT):
            if len(dirs) >= n_dirs:
                break
            dirs.append("%s/m%d" % (parent, k))
        i += 1
    files = []
    for f in range(n_files):
        slot = f // n_dirs
        name = "__init__.py" if slot == 0 else "mod_%03d.py" % slot
        files.append(("%s/%s" % (dirs[f % n_dirs], name), CYCLE[f % len(CYCLE)]))
    return dirs, files


def pct(sorted_us, q):
    if not sorted_us:
        return None
    k = min(len(sorted_us) - 1, max(0, int(round(q / 100.0 * len(sorted_us) + 0.5)) - 1))
    return round(sorted_us[k], 1)


class Phase:
    def __init__(self, name):
        self.name, self.lat, self.t0 = name, [], time.perf_counter()
        self.complete, self.errors, self.first_error = True, 0, None

    def op(self, fn, *args):
        s = time.perf_counter()
        try:
            r = fn(*args)
        except OSError as e:
            self.errors += 1
            self.first_error = self.first_error or "%s: %s" % (type(e).__name__, e)
            r = None
        self.lat.append((time.perf_counter() - s) * 1e6)
        return r

    def done(self):
        seconds = time.perf_counter() - self.t0
        lat = sorted(self.lat)
        return {"phase": self.name, "ops": len(lat), "seconds": round(seconds, 4),
                "p50_us": pct(lat, 50), "p99_us": pct(lat, 99), "complete": self.complete,
                "errors": self.errors, "first_error": self.first_error}


def _write(path, size, payload):
    with open(path, "wb") as fh:
        fh.write(payload[:size])


def _read(path):
    with open(path, "rb") as fh:
        return len(fh.read())


def _drop(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cmd_meta(parent, tag, n_files, deadline_s):
    n_files, deadline_s = int(n_files), float(deadline_s)
    res = {"command": "meta", "files": n_files, "deadline_s": deadline_s, "phases": [], "interrupted": None}
    dirs, files = plan(n_files)
    root = None
    made = 0
    t0 = time.perf_counter()
    deadline = time.monotonic() + deadline_s
    try:
        root = tempfile.mkdtemp(prefix=".cmx-sf.%s.%s." % (tag, HOST), dir=parent)
        payload = (b"# generated module\nVALUE = 1\n" + b"x = 0  # padding\n" * 3000)[: max(SIZES)]
        ph = Phase("create")
        for d in dirs:
            ph.op(os.mkdir, os.path.join(root, d))
        for rel, size in files:
            if time.monotonic() > deadline:
                ph.complete = False
                break
            made += 1  # counted before the write: an interrupted write may have created the file
            ph.op(_write, os.path.join(root, rel), size, payload)
        res["phases"].append(ph.done())
        for name, fn in (("stat", os.stat), ("read", _read)):
            ph = Phase(name)
            for rel, _size in files[:made]:
                if time.monotonic() > deadline:
                    ph.complete = False
                    break
                ph.op(fn, os.path.join(root, rel))
            if made < len(files):
                ph.complete = False
            res["phases"].append(ph.done())
    except Interrupted as e:
        res["interrupted"] = str(e)
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        _ignore_signals()
        if root:
            ph = Phase("delete")
            for rel, _size in files[:made]:  # only what was created: a lookup per absent file is slow
                p = os.path.join(root, rel)
                if os.path.lexists(p):
                    ph.op(os.unlink, p)
            for d in reversed(dirs):
                p = os.path.join(root, d)
                if os.path.isdir(p):
                    ph.op(os.rmdir, p)
            res["phases"].append(ph.done())
            shutil.rmtree(root, ignore_errors=True)
            res["removed"] = not os.path.exists(root)
        res["wall_s"] = round(time.perf_counter() - t0, 4)
        emit(res)


LIST_CODE = r"""
import sys, json, sysconfig
for m in sys.argv[1].split(','):
    __import__(m)
std = sysconfig.get_paths()['stdlib']
print(json.dumps(sorted({f[len(std) + 1:] for f in (getattr(m, '__file__', None) for m in list(sys.modules.values()))
                          if f and f.startswith(std + '/') and f.endswith('.py')})))
"""

CHECK_CODE = r"""
import sys
for m in sys.argv[1].split(','):
    __import__(m)
print(','.join(m for m in sys.argv[1].split(',') if not sys.modules[m].__file__.startswith(sys.argv[2])))
"""


def cmd_import_create(parent, tag):
    res = {"command": "import-create", "modules": MODULES, "interrupted": None}
    t0 = time.perf_counter()
    work = None
    try:
        work = tempfile.mkdtemp(prefix=".cmx-sf.%s.import." % tag, dir=parent)
        res["tree"] = work
        py = sys.executable
        rels = json.loads(subprocess.run([py, "-c", LIST_CODE, MODULES], stdout=subprocess.PIPE,
                                         universal_newlines=True, check=True).stdout)
        std = sysconfig.get_paths()["stdlib"]
        tag_c = sys.implementation.cache_tag
        tree = os.path.join(work, "site")
        n = size = 0
        for rel in rels:
            src = os.path.join(std, rel)
            dst = os.path.join(tree, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            shutil.copystat(src, dst)  # the source's mtime, so the copied .pyc stays valid
            n, size = n + 1, size + os.path.getsize(dst)
            base = os.path.splitext(os.path.basename(rel))[0]
            pyc = os.path.join(os.path.dirname(src), "__pycache__", "%s.%s.pyc" % (base, tag_c))
            if os.path.exists(pyc):
                d = os.path.join(os.path.dirname(dst), "__pycache__")
                os.makedirs(d, exist_ok=True)
                shutil.copy2(pyc, d)
                n, size = n + 1, size + os.path.getsize(pyc)
        res.update(files=n, bytes=size)
    except Interrupted as e:
        res["interrupted"] = str(e)
        if work:
            _ignore_signals()
            shutil.rmtree(work, ignore_errors=True)
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
        if work:
            shutil.rmtree(work, ignore_errors=True)
    res["wall_s"] = round(time.perf_counter() - t0, 4)
    emit(res)


def _timed_imports(module, env, files, warm):
    runs = []
    for i in range(1 + warm):
        if i == 0:
            os.sync()
            for p in files:
                try:
                    _drop(p)
                except OSError:
                    pass
        s = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", "import " + module], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, universal_newlines=True)
        runs.append({"cache": "cold" if i == 0 else "warm", "seconds": round(time.perf_counter() - s, 4),
                     "rc": r.returncode, "stderr": (r.stderr or "")[-300:] or None})
    return runs


def _files_under(top):
    out = []
    for d, _dirs, names in os.walk(top):
        out.extend(os.path.join(d, n) for n in names)
    return out


def cmd_import_run(tree, warm):
    res = {"command": "import-run", "module": "stdlib-standin", "tree": tree, "interrupted": None}
    t0 = time.perf_counter()
    try:
        site = os.path.join(tree, "site")
        env = dict(os.environ, PYTHONPATH=site, PYTHONDONTWRITEBYTECODE="1")
        bad = subprocess.run([sys.executable, "-c", CHECK_CODE, MODULES, site], env=env, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.strip()
        res["not_from_tree"] = bad.split(",") if bad else []
        files = _files_under(site)
        res["files"] = len(files)
        res["runs"] = _timed_imports(MODULES, env, files, int(warm))
    except Interrupted as e:
        res["interrupted"] = str(e)
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["wall_s"] = round(time.perf_counter() - t0, 4)
    emit(res)


def cmd_import_delete(tree):
    _ignore_signals()
    shutil.rmtree(tree, ignore_errors=True)
    emit({"command": "import-delete", "tree": tree, "removed": not os.path.exists(tree)})


def cmd_torch(warm):
    res = {"command": "torch", "module": "torch", "interrupted": None}
    t0 = time.perf_counter()
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")
        if spec is None or not spec.origin:
            res["error"] = "torch is not importable"
        else:
            top = os.path.dirname(spec.origin)
            res["path"] = top
            files = _files_under(top)
            res["files"] = len(files)
            res["runs"] = _timed_imports("torch", dict(os.environ), files, int(warm))
    except Interrupted as e:
        res["interrupted"] = str(e)
    res["wall_s"] = round(time.perf_counter() - t0, 4)
    emit(res)


def _wait_for(path, timeout_s):
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if os.path.exists(path):
            return time.perf_counter() - start
        time.sleep(POLL_S)
    return None


def cmd_visibility(parent, tag, role, timeout_s):
    timeout_s = float(timeout_s)
    a = os.path.join(parent, ".cmx-sf.%s.vis-a" % tag)
    b = os.path.join(parent, ".cmx-sf.%s.vis-b" % tag)
    res = {"command": "visibility", "role": role, "timeout_s": timeout_s, "interrupted": None}
    try:
        if role == "writer":
            os.path.exists(b)  # look the name up first: a client that caches "absent" is caught out
            time.sleep(0.2)  # the reader is polling by now
            s = time.perf_counter()
            with open(a, "w") as fh:
                fh.write(HOST)
            seen = _wait_for(b, timeout_s)
            res["round_trip_s"] = round(time.perf_counter() - s, 4) if seen is not None else None
        else:
            seen = _wait_for(a, timeout_s + 1)
            res["seen_after_s"] = round(seen, 4) if seen is not None else None
            if seen is not None:
                with open(b, "w") as fh:
                    fh.write(HOST)
                time.sleep(min(timeout_s, 1.0))  # let the writer see it before it is removed
    except Interrupted as e:
        res["interrupted"] = str(e)
    except OSError as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        _ignore_signals()
        for p in ((a,) if role == "writer" else (b,)):
            try:
                os.unlink(p)
            except OSError:
                pass
        emit(res)


COMMANDS = {"meta": cmd_meta, "import-create": cmd_import_create, "import-run": cmd_import_run,
            "import-delete": cmd_import_delete, "torch": cmd_torch, "visibility": cmd_visibility}


def main(argv):
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    if not argv or argv[0] not in COMMANDS:
        emit({"command": argv[0] if argv else None, "error": "usage: COMMAND ARGS (see the docstring)"})
        return 2
    try:
        COMMANDS[argv[0]](*argv[1:])
    except TypeError as e:
        emit({"command": argv[0], "error": "bad arguments: %s" % e})
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
