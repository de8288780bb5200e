"""Pure clean-up of what the model generated, before it reaches the editor,
and the parse gate every Python completion passes."""

from __future__ import annotations

import re
from functools import cached_property

from jupyter_codegen.completion.scope import Lexer, Scope, code_of, completion_scope, scope_end
from jupyter_codegen.context.syntax import ParsedCell, compiles


def _over_closed(text: str) -> bool:
    """Whether ``text`` closes a bracket it did not open (strings and comments
    ignored)."""
    return Lexer().feed(text).lowest < 0


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


def trim_trailing_partial_line(text: str) -> str:
    """A generation cut by the token limit may end mid-line: drop that line,
    and a block header left without its body."""
    if "\n" not in text.strip("\n"):
        return text
    text = text.rsplit("\n", 1)[0]
    while "\n" in text and code_of(text.rsplit("\n", 1)[1]).endswith(":"):
        text = text.rsplit("\n", 1)[0]
    return text


#: Why a generation ended before the model finished it (see :func:`shortened`).
CUT_SHORT = ("length", "timeout")


def whole_ends(line: str, before: str = "", limit: int = 8) -> list[int]:
    """Where a line the model did not finish may end, longest first.
    ``before`` is the text before the cursor on its line. In a comment, or in
    the string the cursor is in, at a space (``# the running total|`` may end
    at each word); in code, just after a bracket or string that closes what
    the completion opened (``f(a).b(c`` at ``f(a)``). Never after a name, a
    number or an operator, which may go on (``total = compute_su``). At most
    ``limit`` of them: each is lexed from the line's start."""
    start = Lexer().feed(before)
    ends: list[int] = []
    for end in range(len(line), 0, -1):
        if len(ends) == limit:
            break
        at_space = end < len(line) and line[end].isspace()
        closes = line[end - 1] in ")]}'\""
        if not (at_space or closes):
            continue
        lexer = Lexer(quote=start.quote, comment=start.comment).feed(line[:end])
        if lexer.comment or (lexer.quote and lexer.quote == start.quote):
            whole = at_space  # words of the comment or string the cursor is in
        else:
            whole = closes and lexer.depth == 0 and lexer.lowest >= 0 and not lexer.quote
        text = line[:end].rstrip()
        if whole and text and not text.endswith("#"):
            ends.append(end)
    return ends


def shortened(raw: str, before: str = "", limit: int = 8) -> list[tuple[str, bool]]:
    """What a generation cut short (by the token limit or the deadline) may
    be shown as, longest first, each with the ``finished`` flag that
    :func:`clean_completion` takes for it.

    Its whole lines, when it has any: the unfinished last line is dropped
    (:func:`clean_completion` does that). A single unfinished line is cut
    where it can end (:func:`whole_ends`, with ``before`` the text before the
    cursor on its line; in Python the parse gate then has the last word), and
    otherwise shown not at all: a suggestion comes back shorter but whole,
    never as a truncated line."""
    head, _, line = raw.rpartition("\n")
    if not line.strip() or head.strip():
        return [(raw, False)]
    start = len(raw) - len(line)
    if start:  # the line starts after a newline of the completion's own
        before = ""
    return [(raw[: start + end], True) for end in whole_ends(line, before, limit)]


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


class ParseGate:
    """Whether a completion may go into the cell: the cell's own facts (does it
    parse, does it compile) are found once, from the request's analysis, and
    each candidate text is parsed and compiled at most once."""

    def __init__(self, prefix: str, suffix: str, cell: ParsedCell | None = None):
        self.prefix = prefix
        self.suffix = suffix
        #: Errors in the cell as it is (the parse of ``prefix + suffix``).
        self.errors = (cell or ParsedCell(prefix + suffix)).errors

    @cached_property
    def strict(self) -> bool:
        """Whether CPython's stricter rules (dedents, empty bodies) apply: the
        cell compiles as it is, or with a trivial statement at the cursor."""
        cell = self.prefix + self.suffix
        return compiles(cell) or compiles(self.prefix + "pass" + self.suffix)

    def keeps(self, text: str) -> bool:
        """Whether inserting ``text`` leaves the cell no worse off: a cell that
        parses must still parse; in one that does not (the line being typed is
        unfinished), the text must not add errors nor close brackets never opened."""
        filled = self.prefix + text + self.suffix
        after = ParsedCell(filled).errors
        if self.errors == 0 or after == 0:
            if after != 0:
                return False
            return not self.strict or compiles(filled)
        lexer = Lexer().feed(self.prefix)
        lexer.lowest = lexer.depth
        return after <= self.errors and lexer.feed(text).lowest >= 0

    def variant(self, text: str) -> str | None:
        """``text`` if inserting it keeps the cell parsing (:meth:`keeps`); else
        ``text`` without an end that repeats the start of the suffix, if that
        does; else None. In ``df["|"]``, where the editor closed the quote and
        bracket, a model often writes ``Unit Price"]``: the short overlap is not
        trimmed by :func:`trim_suffix_overlap` (inside a string it closes
        nothing that the lexer sees), but the cell tells: ``Unit Price`` fits."""
        if self.keeps(text):
            return text
        suffix = self.suffix
        for size in range(min(len(text), len(suffix)), 0, -1):
            tail, head = text[-size:], text[:-size]
            if tail.strip() and suffix.startswith(tail) and head.strip():
                if self.keeps(head.rstrip()):
                    return head.rstrip()
        return None


def keeps_parsing(prefix: str, text: str, suffix: str) -> bool:
    """:meth:`ParseGate.keeps` for one text."""
    return ParseGate(prefix, suffix).keeps(text)


def parsing_variant(prefix: str, text: str, suffix: str) -> str | None:
    """:meth:`ParseGate.variant` for one text."""
    return ParseGate(prefix, suffix).variant(text)
