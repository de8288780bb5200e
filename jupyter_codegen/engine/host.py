"""The model host: loads one engine in the background and runs generations
off the event loop with bounded concurrency, timing and cancellation.

It wraps an :class:`~jupyter_codegen.engine.base.Engine` rather than editing
it: any engine gets the same loading states, queue, limits and cancellation.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from .base import Engine, GenerationRequest, GenerationResult

log = logging.getLogger(__name__)

State = Literal["loading", "ready", "error"]


class ModelNotReady(RuntimeError):
    """The model is still loading, or failed to load."""

    def __init__(self, state: State, message: str):
        super().__init__(message)
        self.state = state


class HostBusy(RuntimeError):
    """The queue of waiting generations is full."""


@dataclass
class Ticket:
    """One request's handle: cancel it from the event loop or any thread."""

    request_id: str
    kind: str
    cancelled: threading.Event = field(default_factory=threading.Event)
    _waiter: asyncio.Future[None] | None = None

    def cancel(self) -> None:
        self.cancelled.set()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.get_loop().call_soon_threadsafe(_resolve, waiter)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


@dataclass(frozen=True)
class Timed:
    """A finished generation and where its time went."""

    result: GenerationResult
    timings: dict[str, float]


@dataclass
class _Stats:
    completed: int = 0
    cancelled: int = 0
    failed: int = 0
    rejected_busy: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    recent: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=20)
    )


class ModelHost:
    def __init__(
        self,
        name: str,
        loader: Callable[[Callable[[str], None]], Engine],
        *,
        max_concurrent: int = 1,
        max_queued: int = 8,
    ):
        self.name = name
        self._loader = loader
        self.max_concurrent = max(1, max_concurrent)
        self.max_queued = max(0, max_queued)
        self.state: State = "loading"
        self.error: str | None = None
        self.detail: str | None = "waiting to start"
        self.load_seconds: float | None = None
        self.engine: Engine | None = None
        self._pool = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="codegen-gen")
        self._slots: asyncio.Semaphore | None = None
        self._active = 0
        self._queued = 0
        self._tickets: dict[str, Ticket] = {}
        self._stats = _Stats()
        self._load_thread: threading.Thread | None = None

    # -- loading ----------------------------------------------------------

    def start_loading(self) -> None:
        """Load the engine in a daemon thread; the server answers meanwhile."""
        if self._load_thread is not None:
            return
        self._load_thread = threading.Thread(target=self._load, name="codegen-load", daemon=True)
        self._load_thread.start()

    def _progress(self, message: str) -> None:
        self.detail = message
        log.info("jupyter-codegen: %s: %s", self.name, message)

    def _load(self) -> None:
        started = time.monotonic()
        try:
            engine = self._loader(self._progress)
        except BaseException as exc:  # report every failure, keep the server up
            self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.detail = None
            self.state = "error"
            log.error("jupyter-codegen: loading %s failed: %s", self.name, self.error)
            return
        self.load_seconds = round(time.monotonic() - started, 2)
        self.engine = engine
        self.detail = None
        self.state = "ready"
        log.info("jupyter-codegen: %s ready in %.1f s", self.name, self.load_seconds)

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Block until loading ends (for the magics' in-process fallback and tests)."""
        if self._load_thread is not None:
            self._load_thread.join(timeout)
        return self.state != "loading"

    def ready_engine(self) -> Engine:
        if self.state == "ready" and self.engine is not None:
            return self.engine
        if self._load_thread is None:  # not loaded on start: the first request starts it
            self.start_loading()
        if self.state == "error":
            raise ModelNotReady("error", f"The model {self.name} failed to load: {self.error}")
        raise ModelNotReady(
            "loading", f"The model {self.name} is still loading ({self.detail or 'starting'})"
        )

    # -- tickets ----------------------------------------------------------

    def new_ticket(self, request_id: str, kind: str) -> Ticket:
        """Register a request. A new request with the id of one still running
        supersedes it: the old one is cancelled, so a stale request never keeps
        the model busy."""
        old = self._tickets.get(request_id)
        if old is not None:
            old.cancel()
        ticket = Ticket(request_id, kind)
        self._tickets[request_id] = ticket
        return ticket

    def cancel(self, request_id: str) -> bool:
        ticket = self._tickets.get(request_id)
        if ticket is None:
            return False
        ticket.cancel()
        return True

    def release(self, ticket: Ticket) -> None:
        """Forget a ticket (its request ended, or never started)."""
        if self._tickets.get(ticket.request_id) is ticket:
            del self._tickets[ticket.request_id]

    # -- running ----------------------------------------------------------

    async def _acquire(self, ticket: Ticket) -> bool:
        """Wait for a generation slot; False if the ticket was cancelled first."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        if self._slots.locked() and self._queued >= self.max_queued:
            self._stats.rejected_busy += 1
            raise HostBusy(
                f"{self._active} generations are running and {self._queued} are waiting; "
                "try again shortly"
            )
        self._queued += 1
        loop = asyncio.get_running_loop()
        ticket._waiter = loop.create_future()
        acquire = asyncio.ensure_future(self._slots.acquire())
        try:
            if ticket.cancelled.is_set():
                ticket._waiter.set_result(None)
            waiters: set[asyncio.Future[Any]] = {acquire, ticket._waiter}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._queued -= 1
        if ticket.cancelled.is_set():
            if acquire.done() and not acquire.cancelled():
                self._slots.release()
            else:
                acquire.cancel()
            return False
        return True

    async def run(
        self,
        request: GenerationRequest,
        ticket: Ticket,
        on_delta: Callable[[int, str], None] | None = None,
    ) -> Timed:
        """Run one generation in the worker pool. ``on_delta`` is called on the
        event loop's thread."""
        engine = self.ready_engine()
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        first: list[float] = []
        try:
            if not await self._acquire(ticket):
                self._record(ticket, None, t0, None, "cancelled")
                return Timed(
                    GenerationResult([], 0),
                    {
                        "queue_ms": _ms(time.monotonic() - t0),
                        "total_ms": _ms(time.monotonic() - t0),
                    },
                )
            assert self._slots is not None
            t1 = time.monotonic()
            self._active += 1

            def deliver(index: int, text: str) -> None:
                if not first:
                    first.append(time.monotonic())
                if on_delta is not None:
                    loop.call_soon_threadsafe(on_delta, index, text)

            try:
                result = await loop.run_in_executor(
                    self._pool, engine.generate, request, ticket.cancelled, deliver
                )
            except BaseException:
                self._stats.failed += 1
                raise
            finally:
                self._active -= 1
                self._slots.release()
            t2 = time.monotonic()
        finally:
            self.release(ticket)
        tokens = sum(c.tokens for c in result.candidates)
        timings = {
            "queue_ms": _ms(t1 - t0),
            "generate_ms": _ms(t2 - t1),
            "total_ms": _ms(t2 - t0),
            "prompt_tokens": float(result.prompt_tokens),
            "cached_tokens": float(result.cached_tokens),
            "reuse": round(result.cached_tokens / max(1, result.prompt_tokens), 3),
            "generated_tokens": float(tokens),
        }
        self._stats.prompt_tokens += result.prompt_tokens
        self._stats.cached_tokens += result.cached_tokens
        if first:
            timings["first_token_ms"] = _ms(first[0] - t1)
        if t2 > t1 and tokens:
            timings["tokens_per_s"] = round(tokens / (t2 - t1), 2)
        reason = "cancelled" if ticket.cancelled.is_set() else "ok"
        self._record(ticket, result, t0, timings, reason)
        return Timed(result, timings)

    async def stream(
        self, request: GenerationRequest, ticket: Ticket
    ) -> AsyncIterator[tuple[int, str] | Timed]:
        """Yield ``(candidate index, new text)`` as it arrives, then the
        :class:`Timed` result. Closing the iterator early cancels the generation."""
        queue: asyncio.Queue[tuple[int, str] | Timed | BaseException] = asyncio.Queue()

        async def produce() -> None:
            try:
                queue.put_nowait(
                    await self.run(request, ticket, lambda i, t: queue.put_nowait((i, t)))
                )
            except BaseException as exc:  # handed to the consumer
                queue.put_nowait(exc)

        task = asyncio.ensure_future(produce())
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Timed):
                    return
        finally:
            if not task.done():
                ticket.cancel()
                await asyncio.shield(task)

    # -- reporting --------------------------------------------------------

    def _record(
        self,
        ticket: Ticket,
        result: GenerationResult | None,
        t0: float,
        timings: dict[str, float] | None,
        outcome: str,
    ) -> None:
        if outcome == "cancelled":
            self._stats.cancelled += 1
        else:
            self._stats.completed += 1
        self._stats.recent.append(
            {
                "request_id": ticket.request_id,
                "kind": ticket.kind,
                "outcome": outcome,
                "generated_tokens": sum(c.tokens for c in result.candidates) if result else 0,
                "total_ms": _ms(time.monotonic() - t0),
                **{k: timings[k] for k in ("first_token_ms", "reuse") if timings and k in timings},
            }
        )

    def stats(self) -> dict[str, Any]:
        return {
            "active": self._active,
            "queued": self._queued,
            "completed": self._stats.completed,
            "cancelled": self._stats.cancelled,
            "failed": self._stats.failed,
            "rejected_busy": self._stats.rejected_busy,
            "prompt_tokens": self._stats.prompt_tokens,
            "cached_tokens": self._stats.cached_tokens,
            # Of all prompt tokens so far, the share whose computation was reused.
            "reuse": round(self._stats.cached_tokens / max(1, self._stats.prompt_tokens), 3),
            "recent": list(self._stats.recent),
        }

    def shutdown(self) -> None:
        for ticket in list(self._tickets.values()):
            ticket.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
