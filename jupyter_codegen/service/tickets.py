"""Admission: each request's ticket, the generation slots and the queue.

Admission is synchronous: :meth:`Admission.admit` reserves a generation slot
or a queue place in one step on the event loop, or raises, so a burst of
requests never overfills the queue. A slot stays held until the worker thread
has returned, so the concurrency bound is honest even for cancelled work.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from jupyter_codegen.errors import HostBusy, QueueTimeout
from jupyter_codegen.service import metrics
from jupyter_codegen.service.stats import RequestStats

#: Where a ticket stands: not yet admitted, waiting in the queue, holding a
#: generation slot, or finished with both.
Place = Literal["new", "queued", "slot", "done"]


@dataclass(eq=False)
class Ticket:
    """One request's handle: cancel it from the event loop or any thread."""

    request_id: str
    kind: str
    #: Work no one waits for (a prefetch): it runs only on an idle host, and
    #: any other request that finds no free slot cancels it.
    background: bool = False
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


class Admission:
    """The tickets in flight, the slots they hold and the queue before them."""

    def __init__(
        self, stats: RequestStats, max_concurrent: int, max_queued: int, queue_timeout: float
    ):
        self.stats = stats
        self.max_concurrent = max(1, max_concurrent)
        self.max_queued = max(0, max_queued)
        #: Seconds a request may wait for a slot before it gets 429 (0: no limit).
        self.queue_timeout = queue_timeout
        #: The tickets that hold a slot (admitted or running, until the thread returns).
        self.holders: set[Ticket] = set()
        self.waiting: collections.deque[Ticket] = collections.deque()
        self.running: set[Ticket] = set()  # tickets whose worker thread has not returned
        self.tickets: dict[str, Ticket] = {}

    def new_ticket(self, request_id: str, kind: str, background: bool = False) -> Ticket:
        """Register a request. A new request with the id of one still running
        supersedes it: the old one is cancelled, so a stale request never keeps
        the model busy."""
        old = self.tickets.get(request_id)
        if old is not None:
            old.cancel()
        ticket = Ticket(request_id, kind, background)
        self.tickets[request_id] = ticket
        return ticket

    def cancel(self, request_id: str) -> bool:
        ticket = self.tickets.get(request_id)
        if ticket is None:
            return False
        ticket.cancel()
        return True

    def release(self, ticket: Ticket) -> None:
        """Forget a ticket (its request ended, or never started). A place it
        reserved but never used is given back; a running generation keeps its
        slot until its thread returns."""
        if self.tickets.get(ticket.request_id) is ticket:
            del self.tickets[ticket.request_id]
        if ticket._place in ("new", "queued"):
            self.free(ticket)
        elif ticket._place == "slot" and ticket not in self.running:
            self.free(ticket)

    def queued(self) -> int:
        return sum(1 for t in self.waiting if not t.cancelled.is_set())

    def admit(self, ticket: Ticket) -> None:
        """Reserve a generation slot or a queue place for ``ticket`` now, in one
        synchronous step, or raise :class:`HostBusy`."""
        if ticket._place != "new":
            return
        while self.waiting and self.waiting[0].cancelled.is_set():
            self.waiting.popleft()._place = "done"
        background = [h for h in self.holders if h.background]
        if ticket.background:
            if self.held or self.waiting:  # only on an idle host
                self.stats.rejected(ticket.kind, "skipped")
                raise HostBusy("the model is busy; background work waits for an idle model")
            self._take_slot(ticket)
        elif self.held < self.max_concurrent and not self.waiting:
            self._stop(background)  # it must not slow a real request down
            self._take_slot(ticket)
        elif self.queued() < self.max_queued + len(background):
            # A background holder stops within one layer and its slot comes
            # back to the queue, so a place is promised even with no queue.
            self._stop(background)
            self.waiting.append(ticket)
            ticket._place = "queued"
        else:
            self.stats.rejected(ticket.kind, "busy")
            raise HostBusy(
                f"{self.held} generations are running and {self.queued()} are waiting; "
                "try again shortly"
            )
        ticket._admitted_at = time.monotonic()
        metrics.set_queue(self.queued(), self.held)

    @property
    def held(self) -> int:
        """How many slots are held."""
        return len(self.holders)

    def _take_slot(self, ticket: Ticket) -> None:
        ticket._place = "slot"
        self.holders.add(ticket)

    @staticmethod
    def _stop(background: list[Ticket]) -> None:
        for holder in background:
            holder.cancel()  # it stops within one layer and gives its slot back

    def free(self, ticket: Ticket) -> None:
        """Give back what ``ticket`` holds; a freed slot goes to the next live waiter."""
        place, ticket._place = ticket._place, "done"
        if place == "queued":
            try:
                self.waiting.remove(ticket)
            except ValueError:
                pass
        elif place == "slot":
            self.holders.discard(ticket)
            while self.waiting:
                nxt = self.waiting.popleft()
                if nxt.cancelled.is_set():
                    nxt._place = "done"
                    if nxt._waiter is not None:
                        _resolve(nxt._waiter)
                    continue
                self._take_slot(nxt)
                if nxt._waiter is not None:
                    _resolve(nxt._waiter)
                break
        metrics.set_queue(self.queued(), self.held)

    async def wait_for_slot(self, ticket: Ticket) -> None:
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
            self.free(ticket)
            ticket.cancel()
            self.stats.rejected(ticket.kind, "queue_timeout")
            raise QueueTimeout(
                f"the request waited {self.queue_timeout:g} s for a generation slot; "
                "try again shortly"
            ) from None
        except asyncio.CancelledError:
            ticket.cancel()
            if ticket._place in ("queued", "slot"):
                self.free(ticket)
            raise

    def cancel_all(self) -> None:
        for ticket in [*self.tickets.values(), *self.running, *self.waiting]:
            ticket.cancel()
