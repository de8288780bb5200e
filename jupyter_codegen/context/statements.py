"""A cell's top-level statements, with the names each defines and uses: what
the context selector matches the active cell's names against. Parses are
cached by cell source, because the frontend re-sends the whole notebook on
every keystroke. Pure and thread-safe."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Tree

from jupyter_codegen.context.neutralize import Neutralized, neutralize
from jupyter_codegen.context.tree import classify, local_names, names_read, parse, summary


@dataclass(frozen=True)
class Statement:
    """One top-level statement of a cell."""

    index: int
    kind: str  # "import" | "def" | "assign" | "other"
    start: int  # byte offsets into the cell's UTF-8 source
    end: int
    text: str
    defines: frozenset[str]
    uses: frozenset[str]
    #: For a long definition: its header and docstring with the body elided.
    summary: str | None = None


@dataclass(frozen=True)
class CellSyntax:
    source: str
    python: bool
    has_error: bool
    statements: tuple[Statement, ...]

    @property
    def defines(self) -> frozenset[str]:
        return frozenset().union(*(s.defines for s in self.statements))

    @property
    def uses(self) -> frozenset[str]:
        return frozenset().union(*(s.uses for s in self.statements))


#: Cells longer than this are not parsed for their definitions: parsing holds
#: the GIL (a 1.9 MB cell took seconds and stalled the server's event loop),
#: and no prompt budget takes that much code. They are plain text to the
#: selection (about 25,000 tokens of code; a cell this long is mostly data).
MAX_PARSE_CHARS = 100_000


@lru_cache(maxsize=4096)
def parse_cell(source: str) -> CellSyntax:
    """The cell's statements with the names they define and use (cached by
    source); a cell over :data:`MAX_PARSE_CHARS` is left unparsed."""
    if len(source) > MAX_PARSE_CHARS:
        return CellSyntax(source, False, False, ())
    neutral = neutralize(source)
    return cell_syntax(source, neutral, parse(neutral.text) if neutral.python else None)


def cell_syntax(source: str, neutral: Neutralized, tree: Tree | None) -> CellSyntax:
    """The statements of ``source``, from its neutralized text's tree (None
    for a foreign cell: nothing to analyse)."""
    if not neutral.python or tree is None:
        return CellSyntax(source, False, False, ())
    raw = source.encode("utf-8")
    neutral_raw = neutral.text.encode("utf-8")
    statements: list[Statement] = []
    for node in tree.root_node.named_children:
        if node.type == "comment":
            continue
        # A neutralized magic ends the line with padding: its text runs to the line end.
        end = node.end_byte
        line_end = raw.find(b"\n", end)
        line_end = len(raw) if line_end < 0 else line_end
        if not neutral_raw[end:line_end].strip():
            end = len(raw[:line_end].rstrip())
        kind, defines = classify(node)
        uses: frozenset[str] = frozenset()
        if kind != "import":
            uses = frozenset(names_read(node)) - defines - frozenset(local_names(node))
        statements.append(
            Statement(
                index=len(statements),
                kind=kind,
                start=node.start_byte,
                end=end,
                text=raw[node.start_byte : end].decode("utf-8", "replace"),
                defines=defines,
                uses=uses,
                summary=summary(node, raw),
            )
        )
    return CellSyntax(source, True, tree.root_node.has_error, tuple(statements))
