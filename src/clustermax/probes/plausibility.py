"""Plausibility of what an nccl-tests / rccl-tests run prints (pure): forged output is not evidence.

A cluster that wants a better rating can print any numbers. What a real nccl-tests run prints is tied
together by how nccl-tests computes it (``src/common.cu``, ``doc/PERFORMANCE.md``):

* ``algbw = size / time`` (GB/s = 10^9 B/s, time in µs), for every collective;
* ``busbw = algbw x factor(collective, ranks)``: 2(n-1)/n for all_reduce, (n-1)/n for all_gather,
  reduce_scatter and alltoall, 1 for broadcast, reduce and sendrecv;
* the in-place columns are a second measurement, never a copy of the out-of-place ones.

:func:`run_implausible` checks these on every printed row, allowing for the rounding of the printed
precision (algbw and busbw with 2 decimals; time with 2 decimals below 100 µs, 1 below 10,000 µs, none
above), and says what cannot be real, or None. It flags only what no real run prints: every recorded
real nccl-tests and rccl-tests log under ``tests/data/nccl-tests`` passes, while a log edited by hand
(busbw scaled, the rank count changed, algbw no longer size / time) does not (``tests/probes/
test_plausibility.py``). Noise is real and not flagged: times that do not grow with the size (a hiccup,
a protocol switch), in-place faster or slower than out-of-place, one row of a sweep equal in both.

Physical limits (busbw above what the hardware's links can carry) need the hardware profile and the
reference table, so scoring checks them (``clustermax.scoring.plausibility``).

One legacy formula is real: very old builds (the float ``error`` column, all_gather without redop or
root columns) printed all_gather's algbw as size x (n-1)/n / time and busbw = algbw
(``v100-dgx2-old-concatenated.log``); that variant is accepted for those builds only.
"""

from __future__ import annotations

from ..parsers.nccl_tests import NcclRow, NcclRun, NcclTestsOutput, busbw_factor

MIN_IDENTICAL_ROWS = 4
"""In-place identical to out-of-place in every row is flagged from this many rows on (a one-row log
can match by chance at the printed precision)."""


def _time_step(time_us: float) -> float:
    """Half the last printed digit of a time (nccl-tests prints %.2f < 100 µs, %.1f < 10,000, %.0f above);
    taken one step coarser than printed, since rccl-tests and old builds differ."""
    if time_us < 100:
        return 0.05
    if time_us < 10000:
        return 0.5
    return 5.0


def _time_disagrees(size: int, time_us: float, algbw: float, legacy: float | None) -> float | None:
    """size / time where algbw disagrees with it beyond rounding (and the legacy factor), else None."""
    if time_us <= 0:
        return None if algbw == 0 else float("inf")
    expected = size / time_us / 1e3
    # the printed time may be off by its rounding step: algbw could be up to size / (t - step)
    slack = (
        0.011 + expected * (_time_step(time_us) / max(time_us - _time_step(time_us), 1e-9)) + 0.01 * expected
    )
    for k in (1.0, legacy) if legacy is not None else (1.0,):
        if abs(expected * k - algbw) <= slack * max(k, 1.0):
            return None
    return expected


def _ratio_disagrees(algbw: float, busbw: float, factors: tuple[float, ...]) -> bool:
    """busbw is not algbw x any of the factors, within the rounding of two printed decimals."""
    return all(abs(algbw * f - busbw) > 0.02 + 0.005 * f + 0.005 * busbw for f in factors)


def _legacy(run: NcclRun | NcclTestsOutput) -> bool:
    """A very old build's table (float error column)."""
    return (
        bool(run.rows)
        and all(r.oop_wrong is None for r in run.rows)
        and any(r.oop_error is not None for r in run.rows)
    )


def _fmt_size(size: int) -> str:
    return f"size {size}"


def _pairs(row: NcclRow) -> list[tuple[str, float | None, float | None, float | None]]:
    return [
        ("out-of-place", row.oop_time_us, row.oop_algbw_gbps, row.oop_busbw_gbps),
        ("in-place", row.ip_time_us, row.ip_algbw_gbps, row.ip_busbw_gbps),
    ]


def run_implausible(run: NcclRun | NcclTestsOutput) -> str | None:
    """What in this run's printed table cannot be real, in one sentence; None when nothing."""
    rows = run.rows
    if not rows:
        return None
    collective = run.collective
    ranks = run.ranks
    legacy = _legacy(run) and collective == "all_gather"
    factor = busbw_factor(collective, ranks)
    factors: tuple[float, ...] | None = None
    if factor is not None:
        factors = (factor, 1.0) if legacy else (factor,)
    limit = {"all_reduce": 2.0, "all_gather": 1.0, "reduce_scatter": 1.0, "alltoall": 1.0}.get(
        collective or "", None
    )
    legacy_time = (ranks - 1) / ranks if legacy and ranks else None
    ratio_bad: list[str] = []
    time_bad: list[str] = []
    for row in rows:
        for where, time_us, alg, bus in _pairs(row):
            for name, value in (("time", time_us), ("algbw", alg), ("busbw", bus)):
                if value is not None and value < 0:
                    return f"negative {name} {value:g} printed ({where}, {_fmt_size(row.size_bytes)})"
            if alg is not None and bus is not None:
                if factors is not None and _ratio_disagrees(alg, bus, factors):
                    ratio_bad.append(
                        f"{_fmt_size(row.size_bytes)} {where}: busbw {bus:g} GB/s, algbw {alg:g} GB/s"
                    )
                elif factors is None and limit is not None and bus > alg * limit + 0.02 + 0.005 * bus:
                    ratio_bad.append(
                        f"{_fmt_size(row.size_bytes)} {where}: busbw {bus:g} GB/s is more than {limit:g} x"
                        f" algbw {alg:g} GB/s"
                    )
            if time_us is not None and alg is not None and row.size_bytes > 0:
                expected = _time_disagrees(row.size_bytes, time_us, alg, legacy_time)
                if expected is not None:
                    time_bad.append(
                        f"{_fmt_size(row.size_bytes)} {where}: algbw {alg:g} GB/s, size / time ="
                        f" {row.size_bytes} B / {time_us:g} us = {expected:.2f} GB/s"
                    )
    if time_bad:
        return (
            f"algbw disagrees with size / time beyond rounding in {len(time_bad)} value(s); first at"
            f" {time_bad[0]}"
        )
    if ratio_bad:
        what = (
            f"busbw = algbw x {factor:.4f} for {collective} on {ranks} ranks"
            if factor is not None
            else f"busbw <= {limit:g} x algbw for {collective}"
        )
        return (
            f"busbw disagrees with the rank count in {len(ratio_bad)} value(s) (nccl-tests prints {what});"
            f" first at {ratio_bad[0]}"
        )
    both = [r for r in rows if r.ip_time_us is not None and r.oop_time_us is not None]
    if len(both) >= MIN_IDENTICAL_ROWS and all(
        (r.oop_time_us, r.oop_algbw_gbps, r.oop_busbw_gbps)
        == (r.ip_time_us, r.ip_algbw_gbps, r.ip_busbw_gbps)
        for r in both
    ):
        return (
            f"the in-place time, algbw and busbw equal the out-of-place ones to the digit in all {len(both)}"
            " rows: two measurements never agree that exactly (a copied column)"
        )
    return None
