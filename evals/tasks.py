"""What one evaluation task is, whatever set it comes from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Task:
    """One completion to ask for, and the code that was really there.

    ``prefix`` and ``suffix`` are the active cell split at the cursor; the
    other cells of the notebook are ``cells_before`` / ``cells_after`` as
    ``(cell_type, source)`` pairs.
    """

    id: str
    set: str  # "humaneval" | "notebooks"
    kind: str  # "single-line" | "multi-line" | "line-start" | "mid-line" | "block"
    prefix: str
    suffix: str
    target: str
    cells_before: tuple[tuple[str, str], ...] = ()
    cells_after: tuple[tuple[str, str], ...] = ()
    #: HumanEval: the program around the cell, to run the completed code.
    program_head: str = ""
    program_tail: str = ""
    #: The live kernel's variables (the live-state set): sent as ``namespace``.
    namespace: str = ""
    source: dict[str, Any] = field(default_factory=dict)

    def as_request(self, max_tokens: int, live: bool = True) -> dict[str, Any]:
        request = {
            "prefix": self.prefix,
            "suffix": self.suffix,
            "cells_before": [{"cell_type": t, "source": s} for t, s in self.cells_before],
            "cells_after": [{"cell_type": t, "source": s} for t, s in self.cells_after],
            "language": "python",
            "max_tokens": max_tokens,
        }
        if live and self.namespace:
            request["namespace"] = self.namespace
        return request

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
