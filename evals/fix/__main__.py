"""``python -m evals.fix``: check the cases, or write their ``/fix`` requests.

python -m evals.fix check [ID ...]        validate the cases (see core.validate)
python -m evals.fix requests OUT.jsonl    one line per case: id, ours, peer
python -m evals.fix run [--ids ID ...]     run a model on them, ours vs the peers' prompt
"""

from __future__ import annotations

import sys

from .. import harness
from .run import HARNESS


def main(argv: list[str] | None = None) -> int:
    return harness.main(HARNESS, argv)


if __name__ == "__main__":
    sys.exit(main())
