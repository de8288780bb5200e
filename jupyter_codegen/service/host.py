"""The model host: loads one engine in the background and runs generations
off the event loop with bounded concurrency, timing and cancellation.

It wraps an :class:`~jupyter_codegen.engine.base.Engine` rather than editing
it: any engine gets the same loading states, queue, limits and cancellation
(the slots and queue: :mod:`.tickets`; what is counted: :mod:`.stats`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from jupyter_codegen.engine.base import Engine, GenerationRequest, GenerationResult
from jupyter_codegen.errors import (
    EngineError,
    GenerationFailed,
    ModelNotReady,
    State,
)
from jupyter_codegen.service import metrics
from jupyter_codegen.service.stats import RequestStats, ms
from jupyter_codegen.service.tickets import Admission, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timed:
    """A finished generation and where its time went."""

    result: GenerationResult
    timings: dict[str, float]


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
        self.state: State = "loading"
        self.error: str | None = None
        self.detail: str | None = "waiting to start"
        #: While loading: the stage ("converting", "loading") and how far it is (0..1).
        self.stage: str | None = None
        self.progress: float | None = None
        self.load_seconds: float | None = None
        self.engine: Engine | None = None
        self.stats = RequestStats()
        self.admission = Admission(self.stats, max_concurrent, max_queued, queue_timeout)
        self._pool = ThreadPoolExecutor(
            self.admission.max_concurrent, thread_name_prefix="codegen-gen"
        )
        self._active = 0  # worker threads running a generation
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

    # -- tickets and admission -------------------------------------------------

    @property
    def max_concurrent(self) -> int:
        return self.admission.max_concurrent

    @property
    def max_queued(self) -> int:
        return self.admission.max_queued

    @property
    def queue_timeout(self) -> float:
        return self.admission.queue_timeout

    def new_ticket(self, request_id: str, kind: str, background: bool = False) -> Ticket:
        """Register a request; one with the id of a request still running supersedes
        it. ``background`` work runs only on an idle host and yields to any other."""
        return self.admission.new_ticket(request_id, kind, background)

    def cancel(self, request_id: str) -> bool:
        return self.admission.cancel(request_id)

    def release(self, ticket: Ticket) -> None:
        """Forget a ticket; a place it never used is given back."""
        self.admission.release(ticket)

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
        self.admission.admit(ticket)

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
            await self.admission.wait_for_slot(ticket)
            t1 = time.monotonic()
            metrics.observe_queue_wait(ticket.kind, t1 - tq)
            if ticket.cancelled.is_set():
                self.admission.free(ticket)
                self.stats.finished(ticket, None, t0, None, "cancelled")
                return Timed(
                    GenerationResult([], 0),
                    {
                        "prepare_ms": ms(tq - t0),
                        "queue_ms": ms(t1 - tq),
                        "total_ms": ms(t1 - t0),
                    },
                )

            def deliver(index: int, text: str) -> None:
                if not first:
                    first.append(time.monotonic())
                if on_delta is not None:
                    loop.call_soon_threadsafe(on_delta, index, text)

            self._active += 1
            self.admission.running.add(ticket)
            work = loop.run_in_executor(
                self._pool, engine.generate, request, ticket.cancelled, deliver
            )

            def finished(fut: asyncio.Future[GenerationResult]) -> None:
                # The thread has returned: only now is its slot free.
                if not fut.cancelled():
                    fut.exception()  # retrieved, also when nobody awaits it any more
                self._active -= 1
                self.admission.running.discard(ticket)
                self.admission.free(ticket)

            work.add_done_callback(finished)
            try:
                result = await asyncio.shield(work)
            except asyncio.CancelledError:
                ticket.cancel()  # the engine stops within one decode step
                self.stats.finished(ticket, None, t0, None, "cancelled")
                raise
            except Exception as exc:
                self.stats.finished(ticket, None, t0, None, "failed")
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
            "prepare_ms": ms(tq - t0),
            "queue_ms": ms(t1 - tq),
            "generate_ms": ms(t2 - t1),
            "total_ms": ms(t2 - t0),
            "prompt_tokens": float(result.prompt_tokens),
            "cached_tokens": float(result.cached_tokens),
            "reuse": round(result.cached_tokens / max(1, result.prompt_tokens), 3),
            "generated_tokens": float(tokens),
            "drafted_tokens": float(result.drafted_tokens),
        }
        if first:
            timings["first_token_ms"] = ms(first[0] - t1)
        if t2 > t1 and tokens:
            timings["tokens_per_s"] = round(tokens / (t2 - t1), 2)
        reason = "cancelled" if ticket.cancelled.is_set() else "ok"
        self.stats.finished(ticket, result, t0, timings, reason)
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
        self.stats.rejected(kind, outcome)

    def record_failure(self, kind: str) -> None:
        """Count a request that failed on the server outside the engine."""
        self.stats.failure(kind)

    def report(self) -> dict[str, Any]:
        """The requests' counts and latest ones, for ``/status``."""
        return self.stats.report(self._active, self.admission.queued())

    def shutdown(self) -> None:
        """Cancel everything and wait for the worker threads, which stop within
        one decode step (a thread left running at exit can abort the process)."""
        self.admission.cancel_all()
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
