"""Pure clean-up of what the model generated, before it reaches the editor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from jupyter_codegen.context.syntax import compiles, ends_block_header, error_count

_OPEN = "([{"
_CLOSE = ")]}"


def _over_closed(text: str) -> bool:
    """Whether ``text`` closes a bracket it did not open (strings and comments
    ignored)."""
    return _Lexer().feed(text).lowest < 0


def trim_suffix_overlap(text: str, suffix: str) -> str:
    """Drop the end of ``text`` that repeats the start of ``suffix``.

    A model that fills ``print(|)`` often writes ``x)``; the ``)`` is already
    there. An overlap is dropped when it is long (four or more non-blank
    characters) or when it closes brackets that ``text`` never opened: in
    ``print(|)`` the completion ``f(x)`` is kept whole.
    """
    if not text or not suffix:
        return text
    for size in range(min(len(text), len(suffix)), 0, -1):
        tail = text[-size:]
        if not suffix.startswith(tail) or not tail.strip():
            continue
        head = text[:-size]
        if len(tail.strip()) >= 4 or (_over_closed(text) and not _over_closed(head)):
            return head
    return text


def cut_at_suffix_repeat(text: str, suffix: str) -> str:
    """Cut ``text`` where it starts to repeat the first non-blank line of ``suffix``.

    Small models run on past the hole and rewrite the code that follows the
    cursor; the repeat begins on a line of its own.
    """
    anchor = next((line.strip() for line in suffix.splitlines() if line.strip()), "")
    if len(anchor) < 3:
        return text
    offset = 0
    for line in text.splitlines(keepends=True):
        if offset and line.strip() == anchor:
            return text[:offset]
        offset += len(line)
    return text


def is_mid_line(suffix: str) -> bool:
    """Whether code follows the cursor on its line: then only the rest of the
    line is completed."""
    return bool(suffix.split("\n", 1)[0].strip())


Scope = Literal["line", "statement", "block"]


def completion_scope(prefix: str, suffix: str) -> Scope:
    """How much to complete, from the syntax around the cursor:

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
    head, _, line = prefix.rpartition("\n")
    if line.strip():
        return "block" if ends_block_header(prefix) else "statement"
    # An empty line: the block when it is the first line of an empty body
    # (only blank and comment lines since the header).
    lines = head.split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    before = "\n".join(lines)
    return "block" if before and ends_block_header(before) else "statement"


@dataclass
class _Lexer:
    """Bracket depth and open strings, fed text piece by piece (comments and
    string contents ignored)."""

    depth: int = 0
    lowest: int = 0  # the lowest depth seen
    quote: str = ""  # the open string's delimiter
    comment: bool = False

    def feed(self, text: str) -> _Lexer:
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


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_CONTINUES = ("else", "elif", "except", "finally")


def _code_of(line: str) -> str:
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
        base = _indent(line) + 1 if line.strip() else len(line)
    else:
        base = -1
    lexer = _Lexer().feed(line)
    wrote = False  # whether a line with code was completed after the cursor
    prev = line  # the last line with code
    offset = 0
    pieces = text.split("\n")
    for i, piece in enumerate(pieces):
        if i > 0 and piece.strip() and not lexer.open:
            indent = _indent(piece)
            word = re.split(r"[\s:(]", piece.lstrip(), maxsplit=1)[0]
            header = _code_of(prev).endswith(":")
            if base > 0 and indent < base:
                return offset - 1
            if base == 0 and wrote and indent == 0 and word not in _CONTINUES:
                if not (header or prev.rstrip().endswith("\\") or prev.lstrip().startswith("@")):
                    return offset - 1
            if base < 0 and wrote:
                if not (header and indent > _indent(prev)):
                    return offset - 1
                base = _indent(prev) + 1  # the statement opened a block: finish it
        if i == len(pieces) - 1:
            break
        lexer.feed(piece + "\n")
        if piece.strip():
            wrote = True
            prev = line + piece if i == 0 else piece
        offset += len(piece) + 1
    return None


def trim_trailing_partial_line(text: str) -> str:
    """A generation cut by the token limit may end mid-line: drop that line,
    and a block header left without its body."""
    if "\n" not in text.strip("\n"):
        return text
    text = text.rsplit("\n", 1)[0]
    while "\n" in text and _code_of(text.rsplit("\n", 1)[1]).endswith(":"):
        text = text.rsplit("\n", 1)[0]
    return text


_CHAT_OPENER = re.compile(
    r"^\s*(sure|certainly|of course|here(?:'s| is| are)|below is|the (?:completed|missing) code)\b",
    re.IGNORECASE,
)


def strip_chat(text: str) -> str:
    """Remove what an instruct model wraps code in: a chat opener line
    ("Here is the code:"), markdown fences, and anything after a closing fence."""
    lines = text.split("\n")
    if lines and _CHAT_OPENER.match(lines[0]) and len(lines) > 1:
        lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
    if lines and lines[0].lstrip().startswith("```"):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            lines = lines[:i]
            break
    return "\n".join(lines)


def should_stop(text: str, prefix: str, suffix: str, scope: Scope | None = None) -> bool:
    """Whether generation can stop: the text has left its scope, has started
    to rewrite the suffix, or has started to talk (a markdown fence)."""
    scope = scope or completion_scope(prefix, suffix)
    if scope_end(text, prefix, scope) is not None:
        return True
    if "```" in text and strip_chat(text) != text.rstrip("`"):
        return True
    return cut_at_suffix_repeat(text, suffix) != text


def clean_completion(
    text: str, prefix: str, suffix: str, *, finished: bool = True, scope: Scope | None = None
) -> str:
    """All completion clean-ups, in order. ``finished``: whether generation
    ended by itself rather than at the token limit."""
    scope = scope or completion_scope(prefix, suffix)
    text = strip_chat(text)
    end = scope_end(text, prefix, scope)
    if end is not None:
        text = text[:end]
    elif not finished and scope != "line":
        text = trim_trailing_partial_line(text)
    # Trailing blank lines or spaces would push the suffix down or right.
    text = cut_at_suffix_repeat(text, suffix).rstrip()
    return trim_suffix_overlap(text, suffix).rstrip()


def keeps_parsing(prefix: str, text: str, suffix: str) -> bool:
    """Whether inserting ``text`` leaves the cell no worse off: a cell that
    parses must still parse; in one that does not (the line being typed is
    unfinished), the text must not add errors nor close brackets never opened."""
    before = error_count(prefix + suffix)
    after = error_count(prefix + text + suffix)
    if before == 0 or after == 0:
        if after != 0:
            return False
        # CPython is stricter (dedents, empty bodies): hold the text to it when
        # the cell compiles as it is or with a trivial statement at the cursor.
        strict = compiles(prefix + suffix) or compiles(prefix + "pass" + suffix)
        return not strict or compiles(prefix + text + suffix)
    lexer = _Lexer().feed(prefix)
    lexer.lowest = lexer.depth
    return after <= before and lexer.feed(text).lowest >= 0


def parsing_variant(prefix: str, text: str, suffix: str) -> str | None:
    """``text`` if inserting it keeps the cell parsing (:func:`keeps_parsing`);
    else ``text`` without an end that repeats the start of ``suffix``, if that
    does; else None. In ``df["|"]``, where the editor closed the quote and
    bracket, a model often writes ``Unit Price"]``: the short overlap is not
    trimmed by :func:`trim_suffix_overlap` (inside a string it closes nothing
    that the lexer sees), but the cell tells: ``Unit Price`` is what fits."""
    if keeps_parsing(prefix, text, suffix):
        return text
    for size in range(min(len(text), len(suffix)), 0, -1):
        tail, head = text[-size:], text[:-size]
        if tail.strip() and suffix.startswith(tail) and head.strip():
            if keeps_parsing(prefix, head.rstrip(), suffix):
                return head.rstrip()
    return None
