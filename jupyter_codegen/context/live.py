"""The live kernel's variables as a comment block at the head of a
completion prompt (the descriptions come from the kernel, see
:mod:`jupyter_codegen.kernel.live`). Pure."""

from __future__ import annotations

from jupyter_codegen.context.budget import MAX_CHARS_PER_TOKEN, CountTokens

#: The first line of the live-variables block in a completion prompt.
LIVE_HEADER = "Live variables in the kernel (name: type, ...):"


def live_block(namespace: str, budget: int, count: CountTokens, comment: str = "# ") -> str:
    """The kernel's variable descriptions (``namespace``, one per line, the
    most relevant first) as a comment block for a completion prompt: a header,
    then one commented line per description, within ``budget`` tokens. A line
    that does not fit is left out (a later, shorter one may still fit), except
    the first, which is cut after one of its ", " (a frame with many columns
    keeps its first ones). Empty if nothing fits or there is nothing.

    Each line is commented, so the text cannot leave the comment whatever it
    holds; the block depends on ``namespace`` and ``budget`` only, so it is a
    stable start of the prompt while the user types.
    """
    if budget <= 0 or not namespace.strip():
        return ""
    header = f"{comment}{LIVE_HEADER}\n"
    left = budget - count(header)
    kept: list[str] = []
    lines = [line.strip() for line in namespace.splitlines()]
    for line in [line for line in lines if line][:MAX_LIVE_LINES]:
        if left <= 0:
            break
        text = f"{comment}{line}\n"
        cost = count(text)
        if cost > left:
            if kept:
                continue
            text = _cut_line(text, left, count)
            if not text:
                continue
            cost = count(text)
        kept.append(text)
        left -= cost
    return (header + "".join(kept)).rstrip("\n") if kept else ""


#: The most description lines that :func:`live_block` looks at.
MAX_LIVE_LINES = 200


def _cut_line(text: str, budget: int, count: CountTokens) -> str:
    """``text`` cut after its last ", " that leaves it (with ", ...") within
    ``budget`` tokens, or "" if none does."""
    text = text.rstrip("\n")[: budget * MAX_CHARS_PER_TOKEN]
    cuts = [i for i in range(len(text)) if text.startswith(", ", i)]
    lo, hi, best = 0, len(cuts) - 1, ""
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = text[: cuts[mid]] + ", ...\n"
        if count(candidate) <= budget:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best
