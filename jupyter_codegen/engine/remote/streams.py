"""One remote generation's streams: a request per candidate, their text
gathered, stopped at a stop string, by the caller's stop check, a cancel or
the deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

from jupyter_codegen.engine.base import Candidate, DeltaCallback, FinishReason, GenerationRequest
from jupyter_codegen.engine.remote.upstream import Upstream


class RemoteRun:
    """One generation's streams: one request per candidate, run in parallel."""

    def __init__(
        self,
        upstream: Upstream,
        path: str,
        chat: bool,
        payload: dict[str, Any],
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None,
    ):
        self.upstream = upstream
        self.path = path
        self.chat = chat
        self.payload = payload
        self.request = request
        self.cancel = cancel
        self.on_delta = on_delta
        self.deadline = time.monotonic() + request.timeout_s if request.timeout_s else None
        self.prompt_tokens = 0
        # A stop token as text: servers that keep special tokens in the output
        # text show it; cut there as the local engine does.
        self.stop_strings = tuple(s for s in request.stop_tokens if s)
        self.failed = threading.Event()

    def all(self, num: int) -> list[Candidate]:
        if num == 1:
            return [self.one(0)]
        results: list[Candidate | None] = [None] * num
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                results[index] = self.one(index)
            except BaseException as exc:
                errors.append(exc)
                self.failed.set()  # the others stop too: the request fails as a whole

        threads = [
            threading.Thread(target=work, args=(i,), name=f"codegen-remote-{i}", daemon=True)
            for i in range(1, num)
        ]
        for thread in threads:
            thread.start()
        work(0)
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return [c for c in results if c is not None]

    def _halt(self) -> FinishReason | None:
        if self.cancel.is_set() or self.failed.is_set():
            return "cancelled"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return "timeout"
        return None

    def one(self, index: int) -> Candidate:
        text, pieces = "", 0
        reason: FinishReason | None = None
        usage_tokens: int | None = None
        # The server ended the text: read on only for the usage chunk after it.
        ended = False
        finished = threading.Event()  # this candidate is done: close its stream

        def stop() -> bool:
            return finished.is_set() or self._halt() is not None

        events = self.upstream.stream(self.path, self.payload, stop)
        try:
            for event in events:
                usage = event.get("usage")
                if isinstance(usage, dict):
                    usage_tokens = usage.get("completion_tokens") or usage_tokens
                    self.prompt_tokens = usage.get("prompt_tokens") or self.prompt_tokens
                if ended:
                    continue
                for choice in event.get("choices") or ():
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    piece = _piece(choice, self.chat)
                    if piece:
                        pieces += 1
                        text, reason = self._extend(index, text, piece)
                    if reason is None and choice.get("finish_reason"):
                        reason = "length" if choice["finish_reason"] == "length" else "stop"
                        ended = True
                if reason is not None and not ended:
                    finished.set()  # ours (a stop string, the scope): close the stream now
                    break
        finally:
            events.close()  # type: ignore[attr-defined]
        if reason is None:
            halt = self._halt()
            # The reply ended without a finish reason (some servers send none).
            reason = halt or ("length" if pieces >= self.request.max_new_tokens else "stop")
        return Candidate(text, reason, usage_tokens or pieces)

    def _extend(self, index: int, text: str, piece: str) -> tuple[str, FinishReason | None]:
        """Add ``piece``, stream the new text, and say whether the candidate ends."""
        reason: FinishReason | None = None
        new = text + piece
        cut = _first_stop(new, self.stop_strings, max(0, len(text) - 64))
        if cut is not None:
            new, reason = new[:cut], "stop"
        if len(new) > len(text) and self.on_delta is not None:
            self.on_delta(index, new[len(text) :])
        check = self.request.stop_check
        if reason is None and check is not None and len(new) > len(text):
            if check(index, new[len(text) :]):
                reason = "scope"
        return new, reason


def _piece(choice: dict[str, Any], chat: bool) -> str:
    if chat:
        delta = choice.get("delta") or choice.get("message") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
    else:
        content = choice.get("text")
    return content if isinstance(content, str) else ""


def _first_stop(text: str, stops: tuple[str, ...], start: int) -> int | None:
    found = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(found) if found else None
