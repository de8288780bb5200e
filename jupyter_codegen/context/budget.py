"""Token budgets: how a prompt's tokens are shared out, and clipping text to
a budget in whole lines, cheaply (text is clipped by characters before it is
tokenized). Pure; table-tested."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CountTokens = Callable[[str], int]


#: No token of a code tokenizer spans more characters than this (long runs of
#: spaces are the longest), so text beyond ``tokens * MAX_CHARS_PER_TOKEN``
#: characters is clipped before anything is tokenized.
MAX_CHARS_PER_TOKEN = 8

#: A text longer than this many characters per token of a budget is taken not
#: to fit it, without being tokenized (tokenizing a pasted megabyte takes about
#: a second). Code averages 3-4 characters a token; only long runs of spaces
#: or dashes reach more than 8, so no text that fits is turned away.
CHARS_PER_TOKEN_BOUND = 32


def cost_within(text: str, budget: int, count: CountTokens) -> int | None:
    """The tokens of ``text``, or None when it cannot fit ``budget`` tokens:
    a text too long for it by its length alone is not tokenized at all."""
    if len(text) > max(0, budget) * CHARS_PER_TOKEN_BOUND:
        return None
    cost = count(text)
    return cost if cost <= budget else None


def keep_tail(text: str, budget: int, count: CountTokens) -> str:
    """The longest run of whole trailing lines of ``text`` within ``budget`` tokens.

    If even the last line does not fit, its tail is cut by characters. The
    text is clipped by characters first, so a huge text costs no more to
    tokenize than one of about ``budget`` tokens.
    """
    if budget <= 0 or not text:
        return ""
    if len(text) > budget * MAX_CHARS_PER_TOKEN:
        text = text[-budget * MAX_CHARS_PER_TOKEN :]
        start = text.find("\n") + 1  # whole lines only, unless it is all one line
        text = text[start:] if 0 < start < len(text) else text
    if count(text) <= budget:
        return text
    lines = text.splitlines(keepends=True)
    lo, hi = 1, len(lines)  # number of trailing lines kept
    best = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if count("".join(lines[-mid:])) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best:
        return "".join(lines[-best:])
    last = lines[-1]
    return last[-max(1, len(last) * budget // max(1, count(last))) :]


def keep_head(text: str, budget: int, count: CountTokens) -> str:
    """The longest run of whole leading lines of ``text`` within ``budget`` tokens."""
    if budget <= 0 or not text:
        return ""
    if len(text) > budget * MAX_CHARS_PER_TOKEN:
        text = text[: budget * MAX_CHARS_PER_TOKEN]
        end = text.rfind("\n") + 1  # whole lines only, unless it is all one line
        text = text[:end] if end > 0 else text
    if count(text) <= budget:
        return text
    lines = text.splitlines(keepends=True)
    lo, hi, best = 1, len(lines), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if count("".join(lines[:mid])) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best:
        return "".join(lines[:best])
    first = lines[0]
    return first[: max(1, len(first) * budget // max(1, count(first)))]


def stable_tail(text: str, budget: int, count: CountTokens, step_chars: int) -> str:
    """The end of ``text`` within ``budget`` tokens, cut where typing at its end
    does not move the cut.

    The cut may only fall at line starts spaced at least ``step_chars`` apart,
    counted from the start of ``text``: appending text moves
    the cut only when the kept part outgrows the budget, and then by at least
    ``step_chars``, so the prompt's head, and the computation cached for it,
    survives many keystrokes. Falls back to :func:`keep_tail` when no such cut
    fits (a single huge line).
    """
    if budget <= 0 or not text:
        return ""
    window = len(text) - budget * MAX_CHARS_PER_TOKEN
    if window <= 0 and count(text) <= budget:
        return text
    # Candidate cuts: line starts, each the first at least step_chars after the
    # one before (counted from the start, so typing at the end moves none).
    cuts: list[int] = []
    mark, offset = step_chars, 0
    for line in text.splitlines(keepends=True):
        if offset >= mark:
            if offset >= window:  # a longer tail could not fit: no need to try it
                cuts.append(offset)
            mark = offset + step_chars
        offset += len(line)
    # The earliest cut whose tail fits (tails shrink as the cut moves right).
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if count(text[cuts[mid] :]) <= budget:
            best, hi = cuts[mid], mid - 1
        else:
            lo = mid + 1
    return text[best:] if best is not None else keep_tail(text, budget, count)


@dataclass(frozen=True)
class PromptBudget:
    """How a completion prompt's tokens are shared out.

    - ``total``: the whole prompt;
    - ``suffix``: the most for text after the cursor (the rest of the cell,
      then following cells). All of it is computed again on every keystroke,
      since it comes after the edit in the prompt, so it is kept short where
      computing is slow;
    - the active cell before the cursor gets at most half of ``total``;
    - the live kernel's variables, if any, get at most a quarter of ``total``;
    - the context before the cell gets the rest, with the cell's share rounded
      up to a multiple of ``total // 8``, so that what the context may use (and
      so the context itself) changes only every few lines of typing.
    """

    total: int
    suffix: int

    @property
    def prefix(self) -> int:
        return self.total // 2

    @property
    def step(self) -> int:
        return max(16, self.total // 8)

    @property
    def live(self) -> int:
        """The most for the live kernel's variables (a quarter of ``total``)."""
        return self.total // 4
