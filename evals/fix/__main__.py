"""``python -m evals.fix``: check the cases, or write their ``/fix`` requests.

python -m evals.fix check [ID ...]        validate the cases (see core.validate)
python -m evals.fix requests OUT.jsonl    one line per case: id, ours, peer
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ..runner import KernelRunner
from . import CASES
from .core import build_request, peer_request, validate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.fix", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the cases in a real kernel")
    check.add_argument("ids", nargs="*")
    requests = sub.add_parser("requests", help="write each case's /fix request body")
    requests.add_argument("out")
    args = p.parse_args(argv)
    cases = [c for c in CASES if args.command != "check" or not args.ids or c.id in args.ids]
    failed = 0
    with KernelRunner() as runner:
        if args.command == "check":
            for case in cases:
                start = time.monotonic()
                problems = validate(runner, case)
                failed += bool(problems)
                status = "ok" if not problems else "FAIL"
                print(f"{status:4} {time.monotonic() - start:5.2f}s {case.id}")
                for problem in problems:
                    print(f"       {problem}")
            print(f"{len(cases) - failed}/{len(cases)} cases ok")
        else:
            with open(args.out, "w", encoding="utf-8") as fh:
                for case in cases:
                    ours = build_request(runner, case)
                    record = {"id": case.id, "ours": ours, "peer": peer_request(ours)}
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            print(f"{len(cases)} requests in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
