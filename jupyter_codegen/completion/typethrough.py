"""What a document's last suggestion predicts for its next request.

While the user types the start of a suggestion, the model's next suggestion
is most often the rest of it. The frontend shows that rest itself (it sends
no request while the typed text matches what is on screen), but every other
client asks again, and so does the frontend once its suggestion is gone (a
request cancelled before its text came, a suggestion replaced). The rest of
the last suggestion is then passed to the engine as ``expected`` text: a
draft it runs with the prompt and verifies, so
a right guess costs one forward pass instead of one per token, and a wrong
one changes nothing in the output.

Pure bookkeeping, without the model: a few documents' last raw suggestion,
with enough of the text around the cursor to tell whether a new request
continues it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

#: Characters of the prefix kept to recognise a continuation; a request whose
#: prefix merely ends the same way gets a draft that verification rejects.
PREFIX_TAIL = 2000
#: Longest suggestion remembered (characters).
MAX_TEXT = 4000


@dataclass(frozen=True)
class _Last:
    prefix_len: int
    prefix_tail: str
    suffix: str
    text: str


class SuggestionMemory:
    """The last raw (uncleaned) greedy suggestion of each of the ``documents``
    most recently completed documents. Thread-safe."""

    def __init__(self, documents: int = 64):
        self.documents = documents
        self._last: OrderedDict[str, _Last] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, prefix: str, suffix: str, text: str) -> None:
        """``text`` was suggested at ``prefix``|``suffix`` in document ``key``."""
        if not text or self.documents <= 0:
            return  # an empty suggestion predicts nothing: the last one stays
        with self._lock:
            self._last.pop(key, None)
            self._last[key] = _Last(
                len(prefix), prefix[-PREFIX_TAIL:], suffix[:PREFIX_TAIL], text[:MAX_TEXT]
            )
            while len(self._last) > self.documents:
                self._last.popitem(last=False)

    def expected(self, key: str, prefix: str, suffix: str) -> str:
        """What is left of ``key``'s last suggestion once the text typed since
        (the end of ``prefix`` beyond the last request's) is taken off its
        start; '' when the user typed something else, or moved."""
        with self._lock:
            last = self._last.get(key)
        if last is None or suffix[:PREFIX_TAIL] != last.suffix or len(prefix) < last.prefix_len:
            return ""
        start = last.prefix_len - len(last.prefix_tail)
        if prefix[start : last.prefix_len] != last.prefix_tail:
            return ""
        typed = prefix[last.prefix_len :]
        if not last.text.startswith(typed):
            return ""
        return last.text[len(typed) :]
