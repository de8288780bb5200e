"""Chats: explanations, generated code, fixes and edits, run on the host;
their prompts and replies are :mod:`jupyter_codegen.chat`'s."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from jupyter_codegen.api.schemas import (
    EditPrefetchRequest,
    EditReply,
    EditRequest,
    ExplainReply,
    ExplainRequest,
    FixReply,
    FixRequest,
    GenerateReply,
    GenerateRequest,
    PrefetchReply,
)
from jupyter_codegen.chat.edit import Selected, read_edit
from jupyter_codegen.chat.fix import Diagnosis, read_fix
from jupyter_codegen.chat.messages import extract_code
from jupyter_codegen.chat.pipeline import (
    edit_generation,
    explain_generation,
    fix_generation,
    generate_generation,
)
from jupyter_codegen.completion.postprocess import ParseGate
from jupyter_codegen.engine.base import GenerationRequest
from jupyter_codegen.service.core import Events, ServiceCore
from jupyter_codegen.service.host import Ticket, Timed


class Chats(ServiceCore):
    """Explain, generate, fix, edit."""

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

    def prepare_explain_prefetch(self, req: ExplainRequest) -> GenerationRequest:
        """The computation an explanation's prefetch runs: the prompt
        :meth:`explain` would send for ``req``, with nothing generated."""
        return self._prompt_only(self.prepare_explain(req))

    async def prefetch_explain(self, req: ExplainRequest, ticket: Ticket | None) -> PrefetchReply:
        """Warm the prompt cache for an explanation of ``req``'s code, so that
        Explain Code's first words come without the prompt's computation
        (:meth:`~ServiceCore._prefetch`)."""
        return await self._prefetch(ticket, self.prepare_explain_prefetch, req)

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

    def prepare_fix(self, req: FixRequest) -> tuple[GenerationRequest, Diagnosis]:
        """The chat that :meth:`fix` runs and what the error output said."""
        self._check_size(
            req.cell,
            req.namespace,
            req.error.evalue,
            *req.error.traceback,
            *(c.source for c in (*req.cells_before, *req.cells_after)),
        )
        return fix_generation(req, self._chat_settings(), self._chat_tokens(req.max_tokens))

    def prepare_fix_prefetch(self, req: FixRequest) -> GenerationRequest:
        """The computation a fix prefetch runs: the prompt :meth:`fix` would
        send for ``req``, with nothing generated."""
        gen, _ = self.prepare_fix(req)
        return self._prompt_only(gen)

    async def prefetch_fix(self, req: FixRequest, ticket: Ticket | None) -> PrefetchReply:
        """Warm the prompt cache for a fix of ``req``'s error, so that the
        Fix button's first words come without the prompt's computation
        (:meth:`~ServiceCore._prefetch`)."""
        return await self._prefetch(ticket, self.prepare_fix_prefetch, req)

    def _fix_reply(self, req: FixRequest, timed: Timed) -> FixReply:
        text, reason = self._first(timed)
        explanation, edits = read_fix(text, req)
        return FixReply(
            edits=edits,
            explanation=explanation,
            model=self.host.name,
            finish_reason=reason,
            timings=timed.timings,
        )

    async def fix(self, req: FixRequest, ticket: Ticket) -> FixReply:
        gen, _ = await self._prepared(ticket, self.prepare_fix, req)
        timed = await self.host.run(gen, ticket)
        return await self._off_loop(self._fix_reply, req, timed)

    async def stream_fix(self, req: FixRequest, ticket: Ticket) -> Events:
        """Validate and prepare, then stream ``("fix", {"explanation", "edits"})``
        with the proposal so far, then ``("done", <FixReply>)``."""
        gen, _ = await self._prepared(ticket, self.prepare_fix, req)

        def proposal(text: str) -> dict[str, Any]:
            explanation, edits = read_fix(text, req, finished=False)
            return {"explanation": explanation, "edits": [e.model_dump() for e in edits]}

        return self._proposal_events(
            gen, ticket, "fix", proposal, lambda timed: self._fix_reply(req, timed)
        )

    def prepare_edit(self, req: EditRequest) -> tuple[GenerationRequest, Selected]:
        """The chat that :meth:`edit` runs, and the selection it rewrites."""
        self._check_size(
            req.cell,
            req.instruction,
            req.namespace,
            *(c.source for c in (*req.cells_before, *req.cells_after)),
        )
        return edit_generation(req, self._chat_settings(), self._chat_tokens(req.max_tokens))

    def prepare_edit_prefetch(self, req: EditPrefetchRequest) -> GenerationRequest:
        """The computation an edit prefetch runs: the prompt :meth:`edit`
        would send for ``req`` with the instruction typed so far, with nothing
        generated. The instruction comes last in that prompt, so all before
        it is what the edit reuses."""
        gen, _ = self.prepare_edit(req)
        return self._prompt_only(gen)

    async def prefetch_edit(self, req: EditPrefetchRequest, ticket: Ticket | None) -> PrefetchReply:
        """Warm the prompt cache for an edit while its instruction is typed,
        so that the edit's first words come without the prompt's computation
        (:meth:`~ServiceCore._prefetch`)."""
        return await self._prefetch(ticket, self.prepare_edit_prefetch, req)

    def _edit_reply(self, part: Selected, timed: Timed) -> EditReply:
        text, reason = self._first(timed)
        new = read_edit(text, part)
        parses = bool(new.strip()) and ParseGate(part.before, part.after).keeps(new)
        return EditReply(
            text=new,
            parses=parses,
            model=self.host.name,
            finish_reason=reason,
            timings=timed.timings,
        )

    async def edit(self, req: EditRequest, ticket: Ticket) -> EditReply:
        gen, part = await self._prepared(ticket, self.prepare_edit, req)
        timed = await self.host.run(gen, ticket)
        return await self._off_loop(self._edit_reply, part, timed)

    async def stream_edit(self, req: EditRequest, ticket: Ticket) -> Events:
        """Validate and prepare, then stream ``("edit", {"text"})`` with the new
        text so far, then ``("done", <EditReply>)``."""
        gen, part = await self._prepared(ticket, self.prepare_edit, req)
        return self._proposal_events(
            gen,
            ticket,
            "edit",
            lambda text: {"text": read_edit(text, part)},
            lambda timed: self._edit_reply(part, timed),
        )

    async def _proposal_events(
        self,
        gen: GenerationRequest,
        ticket: Ticket,
        event: str,
        so_far: Callable[[str], dict[str, Any]],
        finish: Callable[[Timed], BaseModel],
    ) -> Events:
        """Stream what the reply proposes so far (read from all its text) on
        each new piece, then the finished reply (built off the event loop)."""
        text: list[str] = []
        async with contextlib.aclosing(self.host.stream(gen, ticket)) as items:
            async for item in items:
                if isinstance(item, Timed):
                    reply = await self._off_loop(finish, item)
                    yield "done", reply.model_dump()
                    return
                text.append(item[1])
                yield event, so_far("".join(text))
