"""What every request of the service shares: the model host, the limits,
admission by ticket, the engine's declared family and budget, and running
preparation off the event loop. The request families build on it
(:mod:`.completions`, :mod:`.chats`)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from jupyter_codegen.api.schemas import PrefetchReply
from jupyter_codegen.chat.pipeline import (
    ChatSettings,
)
from jupyter_codegen.completion.pipeline import (
    CompletionOptions,
)
from jupyter_codegen.completion.typethrough import SuggestionMemory
from jupyter_codegen.context.budget import PromptBudget
from jupyter_codegen.engine.base import FinishReason, GenerationRequest
from jupyter_codegen.errors import HostBusy, RequestError
from jupyter_codegen.families import TEMPLATES_BY_FAMILY, FimTemplate
from jupyter_codegen.service.host import ModelHost, Ticket, Timed
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.status import status_report

T = TypeVar("T")
Events = AsyncIterator[tuple[str, dict[str, Any]]]


class ServiceCore:
    """The host, the limits and what the request families share."""

    def __init__(
        self,
        host: ModelHost,
        limits: ServiceLimits,
        options: CompletionOptions | None = None,
    ):
        self.host = host
        self.limits = limits
        #: How completions are prompted and stopped, unless a call says otherwise.
        self.options = options or CompletionOptions()
        self._prep = ThreadPoolExecutor(2, thread_name_prefix="codegen-prep")
        #: Each document's last suggestion, the draft for its next request.
        self.suggestions = SuggestionMemory()

    def template(self) -> FimTemplate:
        """The FIM template of the engine's model family (the engine says which)."""
        return TEMPLATES_BY_FAMILY[self.host.ready_engine().info().family]

    def prompt_budget(self) -> PromptBudget:
        """The configured budget, else the one the engine declares now (a remote
        engine learns its server's context once the server answers)."""
        declared = self.host.ready_engine().info()
        total = self.limits.context_tokens or declared.context_tokens
        suffix = self.limits.suffix_tokens or declared.suffix_tokens
        return PromptBudget(total=total, suffix=min(suffix, total // 2))

    def context_budget(self) -> int:
        return self.prompt_budget().total

    def ticket(self, request_id: str | None, kind: str, background: bool = False) -> Ticket:
        """Register a request and reserve its generation slot or queue place now,
        before any work on its prompt; raises ModelNotReady or HostBusy (for
        ``background`` work, whenever the model is not idle)."""
        ticket = self.host.new_ticket(
            request_id or f"{kind}-{uuid.uuid4().hex[:12]}", kind, background
        )
        try:
            self.host.admit(ticket)
        except Exception:
            self.host.release(ticket)
            raise
        return ticket

    def release(self, ticket: Ticket) -> None:
        """Forget a ticket whose request ended or never ran."""
        self.host.release(ticket)

    def cancel(self, request_id: str) -> bool:
        """Cancel the request with this id; False if none is in flight."""
        return self.host.cancel(request_id)

    def record_rejected(self, kind: str, outcome: str) -> None:
        self.host.record_rejected(kind, outcome)

    def record_failure(self, kind: str) -> None:
        self.host.record_failure(kind)

    def status(self) -> dict[str, Any]:
        return status_report(self.host, self.limits)

    def shutdown(self) -> None:
        """Stop the preparation threads and the host (cancels what runs)."""
        self._prep.shutdown(wait=False, cancel_futures=True)
        self.host.shutdown()

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound preparation (parsing, tokenizing, the parse gate) in the
        service's own threads, so the server's event loop never waits on it."""
        return await asyncio.get_running_loop().run_in_executor(self._prep, fn, *args)

    async def _prepared(self, ticket: Ticket, prepare: Callable[..., T], *args: Any) -> T:
        """Check what is cheap to check (sizes), then ``prepare(*args)`` off the
        loop, for a request holding ``ticket``; if either fails or is
        cancelled, the ticket (and its slot) is given back."""
        try:
            return await self._off_loop(prepare, *args)
        except BaseException:
            self.release(ticket)
            raise

    async def _prefetch(
        self, ticket: Ticket | None, prepare: Callable[..., GenerationRequest], *args: Any
    ) -> PrefetchReply:
        """Warm the prompt cache with the prompt of ``prepare(*args)`` (a
        prefill-only generation) at low priority: ``ticket`` is background
        work, which any other request cancels within one layer; what it
        computed by then stays cached. Without a ticket (the model was busy)
        nothing is done."""
        if ticket is None:
            return PrefetchReply(prefetched=False, model=self.host.name, timings={})
        gen = await self._prepared(ticket, prepare, *args)
        timed = await self.host.run(gen, ticket)
        # Nothing computed: cancelled, or an engine with nowhere to keep it.
        computed = timed.timings.get("prompt_tokens", 0) > 0
        return PrefetchReply(
            prefetched=computed and not ticket.cancelled.is_set(),
            model=self.host.name,
            timings=timed.timings,
        )

    def _prompt_only(self, gen: GenerationRequest, **changes: Any) -> GenerationRequest:
        """``gen`` as a prefetch runs it: its prompt (which ``changes`` may
        cut), nothing generated. It is background work, which any request
        stops: no deadline of its own."""
        return dataclasses.replace(
            gen, max_new_tokens=0, timeout_s=self.limits.generation_timeout, **changes
        )

    def background_ticket(self, request_id: str | None, kind: str) -> Ticket | None:
        """A ticket for background work, or None while the model is busy."""
        try:
            return self.ticket(request_id, kind, background=True)
        except HostBusy:
            return None

    def _check_size(self, *texts: str) -> None:
        total = sum(len(t) for t in texts)
        if total > self.limits.max_prompt_chars:
            raise RequestError(
                f"The request's text is {total:,} characters; at most "
                f"{self.limits.max_prompt_chars:,} are accepted",
                status=413,
            )

    @staticmethod
    def _tokens(asked: int | None, default: int, cap: int) -> int:
        """The tokens a request asked for, clamped to the server's cap (in /status limits)."""
        return min(default if asked is None else asked, cap)

    def _chat_settings(self) -> ChatSettings:
        engine = self.host.ready_engine()
        return ChatSettings(
            self.prompt_budget(),
            engine.count_tokens,
            self.template().stop_tokens,
            self.limits.generation_timeout,
        )

    def _chat_tokens(self, asked: int | None) -> int:
        limits = self.limits
        return self._tokens(asked, limits.explain_default_tokens, limits.explain_max_tokens)

    @staticmethod
    def _first(timed: Timed) -> tuple[str, FinishReason]:
        cands = timed.result.candidates
        return (cands[0].text.strip(), cands[0].finish_reason) if cands else ("", "cancelled")
