"""The service: each request's pipeline run on the model host. Handlers (and
the kernel's in-process client) call one method here per request.

A request is admitted first (:meth:`CodegenService.ticket`: a generation
slot or a queue place, or 429/503 at once), then its cheap checks run on the
event loop, its pipeline's preparation (parsing, selecting, tokenizing) runs
in the service's own threads, the engine generates in the host's, and the
reply is built off the loop again. The event loop never waits on any of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic import BaseModel

from jupyter_codegen.api.schemas import (
    CompleteReply,
    CompleteRequest,
    ExplainReply,
    ExplainRequest,
    GenerateReply,
    GenerateRequest,
)
from jupyter_codegen.chat.messages import extract_code
from jupyter_codegen.chat.pipeline import ChatSettings, explain_generation, generate_generation
from jupyter_codegen.completion import pipeline
from jupyter_codegen.completion.pipeline import (
    CompletionOptions,
    PreparedCompletion,
    PromptSettings,
)
from jupyter_codegen.completion.typethrough import SuggestionMemory
from jupyter_codegen.context.budget import PromptBudget
from jupyter_codegen.engine.base import FinishReason, GenerationRequest
from jupyter_codegen.errors import RequestError
from jupyter_codegen.families import TEMPLATES_BY_FAMILY, FimTemplate
from jupyter_codegen.service.host import ModelHost, Ticket, Timed
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.status import status_report

T = TypeVar("T")
Events = AsyncIterator[tuple[str, dict[str, Any]]]


class CodegenService:
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
        self._template: FimTemplate | None = None
        self._budget: PromptBudget | None = None
        self._prep = ThreadPoolExecutor(2, thread_name_prefix="codegen-prep")
        #: Each document's last suggestion, the draft for its next request.
        self.suggestions = SuggestionMemory()

    # -- what the engine declares ---------------------------------------------

    def template(self) -> FimTemplate:
        """The FIM template of the engine's model family (the engine says which)."""
        if self._template is None:
            self._template = TEMPLATES_BY_FAMILY[self.host.ready_engine().info().family]
        return self._template

    def prompt_budget(self) -> PromptBudget:
        """The configured budget, else the one the engine declares (decided once)."""
        if self._budget is None:
            declared = self.host.ready_engine().info()
            total = self.limits.context_tokens or declared.context_tokens
            suffix = self.limits.suffix_tokens or declared.suffix_tokens
            self._budget = PromptBudget(total=total, suffix=min(suffix, total // 2))
        return self._budget

    def context_budget(self) -> int:
        return self.prompt_budget().total

    # -- requests ---------------------------------------------------------------

    def ticket(self, request_id: str | None, kind: str) -> Ticket:
        """Register a request and reserve its generation slot or queue place now,
        before any work on its prompt; raises ModelNotReady or HostBusy."""
        ticket = self.host.new_ticket(request_id or f"{kind}-{uuid.uuid4().hex[:12]}", kind)
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

    # -- completion -------------------------------------------------------------

    def prepare(
        self, req: CompleteRequest, options: CompletionOptions | None = None
    ) -> PreparedCompletion:
        """The request's prompt and generation, as :meth:`complete` runs them
        (the model must be ready); for benchmarks, evaluations and tests too."""
        limits = self.limits
        self._check_size(
            req.prefix,
            req.suffix,
            req.namespace,
            *(c.source for c in (*req.cells_before, *req.cells_after)),
        )
        engine = self.host.ready_engine()
        settings = PromptSettings(
            self.template(), self.prompt_budget(), engine.count_tokens, limits.generation_timeout
        )
        return pipeline.prepare(
            req,
            settings,
            max_tokens=self._tokens(
                req.max_tokens, limits.completion_default_tokens, limits.completion_max_tokens
            ),
            candidates=min(req.n, limits.max_candidates),
            memory=self.suggestions,
            options=options or self.options,
        )

    def _completion_reply(self, timed: Timed, prepared: PreparedCompletion) -> CompleteReply:
        completions = pipeline.finish(prepared, timed.result, self.suggestions)
        return CompleteReply(completions=completions, model=self.host.name, timings=timed.timings)

    async def complete(
        self, req: CompleteRequest, ticket: Ticket, options: CompletionOptions | None = None
    ) -> CompleteReply:
        prepared = await self._prepared(ticket, self.prepare, req, options)
        timed = await self.host.run(prepared.generation, ticket)
        return await self._off_loop(self._completion_reply, timed, prepared)

    async def stream_complete(
        self, req: CompleteRequest, ticket: Ticket, options: CompletionOptions | None = None
    ) -> Events:
        """Validate and prepare, then stream events: ``("completion", {"index",
        "text"})`` with each candidate's cleaned text so far, then ``("done",
        <CompleteReply>)``. Errors in the request are raised here, before any event."""
        prepared = await self._prepared(ticket, self.prepare, req, options)
        return self._completion_events(prepared, ticket)

    async def _completion_events(self, prepared: PreparedCompletion, ticket: Ticket) -> Events:
        shown = pipeline.streamed_text(prepared)
        raw: dict[int, str] = {}
        async with contextlib.aclosing(self.host.stream(prepared.generation, ticket)) as items:
            async for item in items:
                if isinstance(item, Timed):
                    reply = await self._off_loop(self._completion_reply, item, prepared)
                    yield "done", reply.model_dump()
                    return
                index, delta = item
                raw[index] = raw.get(index, "") + delta
                yield "completion", {"index": index, "text": shown(raw[index])}

    # -- chat: explanations and generated code ----------------------------------

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

    def prepare_explain(self, req: ExplainRequest) -> GenerationRequest:
        """The chat that :meth:`explain` runs (the model must be ready)."""
        self._check_size(
            req.code,
            req.question or "",
            req.namespace,
            *(t.content for t in req.history),
            *(c.source for c in req.cells_before),
        )
        return explain_generation(req, self._chat_settings(), self._chat_tokens(req.max_tokens))

    def prepare_generate(self, req: GenerateRequest) -> GenerationRequest:
        """The chat that :meth:`generate` runs (the model must be ready)."""
        self._check_size(req.instruction, req.namespace, *(c.source for c in req.cells_before))
        return generate_generation(req, self._chat_settings(), self._chat_tokens(req.max_tokens))

    async def _chat_events(
        self,
        gen: GenerationRequest,
        ticket: Ticket,
        event: str,
        finish: Callable[[Timed], BaseModel],
    ) -> Events:
        async with contextlib.aclosing(self.host.stream(gen, ticket)) as items:
            async for item in items:
                if isinstance(item, Timed):
                    yield "done", finish(item).model_dump()
                    return
                yield event, {"delta": item[1]}

    @staticmethod
    def _first(timed: Timed) -> tuple[str, FinishReason]:
        cands = timed.result.candidates
        return (cands[0].text.strip(), cands[0].finish_reason) if cands else ("", "cancelled")

    def _explain_reply(self, timed: Timed) -> ExplainReply:
        text, reason = self._first(timed)
        return ExplainReply(
            explanation=text, model=self.host.name, finish_reason=reason, timings=timed.timings
        )

    async def explain(self, req: ExplainRequest, ticket: Ticket) -> ExplainReply:
        gen = await self._prepared(ticket, self.prepare_explain, req)
        return self._explain_reply(await self.host.run(gen, ticket))

    async def stream_explain(self, req: ExplainRequest, ticket: Ticket) -> Events:
        """Validate and prepare, then stream events: ``("explanation", {"delta"})``
        as text arrives, then ``("done", <ExplainReply>)``."""
        gen = await self._prepared(ticket, self.prepare_explain, req)
        return self._chat_events(gen, ticket, "explanation", self._explain_reply)

    def _generate_reply(self, timed: Timed) -> GenerateReply:
        text, reason = self._first(timed)
        return GenerateReply(
            code=extract_code(text),
            text=text,
            model=self.host.name,
            finish_reason=reason,
            timings=timed.timings,
        )

    async def generate(self, req: GenerateRequest, ticket: Ticket) -> GenerateReply:
        gen = await self._prepared(ticket, self.prepare_generate, req)
        return self._generate_reply(await self.host.run(gen, ticket))

    async def stream_generate(self, req: GenerateRequest, ticket: Ticket) -> Events:
        """Validate and prepare, then stream ``("text", {"delta"})``, then ``("done",
        <GenerateReply>)``."""
        gen = await self._prepared(ticket, self.prepare_generate, req)
        return self._chat_events(gen, ticket, "text", self._generate_reply)
