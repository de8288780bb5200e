"""What the host counts of its requests: for ``/status`` and the metrics."""

from __future__ import annotations

import collections
import time
from typing import Any, Protocol

from jupyter_codegen.engine.base import GenerationResult
from jupyter_codegen.service import metrics


class _Request(Protocol):
    request_id: str
    kind: str


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class RequestStats:
    """Counts by outcome, prompt tokens and their reuse, the latest requests."""

    def __init__(self) -> None:
        self.completed = 0
        self.cancelled = 0
        self.failed = 0
        self.rejected_busy = 0
        self.queue_timeouts = 0
        #: Generations stopped by their deadline (finish_reason "timeout").
        self.timed_out = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=20)

    def rejected(self, kind: str, outcome: str) -> None:
        """A request turned away before it ran (busy, invalid, not ready...)."""
        if outcome == "busy":
            self.rejected_busy += 1
        elif outcome == "queue_timeout":
            self.queue_timeouts += 1
        metrics.observe_request(kind, outcome)

    def failure(self, kind: str) -> None:
        """A request that failed on the server outside the engine."""
        self.failed += 1
        metrics.observe_request(kind, "failed")

    def finished(
        self,
        request: _Request,
        result: GenerationResult | None,
        started: float,
        timings: dict[str, float] | None,
        outcome: str,
    ) -> None:
        """A generation that ran (or was cancelled while waiting), ``outcome``
        one of ok, cancelled, failed."""
        if outcome == "cancelled":
            self.cancelled += 1
        elif outcome == "ok":
            self.completed += 1
        elif outcome == "failed":
            self.failed += 1
        finish = result.candidates[0].finish_reason if result and result.candidates else None
        if result is not None and outcome != "failed":
            self.prompt_tokens += result.prompt_tokens
            self.cached_tokens += result.cached_tokens
            if any(c.finish_reason == "timeout" for c in result.candidates):
                self.timed_out += 1
        total = time.monotonic() - started
        metrics.observe_generation(request.kind, outcome, total, result, timings)
        self.recent.append(
            {
                "request_id": request.request_id,
                "kind": request.kind,
                "outcome": outcome,
                "generated_tokens": sum(c.tokens for c in result.candidates) if result else 0,
                "total_ms": ms(total),
                **({"finish_reason": finish} if finish else {}),
                **{k: timings[k] for k in ("first_token_ms", "reuse") if timings and k in timings},
            }
        )

    def report(self, active: int, queued: int) -> dict[str, Any]:
        return {
            "active": active,
            "queued": queued,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "failed": self.failed,
            "rejected_busy": self.rejected_busy,
            "queue_timeouts": self.queue_timeouts,
            "timed_out": self.timed_out,
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            # Of all prompt tokens so far, the share whose computation was reused.
            "reuse": round(self.cached_tokens / max(1, self.prompt_tokens), 3),
            "recent": list(self.recent),
        }
