"""What the magics send as context, as the frontend does for its requests:

- ``cells_before``: the code the kernel ran before the running cell, oldest
  first, the newest kept within the frontend's bounds; the server selects
  from it with the one selector it uses for completions and chat
  (jupyter_codegen/context/select.py);
- ``namespace``: the live variables, picked and described by the frontend
  lookup's own reader (:func:`~jupyter_codegen.kernel.live.describe_live`),
  for the request text first, then the history, newest first
  (:func:`~jupyter_codegen.kernel.live.live_source`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_codegen.kernel.live import LIVE_CHARS, describe_live, live_source

#: At most this many characters of history are sent (``MAX_CONTEXT_CHARS``
#: in src/request.ts).
MAX_HISTORY_CHARS = 200_000


def executed_cells(shell: Any) -> list[str]:
    """The code that ``shell`` ran before the running cell, oldest first,
    empty cells left out: its ``input_hist_parsed`` below the running cell's
    execution count, where IPython stores the running cell when it keeps it
    in the history (a silent run stores nothing). With no cell running,
    the whole history."""
    history = list(getattr(shell.history_manager, "input_hist_parsed", None) or [])
    running = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(running, "execution_count", None)
    if type(count) is int:
        history = history[:count]
    return [cell for cell in history if isinstance(cell, str) and cell.strip()]


def recent_cells(
    cells: Sequence[str], max_cells: int, max_chars: int = MAX_HISTORY_CHARS
) -> list[str]:
    """The newest of ``cells`` (oldest first), at most ``max_cells`` of them
    and ``max_chars`` characters together: from the newest back to the first
    that does not fit, as the frontend clips the cells it sends."""
    kept: list[str] = []
    used = 0
    for cell in reversed(cells):
        if len(kept) >= max_cells or used + len(cell) > max_chars:
            break
        kept.append(cell)
        used += len(cell)
    return kept[::-1]


@dataclass(frozen=True)
class MagicContext:
    """The context of one magic: the history's cells, oldest first, and the
    live variables' description (one line each)."""

    cells: list[str] = field(default_factory=list)
    namespace: str = ""

    @property
    def cells_before(self) -> list[dict[str, str]]:
        """The cells as the API's ``cells_before``."""
        return [{"cell_type": "code", "source": cell} for cell in self.cells]


def magic_context(shell: Any, text: str, max_cells: int, *, variables: bool = True) -> MagicContext:
    """The context for a magic whose request (or code) is ``text``: the
    executed history within ``max_cells`` and :data:`MAX_HISTORY_CHARS`, and,
    with ``variables``, the description of the variables that ``text`` and
    then the history (newest first) use, then of other data, in at most
    :data:`~jupyter_codegen.kernel.live.LIVE_CHARS` characters, as the
    frontend's lookup returns it."""
    cells = recent_cells(executed_cells(shell), max_cells)
    if not variables:
        return MagicContext(cells)
    source = live_source(text, cells[::-1])
    hidden = getattr(shell, "user_ns_hidden", None)
    namespace, _ = describe_live(shell.user_ns, source, LIVE_CHARS, hidden)
    return MagicContext(cells, namespace)
