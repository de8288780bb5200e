"""``python -m evals.fix run``: fix@1 of a model, ours against the peers' prompt."""

from __future__ import annotations

import argparse
from typing import Any

from ..proposals import load_service, meta_of, stream, table, timing_table, write_results
from ..runner import KernelRunner
from .core import CLASSES, FixCase, build_request, peer_request, score_edits

PROMPTS = ("ours", "peer")


def has_words(event: dict[str, Any]) -> bool:
    return bool(event.get("explanation") or event.get("edits"))


async def run_cases(args: argparse.Namespace, cases: list[FixCase]) -> int:
    with KernelRunner() as runner:
        requests = {c.id: build_request(runner, c, stream=True) for c in cases}
    print(f"{len(cases)} cases; loading {args.model} ...", flush=True)
    service = load_service(args.model, args.quantize)
    rows: list[dict[str, Any]] = []
    try:
        with KernelRunner() as runner:
            for i, case in enumerate(cases, 1):
                ours = requests[case.id]
                for prompt in args.prompts:
                    body = ours if prompt == "ours" else peer_request(ours)
                    if args.max_tokens:
                        body = {**body, "max_tokens": args.max_tokens}
                    got = await stream(service, "fix", body, has_words)
                    edits = got.reply.get("edits", [])
                    outcome = score_edits(runner, case, edits)
                    rows.append(
                        {
                            "id": case.id,
                            "class": case.error_class,
                            "root": "earlier cell" if case.earlier else "failing cell",
                            "prompt": prompt,
                            "passed": float(outcome.passed),
                            "reason": outcome.reason,
                            "detail": outcome.detail,
                            "first_words_s": got.first_words_s,
                            "total_s": got.total_s,
                            "edited": [e.get("cell") for e in edits],
                            "explanation": got.reply.get("explanation", ""),
                            "edits": edits,
                            "timings": got.reply.get("timings", {}),
                        }
                    )
                    first = got.first_words_s
                    print(
                        f"[{i}/{len(cases)}] {prompt:4} {outcome.reason:13} "
                        f"first {first if first is None else round(first, 2)} s, "
                        f"all {got.total_s:5.1f} s  {case.id}",
                        flush=True,
                    )
        meta = meta_of(service, args.model, args.argv)
    finally:
        service.host.shutdown()
    prompts = list(args.prompts)
    report = "\n".join(
        [
            f"# fix@1, {meta['model']} on {meta['device']} ({meta['quantization']}), "
            f"CPU {meta['cpu']}\n",
            "## per error class\n",
            *table(rows, "class", list(CLASSES), prompts),
            "\n## by where the root cause is\n",
            *table(rows, "root", ["failing cell", "earlier cell"], prompts),
            "\n## time from the request to the first words and to the whole proposal\n",
            *timing_table(rows, prompts),
            "",
        ]
    )
    path = write_results("fix", meta, rows, report)
    print(report)
    print(f"written: {path}")
    return 0
