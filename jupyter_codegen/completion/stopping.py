"""When to stop generating a completion: once the text leaves its scope,
starts to talk (a Markdown fence) or starts to rewrite the code after the
cursor. Pure."""

from __future__ import annotations

import re

from jupyter_codegen.completion.postprocess import cut_at_suffix_repeat, strip_chat
from jupyter_codegen.completion.scope import (
    CONTINUES,
    Lexer,
    Scope,
    code_of,
    completion_scope,
    indent_of,
    scope_end,
)


def should_stop(text: str, prefix: str, suffix: str, scope: Scope | None = None) -> bool:
    """Whether generation can stop: the text has left its scope, has started
    to rewrite the suffix, or has started to talk (a markdown fence)."""
    scope = scope or completion_scope(prefix, suffix)
    if scope_end(text, prefix, scope) is not None:
        return True
    if "```" in text and strip_chat(text) != text.rstrip("`"):
        return True
    return cut_at_suffix_repeat(text, suffix) != text


#: What ``str.splitlines`` splits at (a line of text ends at any of them).
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_WORD = re.compile(r"[\s:(]")


class StopChecker:
    """:func:`should_stop` for a text that grows, fed only the new text of each
    decoding step: it keeps the scope's state (brackets, strings, indentation)
    for the finished lines and looks again only at the line being written, so a
    step costs the length of its new text and of that line, not of the whole
    text. ``feed(delta)`` answers what ``should_stop(text)`` would for the text
    so far (a test holds the two to the same answers)."""

    def __init__(self, prefix: str, suffix: str, scope: Scope):
        self.scope = scope
        line = prefix.rsplit("\n", 1)[-1]
        self._line = line
        # As in scope_end: the indent a line must keep to stay in the block;
        # 0: a top-level statement; -1: a simple statement, no block (yet).
        if scope == "block":
            self._base = indent_of(line) + 1 if line.strip() else len(line)
        else:
            self._base = -1
        self._lexer = Lexer().feed(line)
        self._wrote = False  # a line with code was finished after the cursor
        self._prev = line  # the last line with code
        self._first = True  # the piece being written is the first (the cursor's line)
        self._piece = ""  # the text after the last "\n"
        self._left_scope = False
        # A Markdown fence, possibly split across steps.
        self._chunks: list[str] = []
        self._tail = ""
        self._fenced = False
        # The first non-blank line of the suffix, written again on a line of its own.
        self._anchor = next((ln.strip() for ln in suffix.splitlines() if ln.strip()), "")
        if len(self._anchor) < 3:
            self._anchor = ""
        self._line_buffer = ""
        self._on_first_line = True
        self._repeated = False

    def feed(self, delta: str) -> bool:
        """Take the new text of a step; whether generation can stop."""
        self._chunks.append(delta)
        out = self._scope(delta)
        fence = self._fence(delta)
        repeat = self._repeat(delta)
        return out or fence or repeat

    # -- the scope (scope_end) ------------------------------------------------

    def _scope(self, delta: str) -> bool:
        if self.scope == "line":
            self._left_scope = self._left_scope or "\n" in delta
            return self._left_scope
        *done, self._piece = (self._piece + delta).split("\n")
        for piece in done:  # finished lines: judged, then they move the state on
            if not self._first and self._leaves(piece, keep=True):
                self._left_scope = True
            self._lexer.feed(piece + "\n")
            if piece.strip():
                self._wrote = True
                self._prev = self._line + piece if self._first else piece
            self._first = False
        if self._left_scope:
            return True
        return not self._first and self._leaves(self._piece, keep=False)

    def _leaves(self, piece: str, *, keep: bool) -> bool:
        """Whether ``piece``, a line after the first, leaves the scope; ``keep``:
        the line is finished, so a block it opens is remembered."""
        if not piece.strip() or self._lexer.open:
            return False
        indent = indent_of(piece)
        word = _WORD.split(piece.lstrip(), maxsplit=1)[0]
        prev = self._prev
        header = code_of(prev).endswith(":")
        base = self._base
        if base > 0 and indent < base:
            return True
        if base == 0 and self._wrote and indent == 0 and word not in CONTINUES:
            if not (header or prev.rstrip().endswith("\\") or prev.lstrip().startswith("@")):
                return True
        if base < 0 and self._wrote:
            if not (header and indent > indent_of(prev)):
                return True
            if keep:
                self._base = indent_of(prev) + 1  # the statement opened a block: finish it
        return False

    # -- a Markdown fence -------------------------------------------------------

    def _fence(self, delta: str) -> bool:
        self._fenced = self._fenced or "```" in self._tail + delta
        self._tail = (self._tail + delta)[-2:]
        if not self._fenced:
            return False
        text = "".join(self._chunks)  # rare: a fence ends the generation at once
        return strip_chat(text) != text.rstrip("`")

    # -- the suffix written again (cut_at_suffix_repeat) --------------------------

    def _repeat(self, delta: str) -> bool:
        if not self._anchor:
            return False
        lines = (self._line_buffer + delta).splitlines(keepends=True)
        if lines and lines[-1][-1] not in _LINE_BREAKS:
            self._line_buffer = lines.pop()
        else:
            self._line_buffer = ""
        for line in lines:
            if not self._on_first_line and line.strip() == self._anchor:
                self._repeated = True
            self._on_first_line = False
        if self._repeated:
            return True
        return not self._on_first_line and self._line_buffer.strip() == self._anchor
