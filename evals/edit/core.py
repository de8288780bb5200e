"""The edit tasks' format, the ``/edit`` request they make, and their score.

A task (:class:`EditTask`) is a small notebook that runs clean, an active
cell, a selection in it (or none: the whole cell), an instruction, the
reference edit (the new text of the selection) and a hidden check in three
parts: ``check`` (kernel code: what must still hold after the edit; the
original passes it), ``changed`` (kernel code: the new behaviour the
instruction asks for; the original fails it) and ``rules`` (``ast`` checks of
the edited cell: the instruction was followed). See evals/edit/README.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..runner import Cell, KernelRunner, cells_json, live_source, parse_percent
from .rules import Rule

#: The instruction kinds, in report order.
KINDS: dict[str, str] = {
    "vectorize": "replace a Python loop by numpy/pandas operations",
    "type-hints": "add type annotations",
    "comprehension": "rewrite a loop as a list/dict/set comprehension",
    "rename": "rename a variable, argument or function",
    "error-handling": "handle a missing file, bad values, a missing column",
    "docstring": "document a function",
    "extract-function": "turn code into a function",
    "pandas-idiom": "groupby/.str/.loc/method chaining instead of manual code",
    "behaviour": "change what the code computes (sort, filter, round, return more)",
    "style": "f-strings, pathlib, with-statements",
    "use-context": "use a helper or a step from another cell",
}


@dataclass(frozen=True)
class EditTask:
    """One edit: ``selection`` is text found exactly once in the active cell
    (None: no selection, the whole cell); ``reference`` its new text."""

    id: str
    kind: str
    instruction: str
    notebook: str
    active: int
    selection: str | None
    reference: str
    check: str = ""
    changed: str = ""
    rules: tuple[Rule, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)
    #: Names (columns, keys) that only ``files`` shows, never a cell.
    live_only: tuple[str, ...] = ()

    @property
    def cells(self) -> tuple[Cell, ...]:
        return parse_percent(self.notebook)

    @property
    def span(self) -> tuple[int, int]:
        """The selection's offsets in the active cell (Python string indices;
        the cells hold no character outside the BMP, so they are also the
        editor's UTF-16 offsets)."""
        source = self.cells[self.active].source
        if self.selection is None:
            return 0, len(source)
        start = source.find(self.selection)
        if start < 0 or source.count(self.selection) != 1:
            raise ValueError(f"{self.id}: the selection is not once in the active cell")
        return start, start + len(self.selection)

    @property
    def selected(self) -> str:
        start, end = self.span
        return self.cells[self.active].source[start:end]

    def edited_cells(self, new_text: str) -> tuple[Cell, ...]:
        """The notebook with the selection replaced by ``new_text``."""
        cells = list(self.cells)
        start, end = self.span
        source = cells[self.active].source
        cells[self.active] = Cell("code", source[:start] + new_text + source[end:])
        return tuple(cells)

    def request(self, namespace: str = "", stream: bool = False) -> dict[str, Any]:
        """The body of ``POST /jupyter-codegen/edit`` (a proposal: the
        completion context, the whole active cell, the selection's offsets in
        it, the instruction)."""
        cells = self.cells
        start, end = self.span
        return {
            "cells_before": cells_json(cells[: self.active]),
            "cell": cells[self.active].source,
            "cells_after": cells_json(cells[self.active + 1 :]),
            "selection": {"start": start, "end": end},
            "instruction": self.instruction,
            "language": "python",
            "namespace": namespace,
            "stream": stream,
        }


def peer_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """What the peers give the model: the selected text and the instruction
    alone (no other cell, no rest of the cell, no live state)."""
    start, end = request["selection"]["start"], request["selection"]["end"]
    selected = request["cell"][start:end]
    return {
        **request,
        "cells_before": [],
        "cells_after": [],
        "cell": selected,
        "selection": {"start": 0, "end": len(selected)},
        "namespace": "",
    }


def build_request(
    runner: KernelRunner, task: EditTask, namespace: bool = True, stream: bool = False
) -> dict[str, Any]:
    """The request the frontend sends after the notebook ran top to bottom:
    ``namespace`` describes the live kernel as ``live_context`` does."""
    cells = task.cells
    runner.prepare(task.files)
    run = runner.run_cells(cells)
    if not run.clean:
        raise RuntimeError(f"{task.id}: cell {run.failed_at} failed: {run.error}")
    text = ""
    if namespace:
        text = runner.live_namespace(live_source(cells[task.active].source, cells, task.active))
    return task.request(text, stream)


@dataclass(frozen=True)
class EditOutcome:
    """``passed``: the edited notebook runs clean, ``check`` and ``changed``
    pass (``behaviour``) and the rules hold (``followed``)."""

    passed: bool
    runs: bool
    behaviour: bool
    followed: bool
    detail: str = ""


def score_edit(runner: KernelRunner, task: EditTask, new_text: str) -> EditOutcome:
    """Replace the selection by ``new_text``, run the whole notebook in a
    fresh kernel state, then the hidden check."""
    cells = task.edited_cells(new_text)
    source = cells[task.active].source
    broken = [reason for rule in task.rules if (reason := rule.check(source)) is not None]
    run = runner.run_notebook(cells, task.files, task.check, tracebacks=False)
    if not run.clean:
        error = run.error or {}
        detail = f"cell {run.failed_at}: {error.get('ename')}: {error.get('evalue')}"
        return EditOutcome(False, False, False, not broken, detail)
    details = []
    behaviour = run.check is not None and run.check.passed
    if not behaviour and run.check is not None:
        details.append(f"check: {run.check.detail}")
    if task.changed:
        changed = runner.run_check(task.changed)
        if not changed.passed:
            behaviour = False
            details.append(f"changed: {changed.detail}")
    details += [f"rule: {reason}" for reason in broken]
    return EditOutcome(behaviour and not broken, True, behaviour, not broken, "; ".join(details))


def validate(runner: KernelRunner, task: EditTask) -> list[str]:
    """What is wrong with a task (empty: nothing): the original notebook must
    run clean and pass ``check``; keeping the selection as it is, or deleting
    it, must fail the whole check (``changed`` or a rule); the reference edit
    must pass."""
    problems: list[str] = []
    try:
        _ = task.span
    except ValueError as exc:
        return [str(exc)]
    original = score_edit(runner, task, task.selected)
    if not original.runs:
        problems.append(f"original: {original.detail}")
    elif "check:" in original.detail:
        problems.append(f"original fails the behaviour check: {original.detail}")
    if original.passed:
        problems.append("the unedited selection passes the whole check")
    if score_edit(runner, task, "").passed:
        problems.append("deleting the selection passes the whole check")
    reference = score_edit(runner, task, task.reference)
    if not reference.passed:
        problems.append(f"reference: {reference.detail}")
    return problems
