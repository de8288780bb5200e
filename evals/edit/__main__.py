"""``python -m evals.edit``: check the tasks, or write their ``/edit`` requests.

python -m evals.edit check [ID ...]        validate the tasks (see core.validate)
python -m evals.edit requests OUT.jsonl    one line per task: id, ours, peer
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..runner import KernelRunner
from . import TASKS
from .core import build_request, peer_request, validate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.edit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the tasks in a real kernel")
    check.add_argument("ids", nargs="*")
    requests = sub.add_parser("requests", help="write each task's /edit request body")
    requests.add_argument("out")
    args = p.parse_args(argv)
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
