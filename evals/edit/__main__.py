"""``python -m evals.edit``: check the tasks, or write their ``/edit`` requests.

python -m evals.edit check [ID ...]        validate the tasks (see core.validate)
python -m evals.edit requests OUT.jsonl    one line per task: id, ours, peer
python -m evals.edit run [--ids ID ...]     run a model on them, ours vs the peers' prompt
"""

from __future__ import annotations

import sys

from .. import harness
from .run import HARNESS


def main(argv: list[str] | None = None) -> int:
    return harness.main(HARNESS, argv)


if __name__ == "__main__":
    sys.exit(main())
