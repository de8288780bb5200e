"""Fix a failing cell: find where the error was caused, show the model the
cells that matter (whole, labelled, so that it can rewrite any of them), the
live state of the names on the failing lines and the error, and read back a
cause and the cells it rewrote. Pure.

Where the error was caused: the traceback's frames are placed in the
notebook's cells by their lines (:mod:`.traceback`). A frame inside a function
or class defined in an earlier cell makes that cell a candidate for the edit,
beside the failing cell; the context selector adds the cells that define what
those use (a ``read_csv`` whose separator is wrong is where a missing column
comes from).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from jupyter_codegen.api.schemas import CellEdit, FixRequest
from jupyter_codegen.chat.traceback import Frame, frames, locate, names_on, summary
from jupyter_codegen.context.budget import CountTokens, keep_head, keep_tail
from jupyter_codegen.context.cells import cell_text
from jupyter_codegen.context.select import select_cells
from jupyter_codegen.context.syntax import ParsedCell, compiles
from jupyter_codegen.engine.base import ChatMessage

ACTIVE: Literal["active"] = "active"
FIX_SYSTEM = (
    "You fix errors in Jupyter notebooks for data scientists. Find where the error is "
    "caused, which may be an earlier cell than the one that failed, and change as little "
    "as you can. Say what causes the error in one short sentence. Use the real names the "
    "live variables show (a data frame's real columns, "
    "a dict's real keys). Never hide an error with try/except or by deleting the code."
)
_LABEL = re.compile(r"^\s*#\s*Cell\s+(-?\d+)\b", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```")
_CAUSE = re.compile(r"^\s*\**\s*cause\s*\**\s*:\s*\**\s*", re.IGNORECASE)
#: The longest explanation kept (characters).
MAX_EXPLANATION_CHARS = 1200


@dataclass(frozen=True)
class Diagnosis:
    """What the error output says about the notebook."""

    #: Cells where a frame ran (indices into cells_before; the failing cell is
    #: len(cells_before)), outermost first.
    frame_cells: tuple[int, ...]
    #: The frames in the notebook's cells, by those indices.
    user_frames: tuple[tuple[int, Frame], ...]
    #: The code lines that ran in them.
    failing_lines: tuple[str, ...]


def diagnose(req: FixRequest) -> Diagnosis:
    sources = [c.source for c in req.cells_before] + [req.cell]
    active = len(sources) - 1
    placed: list[tuple[int, Frame]] = []
    for frame in frames(req.error.traceback):
        if not frame.cell:
            continue
        where = locate(frame, sources)
        if where is None and not placed:
            where = active  # the outermost frame is the cell that ran
        if where is not None:
            placed.append((where, frame))
    cells = tuple(dict.fromkeys(i for i, _ in placed))
    lines = tuple(f.current for _, f in placed if f.current)
    return Diagnosis(cells, tuple(placed), lines)


def label(index: int, active: int) -> str:
    return f"# Cell {index}" + (" (the failing cell)" if index == active else "")


def fix_messages(
    req: FixRequest, diagnosis: Diagnosis, budget: int, live_budget: int, count: CountTokens
) -> list[ChatMessage]:
    """The chat that asks for the fix, within ``budget`` tokens: the error and
    the reply's form take theirs first, the cells share what is left."""
    active = len(req.cells_before)
    frames_shown = [(label(i, active).lstrip("# "), f) for i, f in diagnosis.user_frames]
    error = "The error:\n" + error_within(
        summary(req.error.ename, req.error.evalue, frames_shown), budget // 2, count
    )
    form = (
        "Reply in exactly this form, with nothing else:\n"
        "Cause: <one sentence: what causes the error>\n"
        f"```{req.language}\n# Cell <the label of a cell you change>\n"
        "<that cell's whole corrected code>\n```\n"
        "with one such block for each cell you change (only those that need it)."
    )
    budget = max(0, budget - count(FIX_SYSTEM + error + form))
    earlier = [i for i in diagnosis.frame_cells if i != active]
    about = ParsedCell("\n".join([req.cell, *diagnosis.failing_lines]))
    chosen = select_cells(req.cells_before, about, earlier, budget, count, req.language)
    blocks = [
        _block(label(i, active), cell_text(req.cells_before[i], req.language), req.language)
        for i in chosen
    ]
    blocks.append(_block(label(active, active), req.cell.rstrip(), req.language))
    parts = [
        "The notebook's cells that matter here, each with its label:\n\n" + "\n\n".join(blocks)
    ]
    live = live_lines(req.namespace, names_on(diagnosis.failing_lines), live_budget, count)
    if live:
        parts.append(f"Live variables in the kernel:\n{live}")
    parts += [error, form]
    return [ChatMessage("system", FIX_SYSTEM), ChatMessage("user", "\n\n".join(parts))]


def error_within(text: str, budget: int, count: CountTokens) -> str:
    """The error summary within ``budget`` tokens: the error's own line (its
    value clipped to half of that), then the innermost frames that fit; a
    deep traceback (a recursion error) loses its outer frames."""
    if count(text) <= budget:
        return text
    head, _, rest = text.partition("\n")
    frames_text, _, last = rest.rpartition("\n")
    last = keep_head(last, budget // 2, count)
    marker = "  … (outer frames left out)"
    left = budget - count(f"{head}\n{marker}\n{last}")
    shown = keep_tail(frames_text, left, count) if left > 0 else ""
    return "\n".join(part for part in (head, marker, shown, last) if part)


def _block(label_line: str, text: str, language: str) -> str:
    return f"```{language}\n{label_line}\n{text.rstrip()}\n```"


def live_lines(namespace: str, names: Sequence[str], budget: int, count: CountTokens) -> str:
    """The live variables' descriptions, those of the names on the failing
    lines first, the first whole lines within ``budget`` tokens."""
    lines = [line for line in namespace.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    wanted = set(names)
    first = [line for line in lines if line.split(":", 1)[0].strip() in wanted]
    rest = [line for line in lines if line not in first]
    return keep_head("\n".join(first + rest) + "\n", budget, count).rstrip()


def read_fix(text: str, req: FixRequest, finished: bool = True) -> tuple[str, list[CellEdit]]:
    """The cause and the edits in a reply (``finished`` False: the reply so
    far, while it streams): a block whose first line labels a cell rewrites
    it; one without a label rewrites the failing cell. Edits that change
    nothing, or (once finished) that would stop a cell that compiles from
    compiling, are left out."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _FENCE.match(line)), len(lines))
    explanation = " ".join(" ".join(lines[:start]).split())
    explanation = _CAUSE.sub("", explanation)[:MAX_EXPLANATION_CHARS]
    active = len(req.cells_before)
    found: dict[int, str] = {}
    i = start
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        body: list[str] = []
        i += 1
        while i < len(lines) and not _FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        # A block holds one cell, or several, each after its label line.
        target, section = active, []
        for line in [*body, "# Cell -1"]:
            m = _LABEL.match(line)
            if m is None:
                section.append(line)
                continue
            if any(x.strip() for x in section) and 0 <= target <= active:
                found[target] = "\n".join(section).strip("\n")
            target, section = int(m.group(1)) if m.group(1) != "-1" else -1, []
    edits = []
    for target, source in sorted(found.items()):
        if target < active and req.cells_before[target].cell_type != "code":
            continue  # only code cells are rewritten
        old = req.cell if target == active else req.cells_before[target].source
        if source.strip() == old.strip() or not source.strip():
            continue
        if finished and compiles(old) and not compiles(source):
            continue
        edits.append(CellEdit(cell=ACTIVE if target == active else target, source=source))
    return explanation, edits
