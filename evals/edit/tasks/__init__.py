"""The tasks, one module per group of instruction kinds (``KINDS`` in ..core)."""

from __future__ import annotations

from ..core import EditTask
from . import annotate, behaviour, context, refactor, rewrite, robustness, vectorize

TASKS: tuple[EditTask, ...] = (
    *vectorize.TASKS,
    *annotate.TASKS,
    *rewrite.TASKS,
    *robustness.TASKS,
    *refactor.TASKS,
    *behaviour.TASKS,
    *context.TASKS,
)
