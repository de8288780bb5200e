"""``python -m evals.edit``: check the tasks, or write their ``/edit`` requests.

python -m evals.edit check [ID ...]        validate the tasks (see core.validate)
python -m evals.edit requests OUT.jsonl    one line per task: id, ours, peer
python -m evals.edit run [--ids ID ...]     run a model on them, ours vs the peers' prompt
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from ..runner import KernelRunner
from . import TASKS
from .core import build_request, peer_request, validate
from .run import run_tasks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.edit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the tasks in a real kernel")
    check.add_argument("ids", nargs="*")
    requests = sub.add_parser("requests", help="write each task's /edit request body")
    requests.add_argument("out")
    run = sub.add_parser("run", help="run a model on them and score its answers")
    run.add_argument("--ids", nargs="*", default=[])
    run.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    run.add_argument("--quantize", default="auto")
    run.add_argument("--prompts", default="ours,peer", type=lambda s: s.split(","))
    run.add_argument("--max-tokens", type=int, default=0, help="0: the endpoint's default")
    args = p.parse_args(argv)
    if args.command == "run":
        args.argv = list(argv if argv is not None else sys.argv[1:])
        chosen = [x for x in TASKS if not args.ids or x.id in args.ids]
        return asyncio.run(run_tasks(args, chosen))
    tasks = [t for t in TASKS if args.command != "check" or not args.ids or t.id in args.ids]
    failed = 0
    with KernelRunner() as runner:
        if args.command == "check":
            for task in tasks:
                start = time.monotonic()
                problems = validate(runner, task)
                failed += bool(problems)
                status = "ok" if not problems else "FAIL"
                print(f"{status:4} {time.monotonic() - start:5.2f}s {task.id}")
                for problem in problems:
                    print(f"       {problem}")
            print(f"{len(tasks) - failed}/{len(tasks)} tasks ok")
        else:
            with open(args.out, "w", encoding="utf-8") as fh:
                for task in tasks:
                    ours = build_request(runner, task)
                    record = {"id": task.id, "ours": ours, "peer": peer_request(ours)}
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"{len(tasks)} requests in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
