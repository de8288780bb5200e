"""One candidate's text as the remote engine delivers it.

The upstream's pieces of text pass through here before anything sees them:

- **Counted**: each piece's tokens are counted with the engine's counter (a
  piece may hold several tokens); the text is cut at ``max_new_tokens`` and
  the candidate ends there ("length"), so an upstream that ignores
  ``max_tokens`` is closed at the limit instead of running to the timeout.
- **Cut at a stop string** (a stop token that the server printed as text).
- **Redacted**: the API key in any form becomes ``***`` (see :mod:`redact`).

A piece's end that may be the start of a stop string or of a secret form is
held back until the next piece shows what it is. The text is kept as a list
of delivered parts (joined once, at the end), never grown by concatenation.
"""

from __future__ import annotations

from collections.abc import Sequence

from jupyter_codegen.engine.base import FinishReason
from jupyter_codegen.engine.remote.redact import Redactor
from jupyter_codegen.engine.remote.tokens import TokenCounter


class Delivery:
    """A candidate's delivered text; ``reason`` is set once it ends here."""

    def __init__(
        self, max_tokens: int, counter: TokenCounter, redactor: Redactor, stops: Sequence[str]
    ):
        self.max_tokens = max(0, max_tokens)
        self.counter = counter
        self.redactor = redactor
        self.stops = tuple(s for s in stops if s)
        self._stop_starts = {s[:n] for s in self.stops for n in range(1, len(s))}
        self._stop_longest = max((len(s) for s in self.stops), default=0)
        self.parts: list[str] = []
        self.pending = ""  # held back: it may start a stop string or a secret
        self.tokens = 0
        self.pieces = 0
        self.reason: FinishReason | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, piece: str) -> str:
        """Take a piece of the upstream's text; return what may be shown now."""
        if self.reason is not None or not piece:
            return ""
        self.pieces += 1
        room = self.max_tokens - self.tokens
        count = self.counter.at_least(piece)
        if count > room:  # past max_tokens: keep what fits, and end here
            piece, count, self.reason = self.counter.head(piece, room), max(0, room), "length"
        self.tokens += count
        text = self.pending + piece
        cut = _first_stop(text, self.stops)
        if cut is not None:
            text, self.reason = text[:cut], "stop"
        text = self.redactor.redact(text)
        if self.reason is not None:
            return self._emit(self.redactor.cut(text), 0)
        return self._emit(text, max(self.redactor.held(text), self._stop_held(text)))

    def finish(self) -> str:
        """The upstream's text ended: deliver what was held back."""
        return self._emit(self.redactor.cut(self.pending), 0) if self.pending else ""

    def _emit(self, text: str, hold: int) -> str:
        shown, self.pending = text[: len(text) - hold], text[len(text) - hold :]
        if shown:
            self.parts.append(shown)
        return shown

    def _stop_held(self, text: str) -> int:
        for size in range(min(len(text), self._stop_longest - 1), 0, -1):
            if text[-size:] in self._stop_starts:
                return size
        return 0


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None
