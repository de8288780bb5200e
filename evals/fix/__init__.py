"""The fix-error evaluation: broken notebooks, their errors and their fixes
(evals/fix/README.md). The cases are in ``cases/``, one module per error class."""

from .cases import CASES
from .core import (
    CLASSES,
    FixCase,
    FixOutcome,
    InvalidEdits,
    Patch,
    apply_edits,
    build_request,
    fix_request,
    peer_request,
    score_edits,
)

__all__ = [
    "CASES",
    "CLASSES",
    "FixCase",
    "FixOutcome",
    "InvalidEdits",
    "Patch",
    "apply_edits",
    "build_request",
    "fix_request",
    "peer_request",
    "score_edits",
]
