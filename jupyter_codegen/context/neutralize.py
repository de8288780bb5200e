"""IPython syntax made Python. Notebook cells are not quite Python: IPython
adds ``%line`` and ``%%cell`` magics, ``!shell`` lines and ``obj?`` help.
:func:`neutralize` turns those into Python that parses, keeping every line's
length in bytes, so that positions in the tree of the result are positions in
the cell. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Cell magics whose body is Python; any other cell magic (bash, sql, html,
#: writefile...) makes the cell foreign: it is kept as text, not analysed.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun"})
#: Line magics whose argument is a Python statement (``%time x = f()``).
PYTHON_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit", "mprun"})

_CELL_MAGIC = re.compile(r"^\s*%%(\w+)")
_LINE_MAGIC = re.compile(r"^(\s*)(%{1,2}(\w*)|!|\?{1,2})")
_ASSIGN_MAGIC = re.compile(
    r"^(\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)(%|!(?!=))(\w*)"
)
_HELP_SUFFIX = re.compile(r"^\s*[A-Za-z_][\w.\[\]'\"()]*(\?{1,2})\s*$")


def nbytes(text: str) -> int:
    """The length of ``text`` in UTF-8 bytes (tree positions are bytes)."""
    return len(text.encode("utf-8"))


def _placeholder(text: str) -> str:
    """``_`` padded to the byte length of ``text``: a statement that parses."""
    return "_" + " " * (nbytes(text) - 1) if text else ""


def _neutralize_line(line: str) -> str:
    m = _ASSIGN_MAGIC.match(line)
    if m:
        head = m.group(1)
        return head + _placeholder(line[len(head) :])
    m = _LINE_MAGIC.match(line)
    if m:
        indent, token, name = m.group(1), m.group(2), m.group(3) or ""
        rest = line[len(indent) + len(token) :]
        if token.startswith("%") and name in PYTHON_LINE_MAGICS and rest.strip():
            # "%time x = f()" -> "_;    x = f()": the statement stays visible.
            return indent + "_;" + " " * (nbytes(token) - 2) + rest
        return indent + _placeholder(line[len(indent) :])
    m = _HELP_SUFFIX.match(line)
    if m:
        start, end = m.span(1)
        return line[:start] + " " * (end - start) + line[end:]
    return line


@dataclass(frozen=True)
class Neutralized:
    text: str
    #: False for a foreign cell magic (``%%bash``, ``%%sql``...).
    python: bool
    magic: str | None


def neutralize(source: str) -> Neutralized:
    """IPython syntax replaced by Python with the same byte length on every line."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    magic = None
    if first is not None:
        m = _CELL_MAGIC.match(lines[first])
        if m:
            magic = m.group(1)
            if magic not in PYTHON_CELL_MAGICS:
                text = "\n".join(" " * nbytes(line) for line in lines)
                return Neutralized(text, False, magic)
            lines[first] = _placeholder(lines[first])
    return Neutralized("\n".join(_neutralize_line(line) for line in lines), True, magic)
