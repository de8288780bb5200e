"""Ghost-text latency while typing, replayed over the evaluation notebooks.

For each task (a masked line in a real notebook, from ``evals``), the cell's
first request is "cold" (the prompt cache holds nothing of this notebook);
then comes one request per typed character of the target line ("typing").
The frontend sends fewer: while the typed text is the start of the
suggestion on screen it shows the rest without asking, so the requests it
would send are also reported apart ("typing, sent by the frontend"). Every
request goes through ``CodegenService.stream_complete``, the server's code
path, and is timed to its first streamed text and to the whole suggestion.

In the same run, interleaved task by task so that any load on the machine
falls on both alike, a naive reference answers the same requests:
transformers ``generate`` on the current cell only, in float32, no cache kept,
with the same scope stopping and ``max_tokens``. It answers the cold request
and every ``--reference-every``-th typing request (it costs the same at each).

    python benchmarks/keystrokes.py                      # embedded 1.5B, CPU defaults
    python benchmarks/keystrokes.py --context-tokens 2048 --tasks 8

It prints the CPU model, p50/p90 tables, the prompt reuse rate, the model's
RSS after loading (peak and current, before the reference is loaded), the
latency of a cancel during a long prefill, and explanation tokens/s (ours
before the reference is loaded). The table's "deadline hits" counts the
requests that ``--completion-timeout`` (the server's ``completion_timeout``)
stopped, and of those the ones that still came back with text.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import platform
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # evals/ is not installed

from benchmarks.machine import cpu_model  # noqa: E402
from evals import notebooks  # noqa: E402
from jupyter_codegen.api.schemas import CompleteRequest, ExplainRequest  # noqa: E402
from jupyter_codegen.completion.postprocess import clean_completion  # noqa: E402
from jupyter_codegen.completion.prompt import fim_segments  # noqa: E402
from jupyter_codegen.completion.scope import completion_scope  # noqa: E402
from jupyter_codegen.completion.stopping import should_stop  # noqa: E402
from jupyter_codegen.context import budget as budget_module  # noqa: E402
from jupyter_codegen.server.app import CodegenApp  # noqa: E402


def rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    current = peak
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        current = pages * 4096 / 2**20
    except (OSError, ValueError):
        pass
    return current, peak


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# -- ours --------------------------------------------------------------------


async def ours(service: Any, body: dict[str, Any]) -> dict[str, Any]:
    req = CompleteRequest.model_validate(body)
    timed_out = service.host.stats.timed_out
    started = time.perf_counter()
    first = None
    events = await service.stream_complete(req, service.ticket(None, "complete"))
    reply: dict[str, Any] = {}
    async for name, data in events:
        if name == "completion" and data["text"] and first is None:
            first = time.perf_counter() - started
        elif name == "done":
            reply = data
    total = time.perf_counter() - started
    timings = reply.get("timings", {})
    comps = reply.get("completions", [])
    return {
        "first_s": first if first is not None else total,
        "total_s": total,
        "prompt_tokens": timings.get("prompt_tokens", 0),
        "cached_tokens": timings.get("cached_tokens", 0),
        "generated_tokens": timings.get("generated_tokens", 0),
        "drafted_tokens": timings.get("drafted_tokens", 0),
        "text": comps[0]["text"] if comps else "",
        # Stopped by the completion deadline (completion_timeout).
        "deadline": service.host.stats.timed_out > timed_out,
    }


def frontend_sends(shown: tuple[str, str] | None, prefix: str) -> bool:
    """Whether the frontend would send this request: it does not while the
    text typed since the suggestion on screen (``shown``: its prefix and text)
    is the start of that suggestion (src/request.ts, remainingSuggestion)."""
    if shown is None or not prefix.startswith(shown[0]):
        return True
    typed = prefix[len(shown[0]) :]
    return not (typed and len(shown[1]) > len(typed) and shown[1].startswith(typed))


# -- the naive reference -----------------------------------------------------


class Reference:
    """transformers generate, float32, current cell only, nothing kept."""

    def __init__(self, path: str, template: Any, max_tokens: int, device: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        self.model = model.to(device).eval()
        self.template = template
        self.max_tokens = max_tokens
        vocab = self.tokenizer.get_vocab()
        self.stop_ids = sorted(
            {vocab[t] for t in template.stop_tokens if t in vocab} | {self.tokenizer.eos_token_id}
        )

    def ids(self, prefix: str, suffix: str) -> list[int]:
        ids: list[int] = []
        for seg in fim_segments(self.template, prefix, suffix):
            if seg.special:
                ids.append(self.tokenizer.convert_tokens_to_ids(seg.text))
            else:
                ids += self.tokenizer.encode(
                    seg.text, add_special_tokens=False, split_special_tokens=True
                )
        return ids

    def complete(self, prefix: str, suffix: str) -> dict[str, Any]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        torch = self.torch
        scope = completion_scope(prefix, suffix)
        tokenizer = self.tokenizer
        started = time.perf_counter()
        first: list[float] = []
        prompt = self.ids(prefix, suffix)

        class Scope(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                if not first:
                    first.append(time.perf_counter() - started)
                text = tokenizer.decode(input_ids[0, len(prompt) :], skip_special_tokens=True)
                done = should_stop(text, prefix, suffix, scope)
                return torch.tensor([done], device=input_ids.device)

        ids = torch.tensor([prompt], device=self.device)
        with torch.inference_mode():
            out = self.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=self.max_tokens,
                do_sample=False,
                temperature=None,
                top_p=None,
                top_k=None,
                eos_token_id=self.stop_ids,
                pad_token_id=self.stop_ids[0],
                stopping_criteria=StoppingCriteriaList([Scope()]),
            )
        total = time.perf_counter() - started
        raw = tokenizer.decode(out[0, len(prompt) :], skip_special_tokens=True)
        return {
            "first_s": first[0] if first else total,
            "total_s": total,
            "prompt_tokens": len(prompt),
            "generated_tokens": int(out.shape[1]) - len(prompt),
            "text": clean_completion(raw, prefix, suffix, scope=scope),
        }


# -- the run -----------------------------------------------------------------


def typed_requests(task: Any, max_chars: int) -> list[tuple[str, str]]:
    """The cold request, then one per typed character of the target's first line."""
    line = task.target.split("\n", 1)[0]
    steps = [task.prefix] + [
        task.prefix + line[:k] for k in range(1, min(len(line), max_chars) + 1)
    ]
    return [(p, task.suffix) for p in steps]


def cancel_latency(service: Any, tokens: int) -> list[float]:
    """Seconds from a cancel, set during a long prefill, until the engine is idle."""
    from jupyter_codegen.engine.base import GenerationRequest, Segment

    engine = service.host.ready_engine()
    engine.prompt_cache.clear()
    text = "".join(f"value_{i} = compute(value_{i - 1}, {i})  # step {i}\n" for i in range(tokens))
    out = []
    for delay in (0.3, 0.6, 0.9, 1.2, 1.5):
        engine.prompt_cache.clear()
        cancel = threading.Event()
        fired: list[float] = []

        def fire(ev: threading.Event = cancel, stamp: list[float] = fired) -> None:
            stamp.append(time.perf_counter())
            ev.set()

        timer = threading.Timer(delay, fire)
        timer.start()
        result = engine.generate(
            GenerationRequest(max_new_tokens=8, segments=[Segment(text)]), cancel
        )
        ended = time.perf_counter()
        timer.cancel()
        if fired and result.candidates[0].finish_reason == "cancelled":
            out.append(ended - fired[0])
    engine.prompt_cache.clear()
    return out


def explain_request() -> ExplainRequest:
    """Some of our own code to explain: the prompt budget's module (its path
    moved once and broke this benchmark; an import follows it)."""
    code = inspect.getsource(budget_module)[:1800]
    return ExplainRequest.model_validate({"code": code})


async def explain_speed(service: Any, tokens: int) -> dict[str, float]:
    """Our explanation of some code, ``tokens`` long: run before the reference
    is loaded, as in a server, which holds one model. (Once the float32
    reference had run in the same process, one pass of ours over one token
    took 0.144 s instead of 0.112 s.)"""
    req = explain_request().model_copy(update={"max_tokens": tokens})
    started = time.perf_counter()
    reply = await service.explain(req, service.ticket(None, "explain"))
    ours_s = time.perf_counter() - started
    timings = reply.timings
    result = {"ours_tokens": timings["generated_tokens"], "ours_s": ours_s}
    if "first_token_ms" in timings and timings["generate_ms"] > timings["first_token_ms"]:
        # After the first token: decoding alone, without the prompt's prefill.
        decoding_s = (timings["generate_ms"] - timings["first_token_ms"]) / 1000
        result["ours_decode_tokens_per_s"] = (timings["generated_tokens"] - 1) / decoding_s
    return result


def reference_explain_speed(service: Any, reference: Reference, tokens: int) -> dict[str, float]:
    """The reference's explanation of the same code, from the same prompt."""
    gen = service.prepare_explain(explain_request())
    engine = service.host.ready_engine()
    prompt = engine.prompt_ids(gen)
    torch = reference.torch
    ids = torch.tensor([prompt], device=reference.device)
    started = time.perf_counter()
    with torch.inference_mode():
        out = reference.model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=tokens,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
        )
    return {
        "reference_tokens": int(out.shape[1]) - len(prompt),
        "reference_s": time.perf_counter() - started,
    }


def table(rows: dict[tuple[str, str], list[dict[str, Any]]]) -> str:
    lines = [
        "| engine | requests | n | first token p50 | p90 | whole p50 | p90 | reuse "
        "| prompt tokens p50 | deadline hits |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (who, phase), sel in rows.items():
        if not sel:
            continue
        firsts = [r["first_s"] for r in sel]
        totals = [r["total_s"] for r in sel]
        prompt = sum(r["prompt_tokens"] for r in sel)
        reuse = sum(r.get("cached_tokens", 0) for r in sel) / max(1, prompt)
        hits = "-"
        if "deadline" in sel[0]:
            hit = [r for r in sel if r["deadline"]]
            hits = f"{len(hit)} ({sum(bool(r['text']) for r in hit)} with text)"
        lines.append(
            f"| {who} | {phase} | {len(sel)} | {pct(firsts, 0.5):.2f} s | {pct(firsts, 0.9):.2f} s "
            f"| {pct(totals, 0.5):.2f} s | {pct(totals, 0.9):.2f} s | {100 * reuse:.0f}% "
            f"| {statistics.median(r['prompt_tokens'] for r in sel):.0f} | {hits} |"
        )
    return "\n".join(lines)


def load(app: CodegenApp) -> tuple[Any, float]:
    """``app``'s service with its model loaded, and the seconds that took."""
    service = app.build_service()
    started = time.perf_counter()
    service.host.start_loading()
    service.host.wait_loaded()
    if service.host.state != "ready":
        raise SystemExit(f"{app.remote_url or app.model}: {service.host.error}")
    return service, time.perf_counter() - started


async def run(args: argparse.Namespace) -> int:
    print(f"CPU: {cpu_model()} ({platform.machine()}), {args.threads or 'default'} threads")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    nbs = notebooks.load_notebooks(args.cache / "wheels")
    kinds = {"line-start": args.tasks - args.tasks // 2, "mid-line": args.tasks // 2, "block": 0}
    tasks = notebooks.build_tasks(nbs, kinds, args.seed)
    app = CodegenApp(
        model=args.model,
        device=args.device,
        quantize=args.quantize,
        int8_outliers=args.int8_outliers,
        int8_rotation=args.int8_rotation,
        low_memory=args.low_memory,
        context_tokens=args.context_tokens,
        prompt_cache_mb=args.prompt_cache_mb,
        draft_tokens=args.draft_tokens,
        completion_timeout=args.completion_timeout,
    )
    service, load_s = load(app)
    gc.collect()
    rss_now, rss_peak = rss_mib()
    info = service.host.ready_engine().info()
    budget = service.prompt_budget()
    speed = await explain_speed(service, args.explain_tokens)
    print(
        f"ours: {info.model} on {info.device}, weights {info.dtype} "
        f"({info.extra.get('quantization') or 'not quantized'}), loaded in {load_s:.1f} s; "
        f"RSS {rss_now:.0f} MiB, peak {rss_peak:.0f} MiB; budget {budget.total} "
        f"(suffix {budget.suffix}) tokens; draft {args.draft_tokens}",
        flush=True,
    )
    reference = None
    if not args.no_reference:
        from jupyter_codegen.engine.local.embedded import (
            DEFAULT_EMBEDDED,
            EMBEDDED_MODELS,
            converted_dir,
            default_cache_dir,
        )

        name = args.model.split(":", 1)[1] if ":" in args.model else DEFAULT_EMBEDDED
        path = converted_dir(EMBEDDED_MODELS[name], default_cache_dir())
        reference = Reference(str(path), service.template(), args.max_tokens, info.device)
        print(f"reference: transformers generate, float32, from {path}", flush=True)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {
        ("ours", "cold"): [],
        ("ours", "typing"): [],
        ("ours", "typing, sent by the frontend"): [],
        ("reference", "cold"): [],
        ("reference", "typing"): [],
    }
    for t, task in enumerate(tasks):
        service.host.ready_engine().prompt_cache.clear()  # cold: nothing of this notebook
        steps = typed_requests(task, args.max_chars)
        shown: tuple[str, str] | None = None
        for k, (prefix, suffix) in enumerate(steps):
            body = task.as_request(args.max_tokens) | {"prefix": prefix, "suffix": suffix}
            body["path"] = task.id
            row = await ours(service, body)
            phase = "cold" if k == 0 else "typing"
            rows[("ours", phase)].append(row)
            # Every keystroke is sent here; the frontend sends only those its
            # suggestion on screen does not already answer.
            if k > 0 and frontend_sends(shown, prefix):
                rows[("ours", "typing, sent by the frontend")].append(row)
            if k == 0 or frontend_sends(shown, prefix):
                shown = (prefix, row["text"])
            if reference is not None and (k == 0 or k % args.reference_every == 0):
                rows[("reference", phase)].append(reference.complete(prefix, suffix))
        last = rows[("ours", "typing")][-len(steps) + 1 :] or rows[("ours", "cold")][-1:]
        print(
            f"[{t + 1}/{len(tasks)}] {task.kind:10} {len(steps) - 1:2} keys; ours cold "
            f"{rows[('ours', 'cold')][-1]['total_s']:.2f} s, typing p50 "
            f"{pct([r['total_s'] for r in last], 0.5):.2f} s; {task.id}",
            flush=True,
        )
    print()
    print(table(rows))
    if reference is not None:
        ref_p50 = statistics.median(
            r["total_s"] for r in rows[("reference", "cold")] + rows[("reference", "typing")]
        )
        typing_p50 = statistics.median(r["total_s"] for r in rows[("ours", "typing")])
        cold_p50 = statistics.median(r["total_s"] for r in rows[("ours", "cold")])
        print(
            f"\nratios to the reference's p50 ({ref_p50:.2f} s): typing "
            f"{typing_p50 / ref_p50:.2f} (target <= 0.33), cold {cold_p50 / ref_p50:.2f} "
            "(target <= 1.5)"
        )
        sent_rows = rows[("ours", "typing, sent by the frontend")]
        if sent_rows:
            sent_p50 = statistics.median(r["total_s"] for r in sent_rows)
            print(f"typing requests the frontend sends: {sent_p50 / ref_p50:.2f}")
    typing = rows[("ours", "typing")]
    drafted = sum(r.get("drafted_tokens", 0) for r in typing)
    generated = sum(r["generated_tokens"] for r in typing)
    sent = len(rows[("ours", "typing, sent by the frontend")])
    print(
        f"typing: {100 * drafted / max(1, generated):.0f}% of the generated tokens came from "
        f"verified drafts; the frontend would have sent {sent} of the {len(typing)} requests"
    )
    cancels = cancel_latency(service, args.cancel_tokens)
    print(
        f"cancel during a {args.cancel_tokens}-line prefill: engine idle after "
        + ", ".join(f"{1000 * c:.0f}" for c in cancels)
        + " ms"
    )
    serving_rss = None
    if reference is None:  # (else the reference model is in this process too)
        gc.collect()
        serving_rss = rss_mib()[0]
        prompt_cache = service.host.ready_engine().info().extra.get("prompt_cache") or {}
        print(
            f"RSS after the run {serving_rss:.0f} MiB, the prompt cache holding "
            f"{prompt_cache.get('bytes', 0) / 2**20:.0f} MiB"
        )
    if reference is not None:
        speed |= reference_explain_speed(service, reference, args.explain_tokens)
    line = f"explain: ours {speed['ours_tokens'] / speed['ours_s']:.2f} tokens/s"
    if "ours_decode_tokens_per_s" in speed:
        line += f" ({speed['ours_decode_tokens_per_s']:.2f} after the first token)"
    if "reference_s" in speed:
        line += f", reference {speed['reference_tokens'] / speed['reference_s']:.2f} tokens/s"
    print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "cpu": cpu_model(),
                    "info": {"dtype": info.dtype, "device": info.device, "load_s": load_s},
                    "rss_mib": rss_now,
                    "peak_rss_mib": rss_peak,
                    "serving_rss_mib": serving_rss,
                    "rows": {f"{w}/{p}": v for (w, p), v in rows.items()},
                    "cancel_s": cancels,
                    "explain": speed,
                },
                indent=1,
            )
        )
    service.host.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    p.add_argument("--device", default="auto")
    p.add_argument("--quantize", default="auto", help="auto (the server's default), int8 or none")
    p.add_argument(
        "--no-int8-outliers",
        dest="int8_outliers",
        action="store_false",
        help="plain per-token int8 (the server's int8_outliers = False)",
    )
    p.add_argument(
        "--int8-rotation",
        action="store_true",
        help="int8 on rotated inputs instead of the outlier inputs (int8_rotation = True)",
    )
    p.add_argument(
        "--low-memory",
        action="store_true",
        help="no int8 copy of the 4-bit layers (low_memory = True)",
    )
    p.add_argument("--context-tokens", type=int, default=0, help="0: the server's default")
    p.add_argument("--prompt-cache-mb", type=int, default=512)
    p.add_argument("--draft-tokens", type=int, default=6)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument(
        "--completion-timeout",
        type=float,
        default=15.0,
        help="the server's completion deadline (15 s by default); the table counts its hits",
    )
    p.add_argument("--tasks", type=int, default=12)
    p.add_argument("--max-chars", type=int, default=24, help="typed characters per task")
    p.add_argument("--reference-every", type=int, default=4)
    p.add_argument("--no-reference", action="store_true")
    p.add_argument("--cancel-tokens", type=int, default=400, help="lines of the cancelled prompt")
    p.add_argument("--explain-tokens", type=int, default=96)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/jupyter-codegen/evals").expanduser()
    )
    p.add_argument("--json", type=Path, help="write every measurement here")
    return asyncio.run(run(p.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
