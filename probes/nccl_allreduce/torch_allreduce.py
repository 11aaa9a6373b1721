# clustermax fallback collective benchmark (torch.distributed), used when nccl-tests is not installed.
# Launched by torchrun (RANK, WORLD_SIZE, LOCAL_RANK set). Rank 0 prints one line per event:
#
#   #cmx-torch {"kind": "header", "version": 1, "collective": ..., "dtype": ..., "world_size": N,
#               "nodes": M, "iters": I, "warmup": W, "min_bytes": B, "max_bytes": E, "step_factor": F,
#               "backend": "nccl", "torch": ..., "cuda": ..., "nccl": "2.21.5", "device": "NVIDIA H100 ..."}
#   #cmx-torch {"kind": "row", "size_bytes": S, "count": C, "dtype": ..., "time_us": T,
#               "algbw_gbps": A, "busbw_gbps": B, "wrong": K}
#   #cmx-torch {"kind": "skip", "size_bytes": S, "reason": "..."}
#   #cmx-torch {"kind": "done", "rows": R, "peak_busbw_gbps": P}
#
# Sizes follow nccl-tests: S is the size of the (largest) buffer, algbw = S / time, busbw = algbw x factor
# with factor 2(n-1)/n for all_reduce and (n-1)/n for all_gather, reduce_scatter and alltoall
# (nccl-tests doc/PERFORMANCE.md). With one rank the factor is 0 and busbw is 0, as nccl-tests prints.
# time is the mean over ranks of each rank's mean time per iteration (nccl-tests' default -a 1).
# With one rank algbw is null (an in-place collective on one rank moves no data) and busbw is 0.
# "wrong" counts elements that differ from the expected result of one checked call (rank r sends r+1).
# Sent to the host along with run.sh (probe.yaml `files`), which finds it at $CMX_FILES/torch_allreduce.py.
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

FACTORS = {
    "all_reduce": "2(n-1)/n",
    "all_gather": "(n-1)/n",
    "reduce_scatter": "(n-1)/n",
    "alltoall": "(n-1)/n",
}
DTYPE_SIZES = {"float32": 4, "float16": 2, "bfloat16": 2}


def parse_size(text: str) -> int:
    """'16M' -> 16777216 (K, M, G, T are powers of 1024, as nccl-tests reads -b/-e)."""
    text = text.strip().upper().rstrip("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in scale:
        return int(float(text[:-1]) * scale[text[-1]])
    return int(text)


def sizes(min_bytes: int, max_bytes: int, factor: int) -> list[int]:
    out, size = [], max(1, min_bytes)
    while size <= max_bytes:
        out.append(size)
        if factor <= 1:
            break
        size *= factor
    return out


def bus_factor(collective: str, n: int) -> float:
    if n < 1:
        return 0.0
    if collective == "all_reduce":
        return 2.0 * (n - 1) / n
    return (n - 1) / n


def make_ops(collective: str, count: int, n: int, rank: int, dtype: Any, device: Any) -> tuple[Any, Any]:
    """(run, check): one timed call, and one call on known data returning the number of wrong elements."""
    import torch
    import torch.distributed as dist

    if collective == "all_reduce":
        buf = torch.empty(count, dtype=dtype, device=device)

        def run() -> None:
            dist.all_reduce(buf)

        def check() -> int:
            buf.fill_(rank + 1)
            dist.all_reduce(buf)
            return int((buf != n * (n + 1) / 2).sum().item())

        return run, check
    if collective == "reduce_scatter":
        big = torch.empty(count, dtype=dtype, device=device)
        part = torch.empty(count // n, dtype=dtype, device=device)

        def run() -> None:
            dist.reduce_scatter_tensor(part, big)

        def check() -> int:
            big.fill_(rank + 1)
            dist.reduce_scatter_tensor(part, big)
            return int((part != n * (n + 1) / 2).sum().item())

        return run, check
    # all_gather and alltoall: rank r contributes r+1; the result holds 1..n, each count//n times
    src = torch.empty(count // n if collective == "all_gather" else count, dtype=dtype, device=device)
    dst = torch.empty(count, dtype=dtype, device=device)
    want = torch.arange(1, n + 1, dtype=dtype, device=device).repeat_interleave(count // n)

    def run() -> None:
        if collective == "all_gather":
            dist.all_gather_into_tensor(dst, src)
        else:
            dist.all_to_all_single(dst, src)

    def check() -> int:
        src.fill_(rank + 1)
        run()
        return int((dst != want).sum().item())

    return run, check


def emit(kind: str, **fields: object) -> None:
    print("#cmx-torch " + json.dumps({"kind": kind, **fields}, sort_keys=False), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--collective", default="all_reduce", choices=sorted(FACTORS))
    ap.add_argument("--min-bytes", default="16M")
    ap.add_argument("--max-bytes", default="8G")
    ap.add_argument("--step-factor", type=int, default=2)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--dtype", default="float32", choices=sorted(DTYPE_SIZES))
    ap.add_argument("--backend", default="nccl")
    ap.add_argument("--mem-fraction", type=float, default=0.4, help="largest share of free GPU memory to use")
    args = ap.parse_args(argv)

    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    nodes = int(os.environ.get("CMX_NODES_COUNT", os.environ.get("GROUP_WORLD_SIZE", "1")))
    use_cuda = args.backend == "nccl"
    if use_cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend=args.backend)
    dtype = getattr(torch, args.dtype)
    esize = DTYPE_SIZES[args.dtype]
    n = dist.get_world_size()

    def sync() -> None:
        if use_cuda:
            torch.cuda.synchronize(device)

    nccl_version = None
    if use_cuda:
        try:
            nccl_version = ".".join(str(v) for v in torch.cuda.nccl.version())
        except Exception:  # report what we can
            nccl_version = None
    if rank == 0:
        emit(
            "header",
            version=1,
            collective=args.collective,
            dtype=args.dtype,
            world_size=n,
            nodes=nodes,
            iters=args.iters,
            warmup=args.warmup,
            min_bytes=parse_size(args.min_bytes),
            max_bytes=parse_size(args.max_bytes),
            step_factor=args.step_factor,
            backend=args.backend,
            torch=torch.__version__,
            cuda=torch.version.cuda,
            nccl=nccl_version,
            device=torch.cuda.get_device_name(device) if use_cuda else "cpu",
            busbw_factor=FACTORS[args.collective],
        )
    peak = 0.0
    rows = 0
    for size in sizes(parse_size(args.min_bytes), parse_size(args.max_bytes), args.step_factor):
        count = size // esize
        if args.collective in ("all_gather", "reduce_scatter", "alltoall"):
            count -= count % n
        if count < max(1, n if args.collective != "all_reduce" else 1):
            continue
        need = 2 * count * esize  # two buffers at most (in + out)
        if use_cuda:
            free, _total = torch.cuda.mem_get_info(device)
            fits = torch.tensor([1 if need <= free * args.mem_fraction else 0], device=device)
            dist.all_reduce(fits, op=dist.ReduceOp.MIN)
            if int(fits.item()) == 0:
                if rank == 0:
                    emit(
                        "skip",
                        size_bytes=size,
                        reason=f"needs {need} B, over {args.mem_fraction} of free memory",
                    )
                continue
        run, check = make_ops(args.collective, count, n, rank, dtype, device)
        wrong_local = check()
        for _ in range(args.warmup):
            run()
        sync()
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(args.iters):
            run()
        sync()
        elapsed = (time.perf_counter() - t0) / max(1, args.iters)
        stats = torch.tensor([elapsed, float(wrong_local)], dtype=torch.float64, device=device)
        dist.all_reduce(stats)
        mean_s = float(stats[0].item()) / n
        wrong = int(stats[1].item())
        algbw = size / mean_s / 1e9
        busbw = algbw * bus_factor(args.collective, n)
        # one rank: the in-place collective moves no data, so algbw measures nothing (reported as null)
        peak = max(peak, busbw)
        rows += 1
        if rank == 0:
            emit(
                "row",
                size_bytes=size,
                count=count,
                dtype=args.dtype,
                time_us=round(mean_s * 1e6, 2),
                algbw_gbps=round(algbw, 3) if n > 1 else None,
                busbw_gbps=round(busbw, 3),
                wrong=wrong,
            )
    if rank == 0:
        emit("done", rows=rows, peak_busbw_gbps=round(peak, 3))
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
