"""The model host: loads one engine in the background and runs generations
off the event loop with bounded concurrency, timing and cancellation.

It wraps an :class:`~jupyter_codegen.engine.base.Engine` rather than editing
it: any engine gets the same loading states, queue, limits and cancellation.

Admission is synchronous: :meth:`ModelHost.admit` reserves a generation slot
or a queue place in one step on the event loop, or raises, so a burst of
requests never overfills the queue. A slot stays held until the worker thread
has returned, so the concurrency bound is honest even for cancelled work.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from jupyter_codegen.engine.base import Engine, GenerationRequest, GenerationResult
from jupyter_codegen.errors import (
    EngineError,
    GenerationFailed,
    HostBusy,
    ModelNotReady,
    QueueTimeout,
    State,
)
from jupyter_codegen.service import metrics

log = logging.getLogger(__name__)

#: Where a ticket stands: not yet admitted, waiting in the queue, holding a
#: generation slot, or finished with both.
Place = Literal["new", "queued", "slot", "done"]


@dataclass(eq=False)
class Ticket:
    """One request's handle: cancel it from the event loop or any thread."""

    request_id: str
    kind: str
    cancelled: threading.Event = field(default_factory=threading.Event)
    _waiter: asyncio.Future[None] | None = None
    _place: Place = "new"
    _admitted_at: float = 0.0

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
    queue_timeouts: int = 0
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
        queue_timeout: float = 60.0,
        freeze_heap: bool = False,
    ):
        self.name = name
        self._loader = loader
        #: After loading, freeze the process's heap (``_freeze_heap``): for a
        #: server's process, not a kernel's, whose heap is the user's.
        self.freeze_heap = freeze_heap
        self.max_concurrent = max(1, max_concurrent)
        self.max_queued = max(0, max_queued)
        #: Seconds a request may wait for a slot before it gets 429 (0: no limit).
        self.queue_timeout = queue_timeout
        self.state: State = "loading"
        self.error: str | None = None
        self.detail: str | None = "waiting to start"
        #: While loading: the stage ("converting", "loading") and how far it is (0..1).
        self.stage: str | None = None
        self.progress: float | None = None
        self.load_seconds: float | None = None
        self.engine: Engine | None = None
        self._pool = ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="codegen-gen")
        self._held = 0  # slots reserved (admitted or running, until the thread returns)
        self._active = 0  # worker threads running a generation
        self._waiting: collections.deque[Ticket] = collections.deque()
        self._running: set[Ticket] = set()  # tickets whose worker thread has not returned
        self._tickets: dict[str, Ticket] = {}
        self._stats = _Stats()
        self._load_thread: threading.Thread | None = None
        metrics.set_model_state(self.state)

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

    def set_progress(self, stage: str, fraction: float) -> None:
        """Report how far loading has come: ``stage`` and a fraction in 0..1
        (called from the loading thread; the status endpoint reads it)."""
        self.stage = stage
        self.progress = round(min(1.0, max(0.0, float(fraction))), 3)

    def _load(self) -> None:
        started = time.monotonic()
        try:
            engine = self._loader(self._progress)
        except BaseException as exc:  # report every failure, keep the server up
            self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.detail = None
            self.stage = self.progress = None
            self.state = "error"
            metrics.set_model_state(self.state)
            log.error("jupyter-codegen: loading %s failed: %s", self.name, self.error)
            return
        self.load_seconds = round(time.monotonic() - started, 2)
        if self.freeze_heap:
            _freeze_heap()
        self.engine = engine
        self.detail = None
        self.stage = self.progress = None
        self.state = "ready"
        metrics.set_model_state(self.state)
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
        """Forget a ticket (its request ended, or never started). A place it
        reserved but never used is given back; a running generation keeps its
        slot until its thread returns."""
        if self._tickets.get(ticket.request_id) is ticket:
            del self._tickets[ticket.request_id]
        if ticket._place in ("new", "queued"):
            self._free(ticket)
        elif ticket._place == "slot" and ticket not in self._running:
            self._free(ticket)

    # -- admission ----------------------------------------------------------

    def _queued(self) -> int:
        return sum(1 for t in self._waiting if not t.cancelled.is_set())

    def admit(self, ticket: Ticket) -> None:
        """Reserve a generation slot or a queue place for ``ticket`` now, in one
        synchronous step, or raise :class:`ModelNotReady` or :class:`HostBusy`."""
        if ticket._place != "new":
            return
        try:
            self.ready_engine()
        except ModelNotReady as exc:
            self.record_rejected(ticket.kind, "not_ready" if exc.state == "loading" else "error")
            raise
        while self._waiting and self._waiting[0].cancelled.is_set():
            self._waiting.popleft()._place = "done"
        if self._held < self.max_concurrent and not self._waiting:
            self._held += 1
            ticket._place = "slot"
        elif self._queued() < self.max_queued:
            self._waiting.append(ticket)
            ticket._place = "queued"
        else:
            self._stats.rejected_busy += 1
            self.record_rejected(ticket.kind, "busy")
            raise HostBusy(
                f"{self._held} generations are running and {self._queued()} are waiting; "
                "try again shortly"
            )
        ticket._admitted_at = time.monotonic()
        metrics.set_queue(self._queued(), self._held)

    def _free(self, ticket: Ticket) -> None:
        """Give back what ``ticket`` holds; a freed slot goes to the next live waiter."""
        place, ticket._place = ticket._place, "done"
        if place == "queued":
            try:
                self._waiting.remove(ticket)
            except ValueError:
                pass
        elif place == "slot":
            self._held -= 1
            while self._waiting:
                nxt = self._waiting.popleft()
                if nxt.cancelled.is_set():
                    nxt._place = "done"
                    if nxt._waiter is not None:
                        _resolve(nxt._waiter)
                    continue
                nxt._place = "slot"
                self._held += 1
                if nxt._waiter is not None:
                    _resolve(nxt._waiter)
                break
        metrics.set_queue(self._queued(), self._held)

    async def _wait_for_slot(self, ticket: Ticket) -> None:
        """Wait in the queue until ``ticket`` holds a slot or is cancelled."""
        if ticket._place != "queued":
            return
        ticket._waiter = asyncio.get_running_loop().create_future()
        if ticket.cancelled.is_set():
            ticket._waiter.set_result(None)
        try:
            await asyncio.wait_for(asyncio.shield(ticket._waiter), self.queue_timeout or None)
        except asyncio.TimeoutError:  # not the builtin before Python 3.11
            if ticket._place == "slot":  # handed a slot just as time ran out: use it
                return
            self._free(ticket)
            ticket.cancel()
            self._stats.queue_timeouts += 1
            self.record_rejected(ticket.kind, "queue_timeout")
            raise QueueTimeout(
                f"the request waited {self.queue_timeout:g} s for a generation slot; "
                "try again shortly"
            ) from None
        except asyncio.CancelledError:
            ticket.cancel()
            if ticket._place in ("queued", "slot"):
                self._free(ticket)
            raise

    # -- running ----------------------------------------------------------

    async def run(
        self,
        request: GenerationRequest,
        ticket: Ticket,
        on_delta: Callable[[int, str], None] | None = None,
    ) -> Timed:
        """Run one generation in the worker pool. ``on_delta`` is called on the
        event loop's thread. Cancelling the awaiting task cancels the generation."""
        self.admit(ticket)
        engine = self.ready_engine()
        loop = asyncio.get_running_loop()
        # Admitted (t0), then the prompt was prepared, then it waits for a slot (tq).
        tq = time.monotonic()
        t0 = ticket._admitted_at or tq
        first: list[float] = []
        try:
            await self._wait_for_slot(ticket)
            t1 = time.monotonic()
            metrics.observe_queue_wait(ticket.kind, t1 - tq)
            if ticket.cancelled.is_set():
                self._free(ticket)
                self._record(ticket, None, t0, None, "cancelled")
                return Timed(
                    GenerationResult([], 0),
                    {
                        "prepare_ms": _ms(tq - t0),
                        "queue_ms": _ms(t1 - tq),
                        "total_ms": _ms(t1 - t0),
                    },
                )

            def deliver(index: int, text: str) -> None:
                if not first:
                    first.append(time.monotonic())
                if on_delta is not None:
                    loop.call_soon_threadsafe(on_delta, index, text)

            self._active += 1
            self._running.add(ticket)
            work = loop.run_in_executor(
                self._pool, engine.generate, request, ticket.cancelled, deliver
            )

            def finished(fut: asyncio.Future[GenerationResult]) -> None:
                # The thread has returned: only now is its slot free.
                if not fut.cancelled():
                    fut.exception()  # retrieved, also when nobody awaits it any more
                self._active -= 1
                self._running.discard(ticket)
                self._free(ticket)

            work.add_done_callback(finished)
            try:
                result = await asyncio.shield(work)
            except asyncio.CancelledError:
                ticket.cancel()  # the engine stops within one decode step
                self._record(ticket, None, t0, None, "cancelled")
                raise
            except Exception as exc:
                self._stats.failed += 1
                self._record(ticket, None, t0, None, "failed")
                if isinstance(exc, EngineError):  # says what happened and its status
                    raise
                log.error(
                    "jupyter-codegen: %s generation failed: %s: %s",
                    ticket.kind,
                    type(exc).__name__,
                    exc,
                    exc_info=exc,
                )
                raise GenerationFailed(f"{type(exc).__name__}: {exc}") from exc
            t2 = time.monotonic()
        finally:
            self.release(ticket)
        tokens = sum(c.tokens for c in result.candidates)
        timings = {
            "prepare_ms": _ms(tq - t0),
            "queue_ms": _ms(t1 - tq),
            "generate_ms": _ms(t2 - t1),
            "total_ms": _ms(t2 - t0),
            "prompt_tokens": float(result.prompt_tokens),
            "cached_tokens": float(result.cached_tokens),
            "reuse": round(result.cached_tokens / max(1, result.prompt_tokens), 3),
            "generated_tokens": float(tokens),
            "drafted_tokens": float(result.drafted_tokens),
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
    ) -> AsyncGenerator[tuple[int, str] | Timed, None]:
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

        self.admit(ticket)  # now, so that a full queue is an error before any event
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

    def record_rejected(self, kind: str, outcome: str) -> None:
        """Count a request turned away before it ran (busy, invalid, not ready...)."""
        metrics.observe_request(kind, outcome)

    def record_failure(self, kind: str) -> None:
        """Count a request that failed on the server outside the engine."""
        self._stats.failed += 1
        metrics.observe_request(kind, "failed")

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
        elif outcome == "ok":
            self._stats.completed += 1
        total = time.monotonic() - t0
        metrics.observe_generation(ticket.kind, outcome, total, result, timings)
        self._stats.recent.append(
            {
                "request_id": ticket.request_id,
                "kind": ticket.kind,
                "outcome": outcome,
                "generated_tokens": sum(c.tokens for c in result.candidates) if result else 0,
                "total_ms": _ms(total),
                **{k: timings[k] for k in ("first_token_ms", "reuse") if timings and k in timings},
            }
        )

    def stats(self) -> dict[str, Any]:
        return {
            "active": self._active,
            "queued": self._queued(),
            "completed": self._stats.completed,
            "cancelled": self._stats.cancelled,
            "failed": self._stats.failed,
            "rejected_busy": self._stats.rejected_busy,
            "queue_timeouts": self._stats.queue_timeouts,
            "prompt_tokens": self._stats.prompt_tokens,
            "cached_tokens": self._stats.cached_tokens,
            # Of all prompt tokens so far, the share whose computation was reused.
            "reuse": round(self._stats.cached_tokens / max(1, self._stats.prompt_tokens), 3),
            "recent": list(self._stats.recent),
        }

    def shutdown(self) -> None:
        """Cancel everything and wait for the worker threads, which stop within
        one decode step (a thread left running at exit can abort the process)."""
        for ticket in [*self._tickets.values(), *self._running, *self._waiting]:
            ticket.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


_heap_frozen = False


def _freeze_heap() -> None:
    """Once per process, after the first model loads: move what the process
    holds (torch, transformers, the model, the server: about 500,000 objects)
    out of the cyclic garbage collector's reach. They live as long as the
    server, and each full collection over them held the GIL for 0.3-0.5 s on a
    2-core CPU, stalling the event loop (``benchmarks/stall.py``). The garbage
    that loading left is collected first (one such pause, while loading).
    Frozen objects are still freed when their last reference goes; only a
    reference cycle among them would stay, and an engine makes none (a test
    checks)."""
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
