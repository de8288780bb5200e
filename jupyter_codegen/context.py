"""Turn the notebook's other cells into context chunks for a prompt.

This is the plain, order-preserving selection: code cells as they are,
markdown cells as comments, raw cells left out. The prompt builder fits the
chunks nearest the cursor into the token budget.
"""

from __future__ import annotations

from collections.abc import Sequence

from .schemas import Cell

COMMENT_PREFIX = {"python": "# ", "r": "# ", "julia": "# ", "bash": "# ", "sql": "-- "}


def as_comment(text: str, language: str) -> str:
    mark = COMMENT_PREFIX.get(language.lower(), "# ")
    return "\n".join((mark + line).rstrip() for line in text.strip().splitlines())


def cell_chunks(cells: Sequence[Cell], language: str) -> list[str]:
    """The cells as prompt chunks, in notebook order, empty ones dropped."""
    chunks = []
    for cell in cells:
        if not cell.source.strip():
            continue
        if cell.cell_type == "code":
            chunks.append(cell.source.rstrip())
        elif cell.cell_type == "markdown":
            chunks.append(as_comment(cell.source, language))
    return chunks
