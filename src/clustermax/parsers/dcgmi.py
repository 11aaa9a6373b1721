"""``dcgmi diag`` tables (DCGM 3.x and 4.x layouts) -> :class:`DcgmiDiagOutput`.

DCGM 3.x prints one row per test with "Pass", "Fail - All", "Pass - GPUs: 1, 2" / "Fail - GPU: 0"
and Info/Warning/Error rows wrapped over 46-character cells; DCGM 4.x prints lower-case plugin names
with one "GPUn: Pass|Fail|Warn|Skip" continuation line per GPU. Both share the Metadata block
(DCGM Version, Driver Version Detected, GPU Device IDs Detected), absent before DCGM 3.3.

``dcgmi diag -j`` JSON is not parsed: no real sample was available to build it on (see
docs/parsers-gpu.md).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._paste import unwrapped_detect, unwrapped_input
from ._text import normalize
from .base import ParsedOutput, ParseError

KIND = "dcgmi-diag"

Result = Literal["pass", "fail", "warn", "skip"]

_STATUS = re.compile(r"\b(Pass|Fail|Warn|Skip|Not Run)\b(?:\s*-\s*(All|GPUs?:\s*([\d,\s]+)))?", re.I)
_GPU_LINE = re.compile(r"^GPU\s?(\d+):\s*(Pass|Fail|Warn|Skip|Not Run)\b", re.I)
# GPU ids are at most 20 digits (longer runs are garbage; int() refuses > 4300 digits)
_GPU_IN_TEXT = re.compile(r"\bGPU\s?(\d{1,20})\b")
_SECTION = re.compile(r"^[|+]-{2,}\s+(\w[\w ]*?)\s+-{2,}")
_MESSAGE_ROWS = {"warning": "warnings", "error": "warnings", "info": "info"}
_META = {"dcgm version": "dcgm", "driver version detected": "driver", "gpu device ids detected": "ids"}


# precompiled (were re.<fn>(pattern, ...) calls in the functions named)
_DETECT_DCGMI_DIAG_RE1 = re.compile(r"^\|\s+[\w /]+\s+\|\s+(Pass|Fail|Skip|Warn)( - (All|GPUs?:))?", re.M)
_FINISH_RE1 = re.compile(r"\b\d{1,20}\b")
# dcgmi's own error print: "Error: <what>. Return: (-30) : <DCGM error string>"
_DCGMI_ERROR = re.compile(r"^Error: .*\bReturn: \(-?\d{1,6}\)", re.M)
_ERROR_LINE = re.compile(r"^Error: (.+)$", re.M)
_SUCCESS_LINE = re.compile(r"^\s*Successfully ran diagnostic for group", re.M)
_HEADER_ROW = re.compile(r"^\s*\|\s*Diagnostic\s*\|\s*Result\s*\|", re.M)


class DcgmTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    category: str | None = Field(
        default=None, description="Section: Deployment, Integration, Hardware, Stress ..."
    )
    result: Result
    failed_gpus: list[int] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="Warning and Error rows of the test.")
    info: list[str] = Field(default_factory=list, description="Info rows of the test.")
    gpu_results: dict[str, Result] = Field(default_factory=dict, description="Per-GPU results when printed.")


class DcgmiDiagOutput(ParsedOutput):
    dcgm_version: str | None = None
    driver_version: str | None = None
    gpu_device_ids: list[str] = Field(default_factory=list)
    tests: list[DcgmTest] = Field(default_factory=list)
    overall: Literal["pass", "fail", "warn"] | None = Field(
        default=None,
        description="fail if any test failed, else warn if any warned, else pass (skips do not fail).",
    )
    failed_tests: int = Field(default=0, description="Tests that failed (0 when none ran: see error).")
    error: str | None = Field(
        default=None,
        description="Why the diagnostic did not run: dcgmi's 'Error: ... Return: (-N)' lines; no test ran.",
    )


class _T:
    def __init__(self, name: str, category: str | None) -> None:
        self.name = name
        self.category = category
        self.status_text: list[str] = []
        self.messages: list[tuple[str, list[str]]] = []
        self.gpu_results: dict[str, str] = {}


def _norm_result(word: str) -> Result:
    w = word.lower()
    if w.startswith("pass"):
        return "pass"
    if w.startswith("fail"):
        return "fail"
    if w.startswith("warn"):
        return "warn"
    return "skip"


@unwrapped_input
def parse_dcgmi_diag(text: str) -> DcgmiDiagOutput:
    if not isinstance(text, str):
        raise ParseError(KIND, "expected text")
    text = normalize(text)
    meta: dict[str, str] = {}
    tests: list[_T] = []
    category: str | None = None
    current: _T | None = None
    message: list[str] | None = None  # the message row being continued
    header = False
    last_was_status = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line[0] not in "|+":
            continue
        sec = _SECTION.match(line)
        if sec:
            category = sec.group(1).strip()
            message = None
            continue
        if line.startswith("+") or line.startswith("|="):
            continue
        cells = line.split("|")
        if len(cells) < 3:
            continue
        name = cells[1].strip()
        value_cell = cells[2]
        value = value_cell[1:].rstrip() if value_cell.startswith(" ") else value_cell.rstrip()
        # messages are cut into fixed 45-character chunks: keep a chunk's own trailing space
        chunk = value_cell[1:46] if len(value_cell) == 48 and value_cell.startswith(" ") else value
        if name == "Diagnostic" and value.strip() == "Result":
            header = True
            continue
        key = name.lower()
        if key in _META:
            meta[_META[key]] = value.strip()
            continue
        if name:
            if key in _MESSAGE_ROWS and current is not None:
                message = [chunk]
                current.messages.append((key, message))
                last_was_status = False
                continue
            current = _T(name, category)
            current.status_text.append(value.strip())
            tests.append(current)
            message = None
            last_was_status = True
            continue
        # continuation row (empty name)
        if current is None:
            continue
        stripped = value.strip()
        g = _GPU_LINE.match(stripped)
        if g:
            if len(g.group(1)) <= 20:  # a longer GPU id is garbage: the row is skipped
                current.gpu_results[g.group(1)] = g.group(2)
            message = None
            continue
        if last_was_status and message is None and _STATUS.match(stripped):
            current.status_text.append(stripped)
            continue
        if message is not None:
            message.append(chunk)
    tests = [t for t in tests if t.gpu_results or any(_STATUS.search(x) for x in t.status_text)]
    errors = _ERROR_LINE.findall(text) if not tests and "Error: " in text else []
    if errors and _DCGMI_ERROR.search(text):
        return DcgmiDiagOutput(
            warnings=[f"dcgmi diag did not run: {e.strip()}" for e in errors],
            tests=[],
            overall=None,
            failed_tests=0,
            error=" ".join(e.strip() for e in errors),
        )
    if not tests:
        raise ParseError(
            KIND, "expected 'dcgmi diag' output: a '| Diagnostic | Result |' table with test rows; found none"
        )
    warnings: list[str] = []
    if not header:
        warnings.append("no '| Diagnostic | Result |' header: the output looks cut (parsed the rows present)")
    ids = [i.strip() for i in meta.get("ids", "").split(",") if i.strip()]
    n_gpus = len(ids) or None
    out_tests = [_finish(t, n_gpus) for t in tests]
    results = {t.result for t in out_tests}
    overall: Literal["pass", "fail", "warn"] = (
        "fail" if "fail" in results else "warn" if "warn" in results else "pass"
    )
    return DcgmiDiagOutput(
        warnings=warnings,
        dcgm_version=meta.get("dcgm"),
        driver_version=meta.get("driver"),
        gpu_device_ids=ids,
        tests=out_tests,
        overall=overall,
        failed_tests=sum(1 for t in out_tests if t.result == "fail"),
    )


def _finish(t: _T, n_gpus: int | None) -> DcgmTest:
    verdicts: list[Result] = []
    failed: set[int] = set()
    fail_all = False
    for text in t.status_text:
        for m in _STATUS.finditer(text):
            r = _norm_result(m.group(1))
            verdicts.append(r)
            if r == "fail":
                if m.group(2) and m.group(2).lower() == "all":
                    fail_all = True
                elif m.group(3):
                    failed.update(int(x) for x in _FINISH_RE1.findall(m.group(3)))
    for gpu, res in t.gpu_results.items():
        r = _norm_result(res)
        verdicts.append(r)
        if r == "fail":
            failed.add(int(gpu))
    warn_texts = [" ".join("".join(p).split()) for kind, p in t.messages if _MESSAGE_ROWS[kind] == "warnings"]
    info_texts = [" ".join("".join(p).split()) for kind, p in t.messages if _MESSAGE_ROWS[kind] == "info"]
    if fail_all:
        if n_gpus:
            failed.update(range(n_gpus))
        else:
            for w in warn_texts:
                failed.update(int(x) for x in _GPU_IN_TEXT.findall(w))
    result: Result
    if "fail" in verdicts:
        result = "fail"
        if not failed and not t.gpu_results:
            # "Fail" alone: the GPUs named in its Warning/Error rows are the failing ones
            for w in warn_texts:
                failed.update(int(x) for x in _GPU_IN_TEXT.findall(w))
    elif "warn" in verdicts:
        result = "warn"
    elif "pass" in verdicts:
        result = "pass"
    else:
        result = "skip"
    gpu_results: dict[str, Result] = {g: _norm_result(r) for g, r in t.gpu_results.items()}
    return DcgmTest(
        name=t.name,
        category=t.category,
        result=result,
        failed_gpus=sorted(failed),
        warnings=warn_texts,
        info=info_texts,
        gpu_results=gpu_results,
    )


@unwrapped_detect
def detect_dcgmi_diag(text: str) -> float:
    head = text[:100_000]
    if _SUCCESS_LINE.search(head):
        return 0.95
    if _HEADER_ROW.search(head):
        return 0.9
    if _DETECT_DCGMI_DIAG_RE1.search(head):
        return 0.6
    if _DCGMI_ERROR.search(head[:4000]):
        return 0.8  # a diagnostic that could not run
    return 0.0
