"""Run the evaluation: ``python -m evals`` (see evals/README.md).

One model is loaded once, through the same ``CodegenApp.build_service()`` the
server uses, and every task is completed by ``CodegenService.complete`` under
each prompting strategy, so that what is measured is what users get. Then the
syntax strategy runs again with early stopping off, to measure what stopping
saves. Results go to ``evals/results/<stamp>.json`` (every completion) and
``.md`` (the tables).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_codegen.api.schemas import CompleteRequest
from jupyter_codegen.completion.pipeline import CompletionOptions
from jupyter_codegen.completion.prompt import LAYOUTS
from jupyter_codegen.context.select import STRATEGIES
from jupyter_codegen.server.app import CodegenApp
from jupyter_codegen.service.service import CodegenService

from . import humaneval, livestate, notebooks
from .metrics import first_line, score, summarize
from .sandbox import run_program
from .tasks import Task

STRATEGY_LABELS = {
    "cell": "current cell only (jupyter-ai)",
    "preceding": "preceding cells, clipped (Copilot)",
    "syntax": "ours: tree-sitter selection",
    "surround": "cells before and after, whole (notebook peer)",
}
METRICS = ["exact_match", "edit_similarity", "block_edit_similarity", "parses", "empty"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m evals", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--quantize", default="auto", help="auto (the server's default), int8 or none")
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
    p.add_argument(
        "--suffix-tokens", type=int, default=0, help="0: the server's default (suffix_tokens)"
    )
    p.add_argument(
        "--generation-timeout",
        type=float,
        default=120.0,
        help="seconds before a generation stops (raise it for slow float32 runs on a busy CPU)",
    )
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument(
        "--strategies",
        default="syntax,preceding,cell",
        help=f"comma-separated, of {STRATEGIES}; STRATEGY@LAYOUT picks the prompt "
        f"layout too ({LAYOUTS}), e.g. syntax@spm",
    )
    p.add_argument("--humaneval-single", type=int, default=30)
    p.add_argument("--humaneval-multi", type=int, default=20)
    p.add_argument("--notebook-line-start", type=int, default=30)
    p.add_argument("--notebook-mid-line", type=int, default=30)
    p.add_argument("--notebook-block", type=int, default=20)
    p.add_argument(
        "--livestate",
        type=int,
        default=0,
        help=f"live-state tasks (0: skip; at most {len(livestate.NOTEBOOKS)}), each with and "
        "without live context",
    )
    p.add_argument(
        "--early-stop-tasks",
        type=int,
        default=30,
        help="notebook tasks to rerun without early stopping (0: skip)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/jupyter-codegen/evals").expanduser()
    )
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    return p.parse_args(argv)


def build_tasks(args: argparse.Namespace) -> list[Task]:
    tasks = humaneval.build_tasks(args.humaneval_single, args.humaneval_multi, args.seed)
    counts = {
        "line-start": args.notebook_line_start,
        "mid-line": args.notebook_mid_line,
        "block": args.notebook_block,
    }
    if args.livestate:
        tasks += livestate.with_namespaces(livestate.build_tasks(args.livestate))
    if not any(counts.values()):
        return tasks
    nbs = notebooks.load_notebooks(args.cache / "wheels")
    return tasks + notebooks.build_tasks(nbs, counts, args.seed)


def load_service(args: argparse.Namespace) -> CodegenService:
    app = CodegenApp(
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        quantize=args.quantize,
        int8_rotation=args.int8_rotation,
        low_memory=args.low_memory,
        context_tokens=args.context_tokens,
        suffix_tokens=args.suffix_tokens,
        generation_timeout=args.generation_timeout,
        # Quality, not interactive time: a completion may take as long.
        completion_timeout=args.generation_timeout,
    )
    service = app.build_service()
    service.host.start_loading()
    service.host.wait_loaded()
    if service.host.state != "ready":
        raise SystemExit(f"The model did not load: {service.host.error}")
    return service


async def complete(
    service: CodegenService,
    task: Task,
    max_tokens: int,
    strategy: str,
    early_stop: bool,
    live: bool = True,
) -> dict[str, Any]:
    name, _, layout = strategy.partition("@")
    options = CompletionOptions(strategy=name, early_stop=early_stop, layout=layout or "psm")
    req = CompleteRequest.model_validate(task.as_request(max_tokens, live))
    start = time.perf_counter()
    reply = await service.complete(req, service.ticket(None, "complete"), options)
    latency = time.perf_counter() - start
    text = reply.completions[0].text if reply.completions else ""
    row: dict[str, Any] = {
        "task": task.id,
        "set": task.set,
        "kind": task.kind,
        "strategy": strategy,
        "early_stop": early_stop,
        "live": live and bool(task.namespace),
        "completion": text,
        "target": task.target,
        "latency_s": latency,
        "prompt_tokens": reply.timings.get("prompt_tokens"),
        "generated_tokens": reply.timings.get("generated_tokens"),
    }
    row.update(score(text, task.target, task.prefix, task.suffix))
    if task.source.get("hidden"):  # live state: the name only the kernel knows
        row["names_it"] = float(task.source["hidden"] in first_line(text))
    if task.set == "humaneval":
        outcome = await asyncio.to_thread(run_program, humaneval.program(task, text))
        row["pass"] = float(outcome.passed)
        row["outcome"] = outcome.reason
    return row


def _fmt(value: float, pct: bool = True) -> str:
    return f"{100 * value:.1f}" if pct else f"{value:.2f}"


def tables(rows: list[dict[str, Any]], strategies: list[str]) -> str:
    out = []
    for set_name, extra in (("humaneval", ["pass"]), ("notebooks", [])):
        keys = extra + METRICS
        out.append(f"### {set_name}\n")
        header = "| strategy | kind | n | " + " | ".join(keys) + " | p50 s | p90 s |"
        out += [header, "|" + "---|" * (len(keys) + 5)]
        kinds = [*sorted({r["kind"] for r in rows if r["set"] == set_name}), "all"]
        for kind in kinds:
            for strategy in strategies:
                sel = [
                    r
                    for r in rows
                    if r["set"] == set_name
                    and r["strategy"] == strategy
                    and r["early_stop"]
                    and (kind == "all" or r["kind"] == kind)
                ]
                if not sel:
                    continue
                s = summarize(sel, keys)
                cells = [_fmt(s[k]) for k in keys]
                out.append(
                    f"| {STRATEGY_LABELS.get(strategy, strategy)} | {kind} | {s['n']} | "
                    + " | ".join(cells)
                    + f" | {_fmt(s['latency_p50_s'], False)} | {_fmt(s['latency_p90_s'], False)} |"
                )
        out.append("")
    out += livestate_table(rows)
    stop_rows = [r for r in rows if not r["early_stop"]]
    if stop_rows:
        ids = {r["task"] for r in stop_rows}
        with_stop = [
            r for r in rows if r["early_stop"] and r["strategy"] == "syntax" and r["task"] in ids
        ]
        out.append("### early stopping (ours, same notebook tasks)\n")
        out.append(
            "| early stop | n | p50 s | p90 s | mean generated tokens | exact match | edit sim |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for label, sel in (("off", stop_rows), ("on", with_stop)):
            s = summarize(sel, ["exact_match", "edit_similarity", "generated_tokens"])
            out.append(
                f"| {label} | {s['n']} | {_fmt(s['latency_p50_s'], False)} | "
                f"{_fmt(s['latency_p90_s'], False)} | {s['generated_tokens']:.1f} | "
                f"{_fmt(s['exact_match'])} | {_fmt(s['edit_similarity'])} |"
            )
        out.append("")
    return "\n".join(out)


def livestate_table(rows: list[dict[str, Any]]) -> list[str]:
    """The live-state set with and without the kernel's variables."""
    sel = [r for r in rows if r["set"] == "livestate"]
    if not sel:
        return []
    out = ["### live state (ours: tree-sitter selection)\n"]
    out.append(
        "| live context | kind | n | names it | exact_match | edit_similarity | p50 s | p90 s |"
    )
    out.append("|---|---|---|---|---|---|---|---|")
    for kind in [*sorted({r["kind"] for r in sel}), "all"]:
        for live in (False, True):
            part = [
                r for r in sel if r.get("live") == live and (kind == "all" or r["kind"] == kind)
            ]
            if not part:
                continue
            s = summarize(part, ["names_it", "exact_match", "edit_similarity"])
            out.append(
                f"| {'with' if live else 'without'} | {kind} | {s['n']} | {_fmt(s['names_it'])} | "
                f"{_fmt(s['exact_match'])} | {_fmt(s['edit_similarity'])} | "
                f"{_fmt(s['latency_p50_s'], False)} | {_fmt(s['latency_p90_s'], False)} |"
            )
    out.append("")
    return out


async def run(args: argparse.Namespace) -> int:
    strategies = [s for s in args.strategies.split(",") if s]
    tasks = build_tasks(args)
    print(f"{len(tasks)} tasks; loading {args.model} ...", flush=True)
    t0 = time.perf_counter()
    service = load_service(args)
    info = service.host.ready_engine().info()
    print(f"loaded in {time.perf_counter() - t0:.1f} s on {info.device} ({info.dtype})", flush=True)
    rows: list[dict[str, Any]] = []
    others = [t for t in tasks if t.set != "livestate"]
    plan = [(t, s, True, True) for t in others for s in strategies]
    nb_tasks = [t for t in tasks if t.set == "notebooks"]
    plan += [(t, "syntax", False, True) for t in nb_tasks[: args.early_stop_tasks]]
    plan += [
        (t, "syntax", True, live) for t in tasks if t.set == "livestate" for live in (False, True)
    ]
    for i, (task, strategy, early, live) in enumerate(plan, 1):
        row = await complete(service, task, args.max_tokens, strategy, early, live)
        rows.append(row)
        print(
            f"[{i}/{len(plan)}] {strategy:9} stop={early!s:5} live={row['live']!s:5} "
            f"{task.kind:11} "
            f"{row['latency_s']:5.1f}s em={row['exact_match']:.0f} "
            f"es={row['edit_similarity']:.2f}"
            + (f" pass={row['pass']:.0f}" if "pass" in row else "")
            + f" {task.id}",
            flush=True,
        )
    report = tables(rows, strategies)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "model": args.model,
        "device": info.device,
        "dtype": info.dtype,
        "quantize": args.quantize,
        "quantization": info.extra.get("quantization"),
        "context_tokens": service.context_budget(),
        "max_tokens": args.max_tokens,
        "seed": args.seed,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "argv": sys.argv[1:],
    }
    (args.out / f"{stamp}.json").write_text(
        json.dumps({"meta": meta, "tasks": [t.to_json() for t in tasks], "rows": rows}, indent=1)
    )
    header = (
        f"# Evaluation {stamp}\n\nmodel {args.model} on {info.device} ({info.dtype}), "
        f"context budget {meta['context_tokens']} tokens, max_tokens {args.max_tokens}, "
        f"seed {args.seed}. Percentages except latency.\n\n"
    )
    (args.out / f"{stamp}.md").write_text(header + report)
    print(header + report)
    service.host.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
