"""The parts of a model run of the fix and edit evaluations (``harness.py``):
loading the service, streaming one request and timing its first words, the
report's tables, the results files."""

from __future__ import annotations

import datetime as dt
import json
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.machine import cpu_model
from jupyter_codegen.api.schemas import EditPrefetchRequest, EditRequest, FixRequest
from jupyter_codegen.config import CodegenConfig
from jupyter_codegen.service.service import CodegenService

RESULTS = Path(__file__).parent / "results"


def load_service(model: str, quantize: str = "auto", int8_decode: str = "int4") -> CodegenService:
    service = CodegenConfig(model=model, quantize=quantize, int8_decode=int8_decode).build_service()
    service.host.start_loading()
    service.host.wait_loaded()
    if service.host.state != "ready":
        raise SystemExit(f"The model did not load: {service.host.error}")
    return service


@dataclass(frozen=True)
class Streamed:
    """A streamed proposal: its final reply and when its first words came."""

    reply: dict[str, Any]
    first_words_s: float | None
    total_s: float


async def stream(
    service: CodegenService, kind: str, body: Mapping[str, Any], has_words: Callable[[dict], bool]
) -> Streamed:
    """Send ``body`` to ``/fix`` or ``/edit`` (``kind``) as a stream; the first
    event for which ``has_words`` holds marks the first words."""
    start = time.perf_counter()
    ticket = service.ticket(None, kind)
    if kind == "fix":
        events = await service.stream_fix(FixRequest.model_validate(body), ticket)
    else:
        events = await service.stream_edit(EditRequest.model_validate(body), ticket)
    first: float | None = None
    reply: dict[str, Any] = {}
    async for name, data in events:
        if name == "done":
            reply = data
        elif first is None and has_words(data):
            first = time.perf_counter() - start
    return Streamed(reply, first, time.perf_counter() - start)


async def prefetch(service: CodegenService, kind: str, body: Mapping[str, Any]) -> float:
    """What the frontend does before the click, untimed by the user: for a
    fix, when the error appears, the fix's prompt computed by
    ``/prefetch/fix``; for an edit, while its instruction is typed, the edit's
    prompt without the instruction, by ``/prefetch/edit``. The seconds it took."""
    start = time.perf_counter()
    ticket = service.background_ticket(None, f"prefetch_{kind}")
    if kind == "fix":
        reply = await service.prefetch_fix(FixRequest.model_validate(body), ticket)
    else:
        before = {k: v for k, v in body.items() if k != "instruction"}
        reply = await service.prefetch_edit(EditPrefetchRequest.model_validate(before), ticket)
    if not reply.prefetched:
        raise RuntimeError(f"the {kind} prefetch did not run on an idle model")
    return time.perf_counter() - start


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(
    rows: Sequence[dict[str, Any]], group: str, groups: Sequence[str], prompts: Sequence[str]
) -> list[str]:
    """Pass rate per ``group`` value and prompt."""
    out = [
        f"| {group} | n | " + " | ".join(f"{p} pass %" for p in prompts) + " |",
        "|---|---|" + "---|" * len(prompts),
    ]
    for value in [*groups, "all"]:
        sel = [r for r in rows if value == "all" or r[group] == value]
        if not sel:
            continue
        n = len({r["id"] for r in sel})
        cells = []
        for prompt in prompts:
            part = [r for r in sel if r["prompt"] == prompt]
            cells.append(f"{100 * statistics.fmean(r['passed'] for r in part):.1f}" if part else "")
        out.append(f"| {value} | {n} | " + " | ".join(cells) + " |")
    return out


def timing_table(rows: Sequence[dict[str, Any]], prompts: Sequence[str]) -> list[str]:
    """Time to the first words and to the whole proposal, per prompt (and the
    prefetch before the click, when there was one)."""
    prefetched = any("prefetch_s" in r for r in rows)
    out = [
        "| prompt | first words p50 s | p90 s | whole proposal p50 s | p90 s |"
        + (" prefetch before the click p50 s |" if prefetched else "")
    ]
    out.append("|---|---|---|---|---|" + ("---|" if prefetched else ""))
    for prompt in prompts:
        part = [r for r in rows if r["prompt"] == prompt]
        first = [r["first_words_s"] for r in part if r["first_words_s"] is not None]
        total = [r["total_s"] for r in part]
        line = (
            f"| {prompt} | {percentile(first, 0.5):.2f} | {percentile(first, 0.9):.2f} | "
            f"{percentile(total, 0.5):.2f} | {percentile(total, 0.9):.2f} |"
        )
        if prefetched:
            line += f" {percentile([r['prefetch_s'] for r in part], 0.5):.2f} |"
        out.append(line)
    return out


def write_results(name: str, meta: dict[str, Any], rows: list[dict[str, Any]], report: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = RESULTS / f"{name}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    base.with_suffix(".md").write_text(report)
    return base.with_suffix(".md")


def meta_of(service: CodegenService, model: str, argv: Sequence[str]) -> dict[str, Any]:
    info = service.host.ready_engine().info()
    return {
        "model": model,
        "device": info.device,
        "dtype": info.dtype,
        "quantization": info.extra.get("quantization"),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "argv": list(argv),
    }
