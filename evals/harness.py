"""The command line and the model run shared by the fix and edit evaluations:
``python -m evals.fix check|requests|run`` and the same for ``evals.edit``.

``run`` makes each item's request as the frontend makes it (its notebook run
top to bottom in a real kernel, the live variables described after it), then
streams it through the same ``CodegenService`` the server uses under two
prompts, ours (the request as it is) and the peers' (``peer_request``), and
scores the answer by execution in a fresh kernel. What is timed is what a
user waits for: the first words of the proposal after the click, and the
whole proposal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .proposals import (
    Streamed,
    load_service,
    meta_of,
    prefetch,
    stream,
    table,
    timing_table,
    write_results,
)
from .runner import KernelRunner


@dataclass(frozen=True)
class Harness:
    """One evaluation of a proposal endpoint (``kind``: "fix" or "edit")."""

    kind: str
    #: What one item is called ("case", "task").
    noun: str
    items: Sequence[Any]
    validate: Callable[[KernelRunner, Any], list[str]]
    build_request: Callable[..., dict[str, Any]]
    peer_request: Callable[[Mapping[str, Any]], dict[str, Any]]
    #: Whether a streamed event carries words of the proposal.
    has_words: Callable[[dict[str, Any]], bool]
    #: The row of one answer: at least "passed" (0 or 1), "status" and "detail".
    score: Callable[[KernelRunner, Any, Streamed], dict[str, Any]]
    #: The report's tables: (a row key to group by, its values in order).
    groups: Sequence[tuple[str, Sequence[str]]]
    title: str


def main(h: Harness, argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m evals.{h.kind}")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help=f"validate the {h.noun}s in a real kernel")
    check.add_argument("ids", nargs="*")
    requests = sub.add_parser("requests", help=f"write each {h.noun}'s /{h.kind} request body")
    requests.add_argument("out")
    run_ = sub.add_parser("run", help="run a model on them and score its answers")
    run_.add_argument("--ids", nargs="*", default=[])
    run_.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    run_.add_argument("--quantize", default="auto")
    run_.add_argument("--prompts", default="ours,peer", type=lambda s: s.split(","))
    run_.add_argument(
        "--int8-decode",
        default="int4",
        choices=["int4", "weight-only", "per-token"],
        help="how int8 layers compute the reply's tokens (the server's int8_decode)",
    )
    run_.add_argument("--max-tokens", type=int, default=0, help="0: the endpoint's default")
    run_.add_argument(
        "--prefetch",
        action="store_true",
        help="prefetch each request's prompt first (untimed), as the frontend does: a fix's "
        "when its error appears, an edit's (without its instruction) while the instruction "
        "is typed; then time the click",
    )
    args = p.parse_args(argv)
    ids = args.ids
    items = [x for x in h.items if not ids or x.id in ids]
    if args.command == "run":
        args.argv = list(argv if argv is not None else sys.argv[1:])
        return asyncio.run(run(h, args, items))
    with KernelRunner() as runner:
        if args.command == "requests":
            with open(args.out, "w", encoding="utf-8") as fh:
                for item in items:
                    ours = h.build_request(runner, item)
                    record = {"id": item.id, "ours": ours, "peer": h.peer_request(ours)}
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"{len(items)} requests in {args.out}")
            return 0
        failed = 0
        for item in items:
            start = time.monotonic()
            problems = h.validate(runner, item)
            failed += bool(problems)
            print(
                f"{'ok' if not problems else 'FAIL':4} {time.monotonic() - start:5.2f}s {item.id}"
            )
            for problem in problems:
                print(f"       {problem}")
        print(f"{len(items) - failed}/{len(items)} {h.noun}s ok")
    return 1 if failed else 0


async def run(h: Harness, args: argparse.Namespace, items: list[Any]) -> int:
    with KernelRunner() as runner:
        requests = {x.id: h.build_request(runner, x, stream=True) for x in items}
    print(f"{len(items)} {h.noun}s; loading {args.model} ...", flush=True)
    service = load_service(args.model, args.quantize, args.int8_decode)
    rows: list[dict[str, Any]] = []
    try:
        with KernelRunner() as runner:
            for i, item in enumerate(items, 1):
                ours = requests[item.id]
                for prompt in args.prompts:
                    body = ours if prompt == "ours" else h.peer_request(ours)
                    if args.max_tokens:
                        body = {**body, "max_tokens": args.max_tokens}
                    prefetched = None
                    if args.prefetch:
                        prefetched = await prefetch(service, h.kind, body)
                    got = await stream(service, h.kind, body, h.has_words)
                    row = {"id": item.id, "prompt": prompt, **h.score(runner, item, got)}
                    row |= {"first_words_s": got.first_words_s, "total_s": got.total_s}
                    row["timings"] = got.reply.get("timings", {})
                    if prefetched is not None:
                        row["prefetch_s"] = prefetched
                    rows.append(row)
                    first = got.first_words_s
                    print(
                        f"[{i}/{len(items)}] {prompt:4} {row['status']:13} "
                        f"first {first if first is None else round(first, 2)} s, "
                        f"all {got.total_s:5.1f} s  {item.id}  {row['detail'][:80]}",
                        flush=True,
                    )
        meta = meta_of(service, args.model, args.argv)
    finally:
        service.host.shutdown()
    prompts = list(args.prompts)
    lines = [
        f"# {h.title}, {meta['model']} on {meta['device']} ({meta['quantization']}), "
        f"CPU {meta['cpu']}\n"
    ]
    for key, values in h.groups:
        lines += [f"## by {key}\n", *table(rows, key, list(values), prompts), ""]
    lines += ["## time to the first words and to the whole proposal\n"]
    lines += [*timing_table(rows, prompts), ""]
    report = "\n".join(lines)
    path = write_results(h.kind, meta, rows, report)
    print(report)
    print(f"written: {path}")
    return 0
