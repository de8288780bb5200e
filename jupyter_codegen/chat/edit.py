"""Rewrite a selection of a cell as the user asks ("vectorize this loop"):
the chat shows the notebook's context, the live variables, the whole cell and
the part to rewrite; the reply's code is re-indented to the selection and
checked by the parse gate. Pure."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from jupyter_codegen.api.schemas import EditRequest
from jupyter_codegen.chat.messages import extract_code
from jupyter_codegen.engine.base import ChatMessage

EDIT_SYSTEM = (
    "You change code in a Jupyter notebook as the user asks, and nothing else. Keep what "
    "the code computes unless the request says otherwise, use the notebook's existing "
    "names and the live variables' real columns and keys, and keep the style of the "
    "code around it. Reply with one fenced code block and nothing else."
)


@dataclass(frozen=True)
class Selected:
    """The cell split at the selection, the selection's text dedented, and
    the indent to give the new text back (None: it starts mid-line)."""

    before: str
    text: str
    after: str
    indent: str | None
    #: The selection as it is in the cell.
    raw: str

    @property
    def whole(self) -> bool:
        return not self.before.strip() and not self.after.strip()


def selected(req: EditRequest) -> Selected:
    """The selection of ``req`` (none, or an empty one: the whole cell). Its
    ends may come in either order (an editor's anchor and head); an offset
    past the cell's end means the end."""
    cell = req.cell
    start, end = (
        (0, len(cell)) if req.selection is None else (req.selection.start, req.selection.end)
    )
    start, end = sorted((min(start, len(cell)), min(end, len(cell))))
    if start == end:  # nothing selected: the whole cell
        start, end = 0, len(cell)
    text = cell[start:end]
    at_line_start = start == 0 or cell[start - 1] == "\n"
    indent = None
    if at_line_start:
        body = textwrap.dedent(text)
        first = next((line for line in text.splitlines() if line.strip()), "")
        indent = first[: len(first) - len(first.lstrip())] if body != text else ""
        text = body
    return Selected(cell[:start], text, cell[end:], indent, cell[start:end])


def edit_messages(req: EditRequest, part: Selected, context: str, live: str) -> list[ChatMessage]:
    lang = req.language
    parts = []
    if context.strip():
        parts.append(f"Code already run in the notebook:\n```{lang}\n{context.rstrip()}\n```")
    if live:
        parts.append(f"Live variables in the kernel:\n{live}")
    if part.whole:
        parts.append(f"The cell:\n```{lang}\n{req.cell.rstrip()}\n```")
        ask = "Rewrite the cell"
    else:
        parts.append(f"The cell:\n```{lang}\n{req.cell.rstrip()}\n```")
        parts.append(f"The part of it to rewrite:\n```{lang}\n{part.text.rstrip()}\n```")
        ask = "Rewrite that part only"
    parts.append(
        f"{ask}: {req.instruction.strip()}\nReply with the new code in one ```{lang} block."
    )
    return [ChatMessage("system", EDIT_SYSTEM), ChatMessage("user", "\n\n".join(parts))]


def read_edit(text: str, part: Selected) -> str:
    """The new text of the selection in a (possibly unfinished) reply: its
    code, indented as the selection was, ending as the selection ended."""
    code = extract_code(text)
    if part.indent:
        code = textwrap.indent(textwrap.dedent(code), part.indent)
    if part.raw.endswith("\n") and not code.endswith("\n"):
        code += "\n"
    return code
