"""The fix-error cases' format, the ``/fix`` request they make, and fix@1.

A case (:class:`FixCase`) is a small notebook in the percent format that
fails when run top to bottom, the data files it reads (written to its working
directory, never shown in a cell), a hidden check of the intended result, and
a reference fix in the ``/fix`` endpoint's edits format. See evals/fix/README.md.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..runner import Cell, KernelRunner, NotebookRun, cells_json, live_source, parse_percent

#: The error classes of issue 23, in report order.
CLASSES: dict[str, str] = {
    "wrong-column": "a column name that only the data shows",
    "api-misuse": "pandas or numpy API misuse",
    "name-typo": "a typo of a name defined in an earlier cell",
    "type-mixing": "types mixed up by parsed data (numbers read as text)",
    "shape-mismatch": "arrays or columns of the wrong shape",
    "off-by-one": "an index or a range one off",
    "date-format": "dates in a format the code does not expect",
    "nested-json": "keys of nested JSON",
    "groupby-misuse": "groupby and aggregation misuse",
    "empty-filter": "a filter that selects nothing",
}


@dataclass(frozen=True)
class Patch:
    """Replace ``old`` (found exactly once) by ``new`` in cell ``cell``."""

    cell: int
    old: str
    new: str


@dataclass(frozen=True)
class FixCase:
    """One broken notebook.

    ``notebook`` is the percent format (``# %%`` cells, ``# %% [markdown]``);
    cell indices count every cell, markdown included, as ``cells_before`` of
    the request does. ``failing_cell`` raises ``ename`` when the notebook runs
    top to bottom; the bug is in ``root_cause`` (earlier cells when the error
    only shows later), which ``fix`` patches. ``check`` runs after the whole
    notebook and asserts the intended result. ``files`` are written to the
    working directory first (data the notebook reads); ``live_only`` are
    names (columns, keys, codes) that only that data shows, never a cell.
    """

    id: str
    error_class: str
    summary: str
    notebook: str
    failing_cell: int
    ename: str
    root_cause: tuple[int, ...]
    fix: tuple[Patch, ...]
    check: str
    files: Mapping[str, str] = field(default_factory=dict)
    live_only: tuple[str, ...] = ()

    @property
    def cells(self) -> tuple[Cell, ...]:
        return parse_percent(self.notebook)

    @property
    def earlier(self) -> bool:
        """The root cause is in a cell before the failing one."""
        return min(self.root_cause) < self.failing_cell

    def reference_edits(self) -> list[dict[str, Any]]:
        """The reference fix as the endpoint's ``edits``."""
        cells = self.cells
        sources: dict[int, str] = {}
        for patch in self.fix:
            source = sources.get(patch.cell, cells[patch.cell].source)
            if source.count(patch.old) != 1:
                raise ValueError(f"{self.id}: {patch.old!r} is not once in cell {patch.cell}")
            sources[patch.cell] = source.replace(patch.old, patch.new)
        return [
            {"cell": "active" if i == self.failing_cell else i, "source": s}
            for i, s in sorted(sources.items())
        ]


class InvalidEdits(ValueError):
    """Edits that the endpoint's format does not allow."""


def apply_edits(
    cells: Sequence[Cell], active: int, edits: Sequence[Mapping[str, Any]]
) -> tuple[Cell, ...]:
    """The notebook with ``edits`` applied: each edit's ``cell`` is
    ``"active"`` or an index into ``cells_before`` (``0 <= i < active``), and
    its ``source`` the new full source of that cell."""
    out = list(cells)
    seen: set[int] = set()
    for edit in edits:
        target, source = edit.get("cell"), edit.get("source")
        if not isinstance(source, str):
            raise InvalidEdits(f"source is not a string: {source!r}")
        if target == "active":
            index = active
        elif isinstance(target, int) and not isinstance(target, bool) and 0 <= target < active:
            index = target
        else:
            raise InvalidEdits(f"no such cell: {target!r}")
        if index in seen:
            raise InvalidEdits(f"cell {target!r} edited twice")
        seen.add(index)
        out[index] = Cell(out[index].cell_type, source)
    return tuple(out)


def fix_request(
    cells: Sequence[Cell],
    failing: int,
    error: Mapping[str, Any],
    namespace: str = "",
    stream: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /jupyter-codegen/fix`` for ``cells[failing]``."""
    return {
        "cells_before": cells_json(cells[:failing]),
        "cell": cells[failing].source,
        "cells_after": cells_json(cells[failing + 1 :]),
        "error": {
            "ename": error["ename"],
            "evalue": error["evalue"],
            "traceback": list(error["traceback"]),
        },
        "namespace": namespace,
        "stream": stream,
    }


def peer_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """What the peers (jupyter-ai's ``/fix``) give the model: the failing
    cell and its error, no other cell, no live state."""
    return {**request, "cells_before": [], "cells_after": [], "namespace": ""}


def run_broken(runner: KernelRunner, case: FixCase, stop_on_error: bool = True) -> NotebookRun:
    return runner.run_notebook(case.cells, case.files, case.check, stop_on_error=stop_on_error)


def build_request(
    runner: KernelRunner, case: FixCase, namespace: bool = True, stream: bool = False
) -> dict[str, Any]:
    """Run the notebook top to bottom until its error, as the user did, and
    make the request the frontend sends then: the error output as the
    kernel sent it and (``namespace``) the kernel's live variables as
    ``live_context`` describes them after the error."""
    cells = case.cells
    runner.prepare(case.files)
    run = runner.run_cells(cells)
    if run.failed_at != case.failing_cell or run.error is None:
        raise RuntimeError(f"{case.id}: cell {run.failed_at} failed, not {case.failing_cell}")
    text = ""
    if namespace:
        text = runner.live_namespace(live_source(cells[run.failed_at].source, cells, run.failed_at))
    return fix_request(cells, run.failed_at, run.error, text, stream)


@dataclass(frozen=True)
class FixOutcome:
    passed: bool
    reason: str  # "passed" | "invalid-edits" | "error" | "check"
    detail: str = ""


def score_edits(
    runner: KernelRunner, case: FixCase, edits: Sequence[Mapping[str, Any]]
) -> FixOutcome:
    """fix@1 for one answer: the edits applied, the whole notebook run in a
    fresh kernel state, every cell clean and the hidden check passing."""
    try:
        cells = apply_edits(case.cells, case.failing_cell, edits)
    except InvalidEdits as exc:
        return FixOutcome(False, "invalid-edits", str(exc))
    run = runner.run_notebook(cells, case.files, case.check, tracebacks=False)
    if not run.clean:
        error = run.error or {}
        return FixOutcome(
            False, "error", f"cell {run.failed_at}: {error.get('ename')}: {error.get('evalue')}"
        )
    if run.check is None or not run.check.passed:
        return FixOutcome(False, "check", run.check.detail if run.check else "")
    return FixOutcome(True, "passed")


# -- wrong fixes that only silence the error (the checks must fail them) ----

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def error_line(error: Mapping[str, Any], execution_count: int) -> int | None:
    """The line of the failing cell (``In[execution_count]``) the traceback
    points at, or None."""
    for frame in error.get("traceback", []):
        for n, line in _CELL_LINE.findall(_ANSI.sub("", frame)):
            if int(n) == execution_count:
                return int(line)
    return None


def silence_try(source: str) -> str:
    """The whole cell in ``try: ... except Exception: pass``."""
    return f"try:\n{textwrap.indent(source, '    ')}\nexcept Exception:\n    pass"


def silence_line(source: str, line: int) -> str:
    """The statement at ``line`` (the innermost one that holds it) replaced by
    ``pass``: deleting the line that raised."""
    holding = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if not holding:
        return source
    best = min(holding, key=lambda n: (n.end_lineno or n.lineno) - n.lineno)
    lines = source.split("\n")
    start, end = best.lineno - 1, (best.end_lineno or best.lineno) - 1
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    return "\n".join([*lines[:start], indent + "pass", *lines[end + 1 :]])


def silenced_variants(
    case: FixCase, error: Mapping[str, Any], execution_count: int
) -> dict[str, tuple[Cell, ...]]:
    """Wrong fixes that only make the error go away: the failing cell in a
    ``try``/``except Exception: pass``, and the statement that raised
    replaced by ``pass``. A good hidden check fails both."""
    cells = case.cells
    active = cells[case.failing_cell].source
    variants = {
        "try-except": apply_edits(
            cells, case.failing_cell, [{"cell": "active", "source": silence_try(active)}]
        )
    }
    line = error_line(error, execution_count)
    if line is not None:
        variants["delete-line"] = apply_edits(
            cells, case.failing_cell, [{"cell": "active", "source": silence_line(active, line)}]
        )
    return variants


def validate(runner: KernelRunner, case: FixCase) -> list[str]:
    """What is wrong with a case (empty: nothing): the broken notebook must
    fail in ``failing_cell`` with ``ename`` and fail its check, the reference
    fix must run clean and pass it, and the silencing fixes must fail."""
    problems: list[str] = []
    broken = run_broken(runner, case)
    if broken.failed_at != case.failing_cell:
        problems.append(f"broken: cell {broken.failed_at} failed, not {case.failing_cell}")
    error = broken.error or {}
    if error.get("ename") != case.ename:
        problems.append(f"broken: {error.get('ename')}: {error.get('evalue')}, not {case.ename}")
    if broken.check is None or broken.check.passed:
        problems.append("broken: the check passed")
    outcome = score_edits(runner, case, case.reference_edits())
    if not outcome.passed:
        problems.append(f"reference fix: {outcome.reason}: {outcome.detail}")
    if broken.error is not None and broken.runs:
        count = broken.runs[-1].execution_count or 0
        for name, cells in silenced_variants(case, broken.error, count).items():
            run = runner.run_notebook(cells, case.files, case.check, tracebacks=False)
            if run.passed:
                problems.append(f"{name}: the silenced notebook passes the check")
    return problems
