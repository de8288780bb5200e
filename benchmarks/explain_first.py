"""How long an explanation's first words take after the click (issue 20's
item 5: at most 1.5 s).

The request that Explain Code sends for a notebook's active cell (or its
selection): that code and the cells before it (src/explain.ts sends no live
variables), for two sets of notebooks:
- ``edit``: the edit evaluation's 38 small notebooks (evals/edit), the active
  cell or the task's selection;
- ``notebooks``: cells of the evaluation's real notebooks (evals/notebooks.py,
  the tasks' cells whole), whose earlier cells fill the prompt budget.
Streamed through the service with the server's defaults; the time from the
request to its first non-empty text, and the prompt's size. Each prompt is
computed whole but for what prompts share (the start of the chat template),
unless ``--prefetch``: then ``/prefetch/explain`` computes it first, as the
frontend does once the cell's completion prefetch is done.

    python benchmarks/explain_first.py [--edit-tasks N] [--notebook-tasks N] [--prefetch] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import cpu_model
from evals import notebooks
from evals.edit.core import EditTask
from evals.edit.tasks import TASKS
from evals.proposals import load_service, percentile
from evals.runner import cells_json
from evals.tasks import Task
from jupyter_codegen.api.schemas import ExplainRequest
from jupyter_codegen.service.service import CodegenService


def edit_request(task: EditTask, max_tokens: int) -> ExplainRequest:
    """What Explain Code sends with the edit task's cell active."""
    return ExplainRequest(
        code=task.selected,
        cells_before=cells_json(task.cells[: task.active]),
        max_tokens=max_tokens,
        stream=True,
    )


def notebook_request(task: Task, max_tokens: int) -> ExplainRequest:
    """What Explain Code sends with the notebook task's cell active."""
    return ExplainRequest(
        code=task.prefix + task.target + task.suffix,
        cells_before=[{"cell_type": t, "source": s} for t, s in task.cells_before],
        max_tokens=max_tokens,
        stream=True,
    )


async def first_words(
    service: CodegenService, req: ExplainRequest, prefetch: bool
) -> dict[str, Any]:
    prefetch_s = None
    if prefetch:
        start = time.perf_counter()
        ticket = service.background_ticket(None, "prefetch_explain")
        if not (await service.prefetch_explain(req, ticket)).prefetched:
            raise RuntimeError("the prefetch did not run on an idle model")
        prefetch_s = time.perf_counter() - start
    start = time.perf_counter()
    events = await service.stream_explain(req, service.ticket(None, "explain"))
    first: float | None = None
    done: dict[str, Any] = {}
    async for name, data in events:
        if name == "done":
            done = data
        elif first is None and data.get("delta", "").strip():
            first = time.perf_counter() - start
    timings = done.get("timings", {})
    return {
        "first_words_s": first,
        "total_s": time.perf_counter() - start,
        "prompt_tokens": timings.get("prompt_tokens"),
        "cached_tokens": timings.get("cached_tokens"),
        "prefetch_s": prefetch_s,
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    firsts = [r["first_words_s"] for r in rows if r["first_words_s"] is not None]
    tokens = [r["prompt_tokens"] for r in rows if r["prompt_tokens"] is not None]
    return {
        "n": len(rows),
        "with_words": len(firsts),
        "first_words_p50_s": percentile(firsts, 0.5),
        "first_words_p90_s": percentile(firsts, 0.9),
        "within_1_5_s": sum(f <= 1.5 for f in firsts),
        "prompt_tokens_p50": statistics.median(tokens) if tokens else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--edit-tasks", type=int, default=len(TASKS))
    parser.add_argument("--notebook-tasks", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--prefetch", action="store_true", help="prefetch each prompt first")
    parser.add_argument(
        "--cache", type=Path, default=Path("~/.cache/jupyter-codegen/evals").expanduser()
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    print(f"CPU: {cpu_model()} ({platform.machine()})")
    requests: dict[str, list[tuple[str, ExplainRequest]]] = {
        "edit": [(t.id, edit_request(t, args.max_tokens)) for t in TASKS[: args.edit_tasks]]
    }
    if args.notebook_tasks:
        nbs = notebooks.load_notebooks(args.cache / "wheels")
        kinds = {"line-start": args.notebook_tasks, "mid-line": 0, "block": 0}
        requests["notebooks"] = [
            (t.id, notebook_request(t, args.max_tokens))
            for t in notebooks.build_tasks(nbs, kinds, seed=0)
        ]
    loaded = time.perf_counter()
    service = load_service(args.model)
    print(f"loaded in {time.perf_counter() - loaded:.1f} s")
    results: dict[str, Any] = {}
    for name, reqs in requests.items():
        rows = []
        for task_id, req in reqs:
            row = {"id": task_id} | asyncio.run(first_words(service, req, args.prefetch))
            rows.append(row)
            print(
                f"{name} {task_id[:60]:60s} "
                f"first words {row['first_words_s'] or float('nan'):.2f} s, "
                f"prompt {row['prompt_tokens']} tokens ({row['cached_tokens']} cached)"
            )
        results[name] = {"summary": summary(rows), "rows": rows}
        print(name, json.dumps(results[name]["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "prefetch": args.prefetch, **results}))


if __name__ == "__main__":
    main()
