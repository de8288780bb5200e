"""One remote generation's streams: a request per candidate, their text
delivered through :class:`~jupyter_codegen.engine.remote.delivery.Delivery`
(counted against ``max_new_tokens``, cut at stop strings, redacted), stopped
there, by the caller's stop check, a cancel or the deadline; and the token
counts the server reports (prompt, generated, reused from its prompt cache)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from jupyter_codegen.engine.base import Candidate, DeltaCallback, FinishReason, GenerationRequest
from jupyter_codegen.engine.remote.delivery import Delivery
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.engine.remote.upstream import Upstream

#: After the server's finish reason, most events read while waiting for usage.
EVENTS_AFTER_END = 8
#: A token count larger than this in a reply is not believed.
MAX_COUNT = 10**8


@dataclass
class Usage:
    """What the server reported of one request (None: not reported)."""

    prompt: int | None = None
    completion: int | None = None
    cached: int | None = None


def read_usage(event: dict[str, Any], usage: Usage) -> None:
    """Fold the counts of ``event`` into ``usage``: OpenAI's ``usage`` (with
    ``prompt_tokens_details.cached_tokens``: vLLM, llama.cpp), else
    llama.cpp's ``timings`` (``cache_n``, ``prompt_n``). Anything that is not
    a plausible count is ignored."""
    got = event.get("usage")
    if isinstance(got, dict):
        usage.prompt = _count(got.get("prompt_tokens")) or usage.prompt
        usage.completion = _count(got.get("completion_tokens")) or usage.completion
        details = got.get("prompt_tokens_details")
        if isinstance(details, dict) and _count(details.get("cached_tokens")) is not None:
            usage.cached = _count(details.get("cached_tokens"))
    timings = event.get("timings")
    if isinstance(timings, dict):
        cached, evaluated = _count(timings.get("cache_n")), _count(timings.get("prompt_n"))
        if usage.cached is None and cached is not None:
            usage.cached = cached
        if usage.prompt is None and cached is not None and evaluated is not None:
            usage.prompt = cached + evaluated


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
        return value
    return None


class RemoteRun:
    """One generation's streams: one request per candidate, run in parallel."""

    def __init__(
        self,
        upstream: Upstream,
        counter: TokenCounter,
        path: str,
        chat: bool,
        payload: dict[str, Any],
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None,
        head: str = "",
    ):
        self.upstream = upstream
        #: Text the reply starts with, delivered before the server's (which
        #: continues it: the prompt ends with it); greedy, one candidate only.
        self.head = head
        self.counter = counter
        self.path = path
        self.chat = chat
        self.payload = payload
        self.request = request
        self.cancel = cancel
        self.on_delta = on_delta
        self.deadline = time.monotonic() + request.timeout_s if request.timeout_s else None
        self.usage: dict[int, Usage] = {}
        #: The tokens of ``head``, as counted against ``max_new_tokens``.
        self.head_tokens = 0
        self.failed = threading.Event()

    @property
    def reported(self) -> Usage:
        """The first candidate's counts (each candidate is its own request)."""
        return self.usage.get(0) or next(iter(self.usage.values()), Usage())

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
        request = self.request
        text = Delivery(
            request.max_new_tokens, self.counter, self.upstream.redactor, request.stop_tokens
        )
        usage = self.usage.setdefault(index, Usage())
        if self.head:
            self._deliver(index, text, text.add(self.head))
            if text.reason is not None:  # it ends the reply (its scope, a stop, the limit)
                self.head_tokens = text.tokens
                return Candidate(text.text, text.reason, text.tokens)
        head_tokens = self.head_tokens = text.tokens
        ended: FinishReason | None = None  # the server's finish reason
        after_end = 0
        finished = threading.Event()  # this candidate is done: close its stream

        def stop() -> bool:
            return finished.is_set() or self._halt() is not None

        events = self.upstream.stream(self.path, self.payload, stop)
        try:
            for event in events:
                read_usage(event, usage)
                if ended is not None:  # read on a little, for the usage
                    after_end += 1
                    if usage.completion is not None or after_end > EVENTS_AFTER_END:
                        break
                    continue
                for choice in event.get("choices") or ():
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    self._deliver(index, text, text.add(_piece(choice, self.chat)))
                    if text.reason is None and choice.get("finish_reason"):
                        ended = "length" if choice["finish_reason"] == "length" else "stop"
                        self._deliver(index, text, text.finish())
                if text.reason is not None:
                    finished.set()  # ours (the limit, a stop string, the scope): close now
                    break
                if ended is not None and usage.completion is not None:
                    break
        finally:
            events.close()  # type: ignore[attr-defined]
        reason = text.reason or ended
        if reason is None:
            self._deliver(index, text, text.finish())
            # The reply ended without a finish reason (some servers send none).
            reason = text.reason or self._halt()
            reason = reason or ("length" if text.tokens >= request.max_new_tokens else "stop")
        # (A count of 0 is not believed, as before: the text counted here stands.)
        tokens = head_tokens + usage.completion if usage.completion else text.tokens
        return Candidate(text.text, reason, tokens)

    def _deliver(self, index: int, text: Delivery, delta: str) -> None:
        """Stream ``delta`` and ask the caller's stop check about it."""
        if not delta:
            return
        if self.on_delta is not None:
            self.on_delta(index, delta)
        check = self.request.stop_check
        if text.reason is None and check is not None and check(index, delta):
            text.reason = "scope"


def _piece(choice: dict[str, Any], chat: bool) -> str:
    if chat:
        delta = choice.get("delta") or choice.get("message") or {}
        content = delta.get("content") if isinstance(delta, dict) else None
    else:
        content = choice.get("text")
    return content if isinstance(content, str) else ""
