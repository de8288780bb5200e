"""Choose the notebook context for a completion prompt.

Four strategies, so that they can be compared on the same requests
(``evals/``):

- ``cell``: the active cell only (what jupyter-ai sends);
- ``preceding``: the nearest preceding cells, whole, as many as fit (Copilot);
- ``surround``: the nearest preceding cells and the following ones, whole
  (the best notebook peer's prompt: every cell before and after);
- ``syntax`` (ours): from the other cells, parsed with tree-sitter, take in
  this order of priority, as far as the budget goes:

  1. the nearest preceding cell (and the nearest code cell when that one is
     markdown), in at most half the budget;
  2. the definitions (functions, classes, assignments, imports) of the names
     the active cell uses, then of the names those use, up to
     :data:`MAX_DEPTH` levels, imports first at each level; a definition too
     long for the budget is reduced to its header and docstring;
  3. the other imports;
  4. more preceding cells, nearest first (markdown as comments);
  5. the following cells, for the prompt's suffix.

  A cell that does not fit whole keeps its last top-level statements that do.

The result is deterministic, in notebook order, and holds nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from jupyter_codegen.api.schemas import Cell
from jupyter_codegen.context.budget import CountTokens, cost_within
from jupyter_codegen.context.cells import (
    SEPARATOR,
    cell_chunks,
    cell_text,
    first_that_fit,
    nearest_that_fit,
)
from jupyter_codegen.context.statements import CellSyntax, Statement, parse_cell
from jupyter_codegen.context.syntax import is_python

STRATEGIES = ("syntax", "preceding", "cell", "surround")
MAX_DEPTH = 3


class ActiveCode(Protocol):
    """What the selector asks of the active code: the names it uses and
    defines (a :class:`~jupyter_codegen.context.syntax.ParsedCell` answers)."""

    @property
    def names_used(self) -> frozenset[str]: ...

    @property
    def names_defined(self) -> frozenset[str]: ...


class Context(NamedTuple):
    """Prompt text to put before the active cell and after it."""

    before: list[str]
    after: list[str]


@dataclass
class _Selection:
    """What has been chosen so far, and its cost."""

    budget: int
    count: CountTokens
    used: int = 0
    whole: dict[int, str] = field(default_factory=dict)  # cell index -> text
    parts: dict[int, dict[int, str]] = field(default_factory=dict)  # cell -> stmt -> text

    def add_part(self, cell: int, stmt: int, text: str) -> bool:
        if cell in self.whole or stmt in self.parts.get(cell, {}):
            return True
        cost = cost_within(text + "\n", self.budget - self.used, self.count)
        if cost is None:
            return False
        self.parts.setdefault(cell, {})[stmt] = text
        self.used += cost
        return True

    def add_whole(self, cell: int, text: str) -> bool:
        if cell in self.whole:
            return True
        # The cell's parts already paid for are replaced by the whole cell.
        refund = sum(self.count(t + "\n") for t in self.parts.get(cell, {}).values())
        cost = cost_within(text + SEPARATOR, self.budget - self.used + refund, self.count)
        if cost is None:
            return False
        self.parts.pop(cell, None)
        self.whole[cell] = text
        self.used += cost - refund
        return True

    def render(self) -> list[str]:
        chunks = []
        for cell in sorted({*self.whole, *self.parts}):
            if cell in self.whole:
                chunks.append(self.whole[cell])
            else:
                chunks.append("\n".join(t for _, t in sorted(self.parts[cell].items())))
        return chunks


def select_context(
    strategy: str,
    cells_before: Sequence[Cell],
    cells_after: Sequence[Cell],
    active: ActiveCode,
    language: str,
    budget: int,
    count: CountTokens,
    *,
    after_budget: int | None = None,
) -> Context:
    """The context for the ``active`` code (the cell at the cursor, or the code
    a chat is about), within ``budget`` tokens, by ``strategy`` (one of
    :data:`STRATEGIES`). The following cells get at most ``after_budget``
    tokens (None: what ``budget`` leaves; 0: none) besides."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown context strategy {strategy!r}; expected one of {STRATEGIES}")
    if strategy == "cell" or budget <= 0:
        return Context([], [])
    if strategy in ("preceding", "surround") or not is_python(language):
        before = nearest_that_fit(cell_chunks(cells_before, language), budget, count)
        if strategy == "preceding":
            return Context(before, [])
        used = sum(count(c + SEPARATOR) for c in before)
        after = _following(cells_after, language, budget - used, after_budget, count)
        return Context(before, after)
    return _syntax_context(cells_before, cells_after, active, language, budget, count, after_budget)


def _following(
    cells: Sequence[Cell], language: str, left: int, after_budget: int | None, count: CountTokens
) -> list[str]:
    budget = left if after_budget is None else after_budget
    return first_that_fit(cell_chunks(cells, language), budget, count) if budget > 0 else []


def _syntax_context(
    cells_before: Sequence[Cell],
    cells_after: Sequence[Cell],
    active: ActiveCode,
    language: str,
    budget: int,
    count: CountTokens,
    after_budget: int | None,
) -> Context:
    texts = [cell_text(c, language) for c in cells_before]
    parsed: list[CellSyntax | None] = [
        parse_cell(c.source) if c.cell_type == "code" and t else None
        for c, t in zip(cells_before, texts, strict=True)
    ]
    sel = _Selection(budget, count)

    # Which definition binds each name: the last one before the active cell.
    binder: dict[str, tuple[int, Statement]] = {}
    for i, syn in enumerate(parsed):
        for stmt in syn.statements if syn else ():
            for name in stmt.defines:
                binder[name] = (i, stmt)

    # 1. The nearest cell (and the nearest code cell, if that one is markdown),
    # in at most half the budget: notebooks are read top to bottom.
    nearest = [i for i, t in enumerate(texts) if t]
    first = nearest[-1:]
    if first and parsed[first[0]] is None:
        first += [i for i in nearest if parsed[i] is not None][-1:]
    sel.budget = budget // 2
    for i in first:
        _add_cell(sel, i, texts[i], parsed[i])
    sel.budget = budget

    # 2. What the active cell needs, level by level: the definitions of the
    # names it uses, then of the names those use, with the imports that bind
    # them first at each level.
    local = active.names_defined
    wanted = [n for n in sorted(active.names_used) if n not in local]
    seen: set[str] = set()
    taken: set[tuple[int, int]] = set()
    for _depth in range(MAX_DEPTH):
        level: list[tuple[int, Statement]] = []
        for name in wanted:
            if name in seen or name not in binder:
                continue
            seen.add(name)
            cell, stmt = binder[name]
            if (cell, stmt.index) not in taken:
                taken.add((cell, stmt.index))
                level.append((cell, stmt))
        for cell, stmt in sorted((x for x in level if x[1].kind == "import"), key=_pos):
            sel.add_part(cell, stmt.index, stmt.text)
        for cell, stmt in level:
            if stmt.kind != "import" and not sel.add_part(cell, stmt.index, stmt.text):
                if stmt.summary:
                    sel.add_part(cell, stmt.index, stmt.summary)
        wanted = sorted({name for _, stmt in level for name in stmt.uses})

    # 3. Every import (a star import may bind anything the cell uses).
    for i, syn in enumerate(parsed):
        for stmt in syn.statements if syn else ():
            if stmt.kind == "import":
                sel.add_part(i, stmt.index, stmt.text)

    # 4. More preceding cells, nearest first, until one does not fit.
    for i in reversed(nearest):
        if i in first:
            continue
        if not _add_cell(sel, i, texts[i], parsed[i]):
            break

    after = _following(cells_after, language, budget - sel.used, after_budget, count)
    return Context(sel.render(), after)


def _pos(item: tuple[int, Statement]) -> tuple[int, int]:
    return item[0], item[1].index


def _add_cell(sel: _Selection, index: int, text: str, syn: CellSyntax | None) -> bool:
    """Add a cell whole, or else its last top-level statements that fit.
    Whether it went in whole."""
    if sel.add_whole(index, text):
        return True
    if syn is not None:
        for stmt in reversed(syn.statements):
            if not sel.add_part(index, stmt.index, stmt.text):
                break
    return False


def select_cells(
    cells_before: Sequence[Cell],
    active: ActiveCode,
    must: Sequence[int],
    budget: int,
    count: CountTokens,
    language: str = "python",
) -> list[int]:
    """Whole cells for an answer that may rewrite them (a fix), by the same
    priorities as the ``syntax`` strategy: the cells in ``must`` (where the
    error ran), then those that define the names ``active`` uses (and the names
    those use, :data:`MAX_DEPTH` levels), then the nearest cells, as far as
    ``budget`` goes. Their indices, in notebook order."""
    texts = [cell_text(c, language) for c in cells_before]
    parsed = [
        parse_cell(c.source) if c.cell_type == "code" and t else None
        for c, t in zip(cells_before, texts, strict=True)
    ]
    binder: dict[str, int] = {}
    for i, syn in enumerate(parsed):
        for name in syn.defines if syn else ():
            binder[name] = i
    order: list[int] = [i for i in must if 0 <= i < len(cells_before)]
    wanted = set(active.names_used) - set(active.names_defined)
    uses = [syn.uses if syn is not None else frozenset() for syn in parsed]
    for i in order:
        wanted |= uses[i]
    for _depth in range(MAX_DEPTH):
        level = sorted({binder[n] for n in wanted if n in binder} - set(order))
        order += level
        wanted = set().union(*(uses[i] for i in level))
    order += [i for i in reversed(range(len(texts))) if texts[i] and i not in order]
    chosen: list[int] = []
    used = 0
    for i in order:
        if not texts[i]:
            continue
        cost = cost_within(texts[i] + SEPARATOR, budget - used, count)
        if cost is None:
            continue  # too long to show whole: a shorter one may still fit
        chosen.append(i)
        used += cost
    return sorted(chosen)
