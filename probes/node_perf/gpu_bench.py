"""clustermax node_perf GPU benchmark: BF16 GEMM TFLOP/s and device copy GB/s on ONE GPU (PyTorch).

Run once per GPU (probes/node_perf/run.sh starts one process per GPU at the same time, each seeing its GPU
as device 0 through CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES), so a slow GPU shows as itself.
Prints one JSON line: {"tool": "clustermax-gpubench", "format": 1, "gpu": <index given>, "name", "torch",
"cuda", "gemm": {"m", "n", "k", "dtype", "seconds", "iters", "tflops_median", "tflops_min", "tflops_max",
"tflops_last_quarter"}, "copy": {"bytes", "iters", "gbps_median", "convention": "read+write"}, "error"}.

GEMM: C = A @ B with A, B of M x K and K x N in bfloat16 (default 8192^3), 5 warm-up calls, then calls
back to back for `--gemm-s` seconds, each timed with CUDA events; TFLOP/s = 2*M*N*K / t per call; the
median over all timed calls and over the last quarter (sustained, after clocks and temperature settled).
Copy: dst.copy_(src) of `--copy-mib` MiB, 20 timed calls; GB/s = 2 * bytes / t (bytes read + written,
10^9), the convention of STREAM-like "Copy" figures.
"""

import argparse
import json
import statistics
import sys
import time


def gemm_bench(torch, m, n, k, seconds):
    dev = torch.device("cuda", 0)
    a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
    b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
    for _ in range(5):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    flops = 2.0 * m * n * k
    rates = []
    end = time.monotonic() + seconds
    while time.monotonic() < end or len(rates) < 10:
        start_ev = torch.cuda.Event(enable_timing=True)
        stop_ev = torch.cuda.Event(enable_timing=True)
        start_ev.record()
        torch.matmul(a, b)
        stop_ev.record()
        stop_ev.synchronize()
        ms = start_ev.elapsed_time(stop_ev)
        if ms > 0:
            rates.append(flops / (ms / 1000.0) / 1e12)
        if len(rates) > 200000:
            break
    return summary(rates, m, n, k, seconds)


def summary(rates, m, n, k, seconds):
    """The GEMM record from per-call TFLOP/s figures (pure: tested without a GPU)."""
    last = rates[-max(1, len(rates) // 4):]
    return {"m": m, "n": n, "k": k, "dtype": "bfloat16", "seconds": seconds, "iters": len(rates),
            "tflops_median": round(statistics.median(rates), 2) if rates else None,
            "tflops_min": round(min(rates), 2) if rates else None,
            "tflops_max": round(max(rates), 2) if rates else None,
            "tflops_last_quarter": round(statistics.median(last), 2) if rates else None}


def copy_bench(torch, mib, iters=20):
    dev = torch.device("cuda", 0)
    nbytes = mib * 2**20
    src = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    dst.copy_(src)
    torch.cuda.synchronize()
    rates = []
    for _ in range(iters):
        start_ev = torch.cuda.Event(enable_timing=True)
        stop_ev = torch.cuda.Event(enable_timing=True)
        start_ev.record()
        dst.copy_(src)
        stop_ev.record()
        stop_ev.synchronize()
        ms = start_ev.elapsed_time(stop_ev)
        if ms > 0:
            rates.append(2.0 * nbytes / (ms / 1000.0) / 1e9)
    return {"bytes": nbytes, "iters": len(rates), "convention": "read+write",
            "gbps_median": round(statistics.median(rates), 1) if rates else None}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gpu", type=int, required=True, help="index of the GPU on the node (reported)")
    ap.add_argument("--size", type=int, default=8192)
    ap.add_argument("--gemm-s", type=float, default=15.0)
    ap.add_argument("--copy-mib", type=int, default=1024)
    a = ap.parse_args(argv)
    out = {"tool": "clustermax-gpubench", "format": 1, "gpu": a.gpu, "error": None}
    try:
        import torch

        out["torch"] = torch.__version__
        out["cuda"] = torch.version.cuda or getattr(torch.version, "hip", None)
        if not torch.cuda.is_available():
            out["error"] = "torch sees no GPU (torch.cuda.is_available() is False)"
        else:
            out["name"] = torch.cuda.get_device_name(0)
            out["gemm"] = gemm_bench(torch, a.size, a.size, a.size, a.gemm_s)
            out["copy"] = copy_bench(torch, a.copy_mib)
    except Exception as e:  # a GPU error, out of memory ...: reported, never a traceback only
        out["error"] = "%s: %s" % (type(e).__name__, str(e)[:300])
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()
    return 0 if out["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
