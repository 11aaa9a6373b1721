"""Integers longer than Python's int() limit (4300 digits) are garbage to skip, never a crash."""

from __future__ import annotations

import pytest

from clustermax.parsers.base import ParseError
from clustermax.parsers.nccl_tests import parse_nccl_tests

BIG = "9" * 5000
HEADER = (
    "#       size         count      type   redop    root     time   algbw   busbw #wrong"
    "     time   algbw   busbw #wrong\n"
)
ROW = (
    " 17179869184    4294967296     float     sum      -1    69338  247.77  464.57      0"
    "    69305  247.89  464.79      0\n"
)


@pytest.mark.parametrize(
    "text",
    [
        HEADER + ROW.replace("17179869184", BIG),
        HEADER + ROW.replace("4294967296", BIG),
        HEADER + ROW.replace("-1", BIG),
        HEADER + ROW * 3 + ROW.replace("17179869184", BIG),
        f"# nThread 1 nGpus 1 minBytes {BIG} maxBytes {BIG} step: 2(factor)\n" + HEADER + ROW,
        f"#  Rank  {BIG} Group  0 Pid 1 on h device  0 [0x0f] NVIDIA H100 80GB HBM3\n" + HEADER + ROW,
        HEADER + ROW + f"# Out of bounds values : {BIG} OK\n",
        f"# nccl-tests version 2.13.9 nccl-library={BIG}\n" + HEADER + ROW,
    ],
)
def test_huge_integers_do_not_crash(text: str) -> None:
    try:
        out = parse_nccl_tests(text)
    except ParseError:
        return
    assert out.max_size_bytes in (None, 17179869184)
    assert all(r.size_bytes is None or r.size_bytes < 10**20 for r in out.rows)
