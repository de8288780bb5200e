"""The edit evaluation's harness: the pass rate by execution, ours against the
peers' prompt (the selection and the instruction alone)."""

from __future__ import annotations

from typing import Any

from ..harness import Harness
from ..proposals import Streamed
from ..runner import KernelRunner
from . import TASKS
from .core import KINDS, EditTask, build_request, peer_request, score_edit, validate


def score(runner: KernelRunner, task: EditTask, got: Streamed) -> dict[str, Any]:
    text = got.reply.get("text", "")
    outcome = score_edit(runner, task, text)
    return {
        "kind": task.kind,
        "passed": float(outcome.passed),
        "status": "pass" if outcome.passed else "fail",
        "detail": outcome.detail,
        "runs": outcome.runs,
        "behaviour": outcome.behaviour,
        "followed": outcome.followed,
        "parses": got.reply.get("parses"),
        "text": text,
    }


HARNESS = Harness(
    kind="edit",
    noun="task",
    items=TASKS,
    validate=validate,
    build_request=build_request,
    peer_request=peer_request,
    has_words=lambda event: bool(event.get("text")),
    score=score,
    groups=[("kind", list(KINDS))],
    title="edit pass rate",
)
