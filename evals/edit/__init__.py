"""The edit-selection evaluation: a selection, an instruction, and an
execution check of the edited notebook (evals/edit/README.md). The tasks are
in ``tasks/``, one module per group of instruction kinds."""

from .core import KINDS, EditOutcome, EditTask, build_request, peer_request, score_edit
from .tasks import TASKS

__all__ = [
    "KINDS",
    "TASKS",
    "EditOutcome",
    "EditTask",
    "build_request",
    "peer_request",
    "score_edit",
]
