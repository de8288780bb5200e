"""Pure clean-up of what the model generated, before it reaches the editor."""

from __future__ import annotations

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


def _over_closed(text: str) -> bool:
    """Whether ``text`` closes a bracket it did not open (ignoring strings)."""
    stack: list[str] = []
    for ch in text:
        if ch in _OPEN:
            stack.append(ch)
        elif ch in _CLOSE:
            if not stack:
                return True
            if stack[-1] == _CLOSE[ch]:
                stack.pop()
    return False


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


def cut_to_first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def should_stop(text: str, suffix: str) -> bool:
    """Whether generation can stop: the text has left its line when the cursor
    is mid-line, or has started to rewrite the suffix."""
    if is_mid_line(suffix) and "\n" in text:
        return True
    return cut_at_suffix_repeat(text, suffix) != text


def clean_completion(text: str, suffix: str) -> str:
    """All completion clean-ups, in order."""
    if is_mid_line(suffix):
        text = cut_to_first_line(text)
    # Trailing blank lines or spaces would push the suffix down or right.
    text = cut_at_suffix_repeat(text, suffix).rstrip()
    return trim_suffix_overlap(text, suffix).rstrip()


def extract_code(text: str) -> str:
    """The code in a chat model's reply: the first fenced block, or, without
    fences, the reply itself. An unclosed fence (the reply was cut) still counts."""
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("```")), None)
    if start is None:
        return text.strip()
    body = []
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("```"):
            break
        body.append(line)
    return "\n".join(body).strip("\n")
