"""The tasks, one module per group of instruction kinds (``KINDS`` in ..core)."""

from __future__ import annotations

from ..core import EditTask
from . import annotate, rewrite, vectorize

TASKS: tuple[EditTask, ...] = (*vectorize.TASKS, *annotate.TASKS, *rewrite.TASKS)
