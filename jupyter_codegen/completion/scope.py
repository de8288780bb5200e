"""The scope of a completion (the rest of the line, a statement, a block)
and where generated text leaves it, judged by bracket depth, strings and
indentation. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from jupyter_codegen.context.syntax import ParsedCell

_OPEN = "([{"


_CLOSE = ")]}"


def is_mid_line(suffix: str) -> bool:
    """Whether code follows the cursor on its line: then only the rest of the
    line is completed."""
    return bool(suffix.split("\n", 1)[0].strip())


Scope = Literal["line", "statement", "block"]


def completion_scope(prefix: str, suffix: str, cell: ParsedCell | None = None) -> Scope:
    """How much to complete, from the syntax around the cursor (``cell``: the
    parse of ``prefix + suffix``, if the caller has one):

    - ``line``: code follows the cursor on its line; complete the rest of it;
    - ``block``: the cursor follows a block header's ``:`` (tree-sitter tells a
      header from a dict, slice or lambda), or sits on the empty first line of
      a block's body; complete the block, up to the first line indented less
      than the cursor;
    - ``statement``: otherwise, including an empty line among other
      statements; complete one statement (more lines only while brackets or
      strings are open, or into the body of a block the statement opens).
    """
    if is_mid_line(suffix):
        return "line"
    cell = cell or ParsedCell(prefix + suffix)
    head, _, line = prefix.rpartition("\n")
    if line.strip():
        return "block" if cell.ends_block_header(len(prefix)) else "statement"
    # An empty line: the block when it is the first line of an empty body
    # (only blank and comment lines since the header).
    lines = head.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    before = "\n".join(lines)
    return "block" if before and cell.ends_block_header(len(before)) else "statement"


@dataclass
class Lexer:
    """Bracket depth and open strings, fed text piece by piece (comments and
    string contents ignored)."""

    depth: int = 0
    lowest: int = 0  # the lowest depth seen
    quote: str = ""  # the open string's delimiter
    comment: bool = False

    def feed(self, text: str) -> Lexer:
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if self.comment:
                if ch == "\n":
                    self.comment = False
            elif self.quote:
                if ch == "\\":
                    i += 1
                elif text.startswith(self.quote, i):
                    i += len(self.quote) - 1
                    self.quote = ""
                elif ch == "\n" and len(self.quote) == 1:
                    self.quote = ""  # an unterminated one-line string ends here
            elif ch == "#":
                self.comment = True
            elif ch in "'\"":
                self.quote = ch * 3 if text.startswith(ch * 3, i) else ch
                i += len(self.quote) - 1
            elif ch in _OPEN:
                self.depth += 1
            elif ch in _CLOSE:
                self.depth -= 1
                self.lowest = min(self.lowest, self.depth)
            i += 1
        return self

    @property
    def open(self) -> bool:
        return self.depth > 0 or bool(self.quote)


def indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


CONTINUES = ("else", "elif", "except", "finally")


def code_of(line: str) -> str:
    return line.split("#", 1)[0].rstrip() if "#" in line else line.rstrip()


def scope_end(text: str, prefix: str, scope: Scope) -> int | None:
    """Where ``text`` leaves its scope (an index to cut at), or None while it
    is still inside. Lines are judged only outside brackets and strings."""
    if scope == "line":
        cut = text.find("\n")
        return cut if cut >= 0 else None
    line = prefix.rsplit("\n", 1)[-1]
    # The indent a line must keep to stay inside the block; 0: a top-level
    # statement; -1: a simple statement, no block (yet).
    if scope == "block":
        base = indent_of(line) + 1 if line.strip() else len(line)
    else:
        base = -1
    lexer = Lexer().feed(line)
    wrote = False  # whether a line with code was completed after the cursor
    prev = line  # the last line with code
    offset = 0
    pieces = text.split("\n")
    for i, piece in enumerate(pieces):
        if i > 0 and piece.strip() and not lexer.open:
            indent = indent_of(piece)
            word = re.split(r"[\s:(]", piece.lstrip(), maxsplit=1)[0]
            header = code_of(prev).endswith(":")
            if base > 0 and indent < base:
                return offset - 1
            if base == 0 and wrote and indent == 0 and word not in CONTINUES:
                if not (header or prev.rstrip().endswith("\\") or prev.lstrip().startswith("@")):
                    return offset - 1
            if base < 0 and wrote:
                if not (header and indent > indent_of(prev)):
                    return offset - 1
                base = indent_of(prev) + 1  # the statement opened a block: finish it
        if i == len(pieces) - 1:
            break
        lexer.feed(piece + "\n")
        if piece.strip():
            wrote = True
            prev = line + piece if i == 0 else piece
        offset += len(piece) + 1
    return None
