"""Reading an error output as the kernel sent it: which frames ran in which
notebook cells, on which lines, and what the failing lines name. Pure.

ipykernel names a cell's frame ``Cell In[5], line 3`` (IPython 8; older
ones ``Input In [5]`` or ``<ipython-input-5-...>``), shows the lines around it
with their numbers and an arrow at the one that ran, and colours it all with
ANSI codes. Execution counts do not say which cell of the notebook ran (cells
are run out of order, re-run, edited), so a frame is placed by its lines: the
cell whose lines at those numbers are the ones shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL = re.compile(
    r"^(?:Cell\s+In\s*\[(?P<n1>\d*)\],\s*line\s+(?P<line>\d+)"
    r"|Input\s+In\s*\[(?P<n2>\d*)\]"
    r"|<ipython-input-(?P<n3>\d+)-[0-9a-f]+>)"
    r"(?:,?\s*in\s+(?P<func>[^\s(]+))?"
)
_FILE = re.compile(r"^File\s+(?P<path>.+?):(?P<line>\d+)(?:,\s*in\s+(?P<func>[^\s(]+))?")
# The spaces before the arrow and after it are matched apart (one ``\s*``
# that may match the same spaces twice is quadratic on a line of blanks).
_CODE = re.compile(r"^\s*(?:(?P<arrow>-*>)\s*)?(?P<no>\d+)\s(?P<text>.*)$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The most frames and code lines read from one error (a recursion error has thousands).
MAX_FRAMES = 64
MAX_LINES_PER_FRAME = 16
#: The most characters of an error's value, and of a code line, that a prompt shows.
MAX_VALUE_CHARS = 1000
MAX_LINE_CHARS = 300


def plain(text: str) -> str:
    """``text`` without its ANSI colour codes."""
    return _ANSI.sub("", text)


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback: in a notebook cell (``cell`` True) or a file."""

    cell: bool
    #: The line that ran (the arrow), in the cell or file.
    line: int | None
    #: The function it ran in; None at a cell's top level.
    function: str | None
    #: The numbered lines shown, as (number, text).
    code: tuple[tuple[int, str], ...]
    #: The file's path, for a frame in a file.
    path: str = ""

    @property
    def current(self) -> str:
        """The text of the line that ran ('' when not shown)."""
        return next((text for no, text in self.code if no == self.line), "")


def frames(traceback: Sequence[str]) -> list[Frame]:
    """The frames of an error output's ``traceback`` (outermost first)."""
    found: list[Frame] = []
    for chunk in traceback[: MAX_FRAMES * 2]:
        lines = plain(chunk).splitlines()
        if not lines:
            continue
        head = lines[0].strip()
        cell, file = _CELL.match(head), _FILE.match(head)
        if cell is None and file is None:
            continue
        code: list[tuple[int, str]] = []
        arrow: int | None = None
        for line in lines[1 : 1 + MAX_LINES_PER_FRAME]:
            # The number and the arrow lead; past them only the text is clipped.
            m = _CODE.match(line[: MAX_LINE_CHARS + 64])
            if m is None:
                continue
            no = int(m["no"])
            code.append((no, m["text"]))
            if m["arrow"]:
                arrow = no
        if cell is not None:
            number = cell["line"]
            func = cell["func"]
            found.append(
                Frame(
                    True,
                    int(number) if number else arrow,
                    None if func in (None, "<module>") else func,
                    tuple(code),
                )
            )
        elif file is not None:
            found.append(Frame(False, int(file["line"]), file["func"], tuple(code), file["path"]))
        if len(found) >= MAX_FRAMES:
            break
    return found


def locate(frame: Frame, sources: Sequence[str]) -> int | None:
    """The index in ``sources`` of the cell that ``frame`` ran in: the one whose
    lines at the frame's numbers are the lines shown (most of them; the
    latest cell on a tie). None when no cell has them."""
    if not frame.cell or not frame.code:
        return None
    best, best_score = None, 0
    for index, source in enumerate(sources):
        lines = source.splitlines()
        score = sum(
            1
            for no, text in frame.code
            if 0 < no <= len(lines) and lines[no - 1].strip() == text.strip()
        )
        if score and score >= best_score:
            best, best_score = index, score
    needed = max(1, (len(frame.code) + 1) // 2)
    return best if best_score >= needed else None


def names_on(lines: Sequence[str]) -> list[str]:
    """The identifiers on ``lines``, in first-seen order (strings included:
    a dict key or a column name is often the name that matters)."""
    return list(dict.fromkeys(w for line in lines for w in _WORD.findall(line)))


def summary(ename: str, evalue: str, user_frames: Sequence[tuple[str, Frame]]) -> str:
    """The error as the model reads it: each frame in a cell of the notebook
    (by its label in the prompt) with the line that ran, then the error."""
    out = ["Traceback (most recent call last):"]
    for label, frame in user_frames:
        where = f"  {label}, line {frame.line}" + (
            f", in {frame.function}" if frame.function else ""
        )
        out.append(where)
        if frame.current:
            out.append(f"    {_clip(frame.current.strip(), MAX_LINE_CHARS)}")
    value = _clip(plain(evalue[: MAX_VALUE_CHARS * 4]).strip(), MAX_VALUE_CHARS)
    out.append(f"{plain(ename).strip()}: {value}" if value else plain(ename).strip())
    return "\n".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
