"""Each candidate's text as its tokens are chosen: streamed as it grows,
stopped at a stop token or by the caller's stop check."""

from __future__ import annotations

from jupyter_codegen.engine.base import Candidate, DeltaCallback, FinishReason, StopCheck
from jupyter_codegen.engine.local.tokenizer import Tokenizers


class Candidates:
    """Each candidate's tokens and text as they are chosen: streams the new
    text, applies the caller's stop check, and ends a candidate on a stop token."""

    def __init__(
        self,
        tokens: Tokenizers,
        num: int,
        stop_ids: set[int],
        stop_check: StopCheck | None,
        on_delta: DeltaCallback | None,
    ):
        self._tokens = tokens
        self._stop_ids = stop_ids
        self._stop_check = stop_check
        self._on_delta = on_delta
        self._text = [tokens.detokenizer() for _ in range(num)]
        self.texts = [""] * num
        self.counts = [0] * num
        self.reasons: list[FinishReason | None] = [None] * num

    def push(self, index: int, token: int) -> bool:
        """Take the candidate's next token; True once the candidate is done."""
        if self.reasons[index] is not None:
            return True
        self.counts[index] += 1
        if token in self._stop_ids:
            self.reasons[index] = "stop"
            return True
        text = self._text[index].push(token)  # less an unfinished UTF-8 sequence
        old = self.texts[index]
        if len(text) <= len(old):
            return False
        self.texts[index] = text
        delta = text[len(old) :]
        if self._on_delta is not None:
            self._on_delta(index, delta)
        if self._stop_check is not None and self._stop_check(index, delta):
            self.reasons[index] = "scope"
            return True
        return False

    def result(self, halt: FinishReason | None) -> list[Candidate]:
        return [
            Candidate(text, reason or halt or "length", count)
            for text, reason, count in zip(self.texts, self.reasons, self.counts, strict=True)
        ]
