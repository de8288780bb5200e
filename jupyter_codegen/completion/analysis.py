"""The first step of a completion: the cell around the cursor, analysed once.

One parse of the cell (in a bounded window around the cursor) answers every
question the later steps ask of it: the names it uses and defines (for the
context selector), the scope of the completion, and whether the cell parses
and compiles as it is (for the parse gate). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from jupyter_codegen.completion.postprocess import ParseGate
from jupyter_codegen.completion.scope import Scope, completion_scope
from jupyter_codegen.context.syntax import ParsedCell, is_python

#: Post-processing (scope, stopping, clean-up, the parse gate) looks at this
#: many characters of the cell on each side of the cursor: whole cells as people
#: write them, and a bounded cost for a pasted megabyte.
POSTPROCESS_WINDOW = 32_000


def window(prefix: str, suffix: str) -> tuple[str, str]:
    """The cell around the cursor, at most :data:`POSTPROCESS_WINDOW` characters
    on each side, cut at line starts."""
    if len(prefix) > POSTPROCESS_WINDOW:
        head = prefix[-POSTPROCESS_WINDOW:]
        newline = head.find("\n")
        prefix = head[newline + 1 :] if 0 <= newline < len(head) - 1 else head
    if len(suffix) > POSTPROCESS_WINDOW:
        tail = suffix[:POSTPROCESS_WINDOW]
        newline = tail.rfind("\n")
        suffix = tail[: newline + 1] if newline > 0 else tail
    return prefix, suffix


@dataclass(frozen=True)
class CellAnalysis:
    """The active cell around the cursor (windowed), and what its parse says."""

    prefix: str
    suffix: str
    #: Whether the request's language is the Python that is parsed.
    python: bool
    scope: Scope
    #: The one parse of ``prefix + suffix``.
    cell: ParsedCell

    @property
    def text(self) -> str:
        """The cell with the cursor removed."""
        return self.cell.source

    @property
    def names_used(self) -> frozenset[str]:
        return self.cell.names_used

    @property
    def names_defined(self) -> frozenset[str]:
        return self.cell.names_defined

    @cached_property
    def gate(self) -> ParseGate:
        """The parse gate of this cell (its own facts found once)."""
        return ParseGate(self.prefix, self.suffix, self.cell)


def analyse(prefix: str, suffix: str, language: str, multiline: bool = True) -> CellAnalysis:
    """Analyse the active cell split at the cursor; ``multiline`` False limits
    the completion to the rest of the line."""
    prefix, suffix = window(prefix, suffix)
    cell = ParsedCell(prefix + suffix)
    scope: Scope = completion_scope(prefix, suffix, cell) if multiline else "line"
    return CellAnalysis(prefix, suffix, is_python(language), scope, cell)
