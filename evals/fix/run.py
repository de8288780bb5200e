"""The fix evaluation's harness: fix@1 by execution, ours against the peers'
prompt (jupyter-ai's ``/fix``: the failing cell and its error)."""

from __future__ import annotations

from typing import Any

from ..harness import Harness
from ..proposals import Streamed
from ..runner import KernelRunner
from . import CASES
from .core import CLASSES, FixCase, build_request, peer_request, score_edits, validate


def score(runner: KernelRunner, case: FixCase, got: Streamed) -> dict[str, Any]:
    edits = got.reply.get("edits", [])
    outcome = score_edits(runner, case, edits)
    return {
        "class": case.error_class,
        "root": "earlier cell" if case.earlier else "failing cell",
        "passed": float(outcome.passed),
        "status": outcome.reason,
        "detail": outcome.detail,
        "edited": [e.get("cell") for e in edits],
        "explanation": got.reply.get("explanation", ""),
        "edits": edits,
    }


HARNESS = Harness(
    kind="fix",
    noun="case",
    items=CASES,
    validate=validate,
    build_request=build_request,
    peer_request=peer_request,
    has_words=lambda event: bool(event.get("explanation") or event.get("edits")),
    score=score,
    groups=[("class", list(CLASSES)), ("root", ["failing cell", "earlier cell"])],
    title="fix@1",
)
