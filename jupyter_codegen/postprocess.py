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


Scope = str  # "line" | "statement" | "block"


def completion_scope(prefix: str, suffix: str) -> Scope:
    """How much to complete, from the text around the cursor:

    - ``line``: code follows the cursor on its line; complete the rest of it;
    - ``statement``: the cursor ends a non-blank line that opens no block;
      complete the statement (more lines only while brackets are open);
    - ``block``: after a block header, or on an empty line; complete the
      block, up to the first line indented less than the cursor.
    """
    if is_mid_line(suffix):
        return "line"
    line = prefix.rsplit("\n", 1)[-1]
    if line.strip() and not line.rstrip().endswith(":"):
        return "statement"
    return "block"


def _depth(text: str) -> int:
    depth = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
    return depth


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def scope_end(text: str, prefix: str, scope: Scope) -> int | None:
    """Where ``text`` leaves its scope (an index to cut at), or None."""
    if scope == "line":
        cut = text.find("\n")
        return cut if cut >= 0 else None
    line = prefix.rsplit("\n", 1)[-1]
    if scope == "statement":
        offset = 0
        for piece in text.split("\n")[:-1]:
            offset += len(piece)
            if _depth(line + text[:offset]) <= 0:
                return offset
            offset += 1
        return None
    # block: stop at a complete line indented less than the cursor's line
    base = _indent(line) if not line.strip() else _indent(line) + 1
    if base == 0:
        return None
    offset = 0
    pieces = text.split("\n")
    for i, piece in enumerate(pieces):
        is_first_line = i == 0
        complete = i < len(pieces) - 1 or piece.strip()
        if not is_first_line and complete and piece.strip() and _indent(piece) < base:
            return max(0, offset - 1)
        offset += len(piece) + 1
    return None


def should_stop(text: str, prefix: str, suffix: str) -> bool:
    """Whether generation can stop: the text has left its scope, or has started
    to rewrite the suffix."""
    if scope_end(text, prefix, completion_scope(prefix, suffix)) is not None:
        return True
    return cut_at_suffix_repeat(text, suffix) != text


def clean_completion(text: str, prefix: str, suffix: str) -> str:
    """All completion clean-ups, in order."""
    end = scope_end(text, prefix, completion_scope(prefix, suffix))
    if end is not None:
        text = text[:end]
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
