"""``python -m evals.edit run``: edit pass rate of a model, ours against the
peers' prompt (the selection and the instruction alone)."""

from __future__ import annotations

import argparse
from typing import Any

from ..proposals import load_service, meta_of, stream, table, timing_table, write_results
from ..runner import KernelRunner
from .core import KINDS, EditTask, build_request, peer_request, score_edit

PROMPTS = ("ours", "peer")


def has_words(event: dict[str, Any]) -> bool:
    return bool(event.get("text"))


async def run_tasks(args: argparse.Namespace, tasks: list[EditTask]) -> int:
    with KernelRunner() as runner:
        requests = {t.id: build_request(runner, t, stream=True) for t in tasks}
    print(f"{len(tasks)} tasks; loading {args.model} ...", flush=True)
    service = load_service(args.model, args.quantize)
    rows: list[dict[str, Any]] = []
    try:
        with KernelRunner() as runner:
            for i, task in enumerate(tasks, 1):
                ours = requests[task.id]
                for prompt in args.prompts:
                    body = ours if prompt == "ours" else peer_request(ours)
                    if args.max_tokens:
                        body = {**body, "max_tokens": args.max_tokens}
                    got = await stream(service, "edit", body, has_words)
                    text = got.reply.get("text", "")
                    outcome = score_edit(runner, task, text)
                    rows.append(
                        {
                            "id": task.id,
                            "kind": task.kind,
                            "prompt": prompt,
                            "passed": float(outcome.passed),
                            "runs": outcome.runs,
                            "behaviour": outcome.behaviour,
                            "followed": outcome.followed,
                            "detail": outcome.detail,
                            "parses": got.reply.get("parses"),
                            "first_words_s": got.first_words_s,
                            "total_s": got.total_s,
                            "text": text,
                            "timings": got.reply.get("timings", {}),
                        }
                    )
                    first = got.first_words_s
                    status = "pass" if outcome.passed else "fail"
                    print(
                        f"[{i}/{len(tasks)}] {prompt:4} {status} "
                        f"first {first if first is None else round(first, 2)} s, "
                        f"all {got.total_s:5.1f} s  {task.id}  {outcome.detail[:80]}",
                        flush=True,
                    )
        meta = meta_of(service, args.model, args.argv)
    finally:
        service.host.shutdown()
    prompts = list(args.prompts)
    report = "\n".join(
        [
            f"# edit pass rate, {meta['model']} on {meta['device']} ({meta['quantization']}), "
            f"CPU {meta['cpu']}\n",
            *table(rows, "kind", list(KINDS), prompts),
            "\n## time from the request to the first words and to the whole proposal\n",
            *timing_table(rows, prompts),
            "",
        ]
    )
    path = write_results("edit", meta, rows, report)
    print(report)
    print(f"written: {path}")
    return 0
