"""Completions: each request's pipeline (:mod:`jupyter_codegen.completion.pipeline`)
run on the host."""

from __future__ import annotations

import contextlib

from jupyter_codegen.api.schemas import CompleteReply, CompleteRequest, PrefetchReply
from jupyter_codegen.completion import pipeline
from jupyter_codegen.completion.pipeline import (
    CompletionOptions,
    PreparedCompletion,
    PromptSettings,
)
from jupyter_codegen.engine.base import GenerationRequest
from jupyter_codegen.service.core import Events, ServiceCore
from jupyter_codegen.service.host import Ticket, Timed


class Completions(ServiceCore):
    """Ghost-text completions."""

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
            self.template(), self.prompt_budget(), engine.count_tokens, limits.completion_deadline
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

    # -- prefetch ---------------------------------------------------------------

    def prepare_prefetch(self, req: CompleteRequest) -> GenerationRequest:
        """The computation a prefetch runs: the prompt that a completion at
        the cursor would send, up to the cursor (what typing there keeps), with
        nothing generated."""
        prepared = self.prepare(req)
        return self._prompt_only(
            prepared.generation,
            segments=pipeline.head_segments(prepared.prompt),
            stop_check=None,
            expected="",
            num_candidates=1,
        )

    async def prefetch(self, req: CompleteRequest, ticket: Ticket | None) -> PrefetchReply:
        """Warm the prompt cache for completions at the cursor of ``req``
        (:meth:`~ServiceCore._prefetch`)."""
        return await self._prefetch(ticket, self.prepare_prefetch, req)
