"""Notebook cells as prompt text, and the simplest ways to fit them into a
token budget (nearest first, first first). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from jupyter_codegen.api.schemas import Cell
from jupyter_codegen.context.budget import CountTokens, cost_within

COMMENT_PREFIX = {"python": "# ", "r": "# ", "julia": "# ", "bash": "# ", "sql": "-- "}


SEPARATOR = "\n\n"


def as_comment(text: str, language: str) -> str:
    mark = COMMENT_PREFIX.get(language.lower(), "# ")
    return "\n".join((mark + line).rstrip() for line in text.strip().splitlines())


def cell_text(cell: Cell, language: str) -> str:
    """A cell as prompt text: code as it is, markdown as comments, raw dropped."""
    if not cell.source.strip():
        return ""
    if cell.cell_type == "code":
        return cell.source.rstrip()
    if cell.cell_type == "markdown":
        return as_comment(cell.source, language)
    return ""


def cell_chunks(cells: Sequence[Cell], language: str) -> list[str]:
    """The cells as prompt chunks, in notebook order, empty ones dropped."""
    return [text for text in (cell_text(c, language) for c in cells) if text]


def nearest_that_fit(chunks: Sequence[str], budget: int, count: CountTokens) -> list[str]:
    """The last chunks (nearest the cursor) that fit ``budget``, in their order."""
    kept: list[str] = []
    used = 0
    for chunk in reversed(chunks):
        cost = cost_within(chunk + SEPARATOR, budget - used, count)
        if cost is None:
            break
        kept.insert(0, chunk)
        used += cost
    return kept


def first_that_fit(chunks: Sequence[str], budget: int, count: CountTokens) -> list[str]:
    kept: list[str] = []
    used = 0
    for chunk in chunks:
        cost = cost_within(SEPARATOR + chunk, budget - used, count)
        if cost is None:
            break
        kept.append(chunk)
        used += cost
    return kept
