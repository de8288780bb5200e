"""The completion and explanation service: requests in, prompts to the host,
cleaned results out. Handlers stay thin and call one method here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from jupyter_codegen import __version__
from jupyter_codegen.api.schemas import (
    Cell,
    CompleteReply,
    CompleteRequest,
    Completion,
    ExplainReply,
    ExplainRequest,
    GenerateReply,
    GenerateRequest,
)
from jupyter_codegen.chat.messages import (
    build_explain_messages,
    build_generate_messages,
    extract_code,
    recent_turns,
)
from jupyter_codegen.completion.postprocess import (
    Scope,
    clean_completion,
    completion_scope,
    parsing_variant,
    should_stop,
)
from jupyter_codegen.completion.prompt import build_fim_prompt
from jupyter_codegen.completion.typethrough import SuggestionMemory
from jupyter_codegen.context.budget import PromptBudget, keep_head
from jupyter_codegen.context.cells import COMMENT_PREFIX, cell_chunks, nearest_that_fit
from jupyter_codegen.context.select import select_context
from jupyter_codegen.context.syntax import is_python
from jupyter_codegen.engine.base import ChatMessage, FinishReason, GenerationRequest
from jupyter_codegen.errors import RequestError
from jupyter_codegen.families import TEMPLATES_BY_FAMILY, FimTemplate
from jupyter_codegen.service.host import ModelHost, Ticket, Timed
from jupyter_codegen.service.limits import ServiceLimits

T = TypeVar("T")

#: Post-processing (scope, stopping, clean-up, the parse gate) looks at this
#: many characters of the cell on each side of the cursor: whole cells as people
#: write them, and a bounded cost for a pasted megabyte.
POSTPROCESS_WINDOW = 32_000


class CodegenService:
    def __init__(self, host: ModelHost, limits: ServiceLimits):
        self.host = host
        self.limits = limits
        self._template: FimTemplate | None = None
        self._budget: PromptBudget | None = None
        self._prep = ThreadPoolExecutor(2, thread_name_prefix="codegen-prep")
        #: Each document's last suggestion, the draft for its next request.
        self.suggestions = SuggestionMemory()

    # -- shared -----------------------------------------------------------

    def template(self) -> FimTemplate:
        """The FIM template of the engine's model family (the engine says which)."""
        if self._template is None:
            self._template = TEMPLATES_BY_FAMILY[self.host.ready_engine().info().family]
        return self._template

    def context_budget(self) -> int:
        """The prompt budget in tokens: the configured one, or by device (decided
        once: the engine's info also reads GPU memory, which a hot path need not)."""
        return self.prompt_budget().total

    def prompt_budget(self) -> PromptBudget:
        """The configured budget, else the one the engine declares (decided once)."""
        if self._budget is None:
            declared = self.host.ready_engine().info()
            total = self.limits.context_tokens or declared.context_tokens
            suffix = self.limits.suffix_tokens or declared.suffix_tokens
            self._budget = PromptBudget(total=total, suffix=min(suffix, total // 2))
        return self._budget

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound preparation (parsing, tokenizing, the parse gate) in the
        service's own threads, so the server's event loop never waits on it."""
        return await asyncio.get_running_loop().run_in_executor(self._prep, fn, *args)

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

    @staticmethod
    def _tokens(asked: int | None, default: int, cap: int) -> int:
        """The tokens a request asked for, clamped to the server's cap (in /status limits)."""
        return min(default if asked is None else asked, cap)

    def _check_size(self, *texts: str) -> None:
        total = sum(len(t) for t in texts)
        if total > self.limits.max_prompt_chars:
            raise RequestError(
                f"The request's text is {total:,} characters; at most "
                f"{self.limits.max_prompt_chars:,} are accepted",
                status=413,
            )

    def status(self) -> dict[str, Any]:
        host = self.host
        reply: dict[str, Any] = {
            "state": host.state,
            "model": host.name,
            "device": None,
            "dtype": None,
            "family": None,
            "error": host.error,
            "detail": host.detail,
            # While loading: e.g. {"stage": "converting", "progress": 0.4}.
            "stage": host.stage,
            "progress": host.progress,
            "load_seconds": host.load_seconds,
            "version": __version__,
            "limits": {
                "completion_max_tokens": self.limits.completion_max_tokens,
                "explain_max_tokens": self.limits.explain_max_tokens,
                "context_tokens": self.limits.context_tokens or "auto",
                "max_candidates": self.limits.max_candidates,
                "max_concurrent": host.max_concurrent,
                "max_queued": host.max_queued,
                "queue_timeout": host.queue_timeout,
            },
            "memory": _memory(),
            "requests": host.stats(),
        }
        if host.state == "ready" and host.engine is not None:
            info = host.engine.info()
            reply.update(device=info.device, dtype=info.dtype, family=self.template().family)
            reply["parameters"] = info.parameters
            reply["engine"] = info.extra
        return reply

    def shutdown(self) -> None:
        """Stop the preparation threads and the host (cancels what runs)."""
        self._prep.shutdown(wait=False, cancel_futures=True)
        self.host.shutdown()

    # -- completion -------------------------------------------------------

    def _completion_limits(self, req: CompleteRequest) -> tuple[int, int]:
        """Check what is cheap to check, on the event loop: sizes; and clamp the
        new tokens and candidates to the server's limits."""
        limits = self.limits
        max_tokens = self._tokens(
            req.max_tokens, limits.completion_default_tokens, limits.completion_max_tokens
        )
        num = min(req.n, limits.max_candidates)
        self._check_size(
            req.prefix,
            req.suffix,
            req.namespace,
            *(c.source for c in (*req.cells_before, *req.cells_after)),
        )
        self.host.ready_engine()
        return max_tokens, num

    def _prepare_completion(self, req: CompleteRequest, max_tokens: int, num: int) -> _Completion:
        """Parse, select context, tokenize: in a preparation thread."""
        limits = self.limits
        engine = self.host.ready_engine()
        template = self.template()
        count = engine.count_tokens
        # The cell around the cursor, bounded: what post-processing looks at, and
        # where the names that choose the context come from (a pasted megabyte
        # would otherwise be parsed whole, holding the GIL for half a second).
        prefix, suffix = _window(req.prefix, req.suffix)
        prompt = build_fim_prompt(
            template,
            req.prefix,
            req.suffix,
            lambda budget, after_budget: select_context(
                limits.context_strategy,
                req.cells_before,
                req.cells_after,
                prefix + suffix,
                req.language,
                budget,
                count,
                after_budget=after_budget,
            ),
            self.prompt_budget(),
            count,
            namespace=req.namespace,
            comment=COMMENT_PREFIX.get(req.language.lower(), "# "),
        )
        scope = self._scope(req)
        stop_check = None
        if limits.early_stop:
            # Stop once the text leaves its scope or rewrites the code after the cursor.
            def stop_check(_index: int, text: str) -> bool:
                return should_stop(text, prefix, suffix, scope)

        key = f"complete:{req.path or ''}"
        gen = GenerationRequest(
            max_new_tokens=max_tokens,
            segments=prompt.segments,
            num_candidates=num,
            temperature=0.0 if num == 1 else 0.6,
            stop_tokens=template.stop_tokens,
            stop_check=stop_check,
            timeout_s=limits.generation_timeout,
            cache_key=key,
            expected=self.suggestions.expected(key, req.prefix, req.suffix) if num == 1 else "",
        )
        return _Completion(
            prefix, suffix, scope, is_python(req.language), gen, (key, req.prefix, req.suffix)
        )

    @staticmethod
    def _scope(req: CompleteRequest) -> Scope:
        return completion_scope(*_window(req.prefix, req.suffix)) if req.multiline else "line"

    def _completion_reply(self, timed: Timed, prepared: _Completion) -> CompleteReply:
        candidates = timed.result.candidates
        if prepared.gen.num_candidates == 1 and candidates and candidates[0].text:
            # Greedy output, even cut short, is how the model goes on from here.
            self.suggestions.remember(*prepared.at, candidates[0].text)
        seen: set[str] = set()
        completions: list[Completion] = []
        prefix, suffix, scope = prepared.prefix, prepared.suffix, prepared.scope
        for number, cand in enumerate(timed.result.candidates):
            finished = cand.finish_reason != "length"
            text = clean_completion(cand.text, prefix, suffix, finished=finished, scope=scope)
            if cand.finish_reason == "cancelled" or not text.strip():
                continue
            # Fewer candidates rather than one that breaks a cell that parses
            # (but without the end that repeats the suffix, if that one fits).
            if prepared.python:
                fitting = parsing_variant(prefix, text, suffix)
                if fitting is None:
                    continue
                text = fitting
            if text in seen:
                continue
            seen.add(text)
            completions.append(
                Completion(
                    text=text,
                    index=len(completions),
                    candidate=number,
                    finish_reason=cand.finish_reason,
                )
            )
        return CompleteReply(completions=completions, model=self.host.name, timings=timed.timings)

    async def _prepared(self, ticket: Ticket, prepare: Callable[..., T], *args: Any) -> T:
        """``prepare(*args)`` off the loop, for a request holding ``ticket``. If
        it fails or is cancelled, the ticket (and its slot) is given back."""
        try:
            return await self._off_loop(prepare, *args)
        except BaseException:
            self.release(ticket)
            raise

    async def _prepared_completion(self, req: CompleteRequest, ticket: Ticket) -> _Completion:
        try:
            max_tokens, num = self._completion_limits(req)
        except BaseException:
            self.release(ticket)
            raise
        return await self._prepared(ticket, self._prepare_completion, req, max_tokens, num)

    async def complete(self, req: CompleteRequest, ticket: Ticket) -> CompleteReply:
        prepared = await self._prepared_completion(req, ticket)
        timed = await self.host.run(prepared.gen, ticket)
        return await self._off_loop(self._completion_reply, timed, prepared)

    async def stream_complete(
        self, req: CompleteRequest, ticket: Ticket
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Validate and prepare, then stream events: ``("completion", {"index",
        "text"})`` with each candidate's cleaned text so far, then ``("done",
        <CompleteReply>)``. Errors in the request are raised here, before any event."""
        return self._completion_events(await self._prepared_completion(req, ticket), ticket)

    async def _completion_events(
        self, prepared: _Completion, ticket: Ticket
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        raw: dict[int, str] = {}
        async with contextlib.aclosing(self.host.stream(prepared.gen, ticket)) as items:
            async for item in items:
                if isinstance(item, Timed):
                    reply = await self._off_loop(self._completion_reply, item, prepared)
                    yield "done", reply.model_dump()
                    return
                index, delta = item
                raw[index] = raw.get(index, "") + delta
                text = clean_completion(
                    raw[index], prepared.prefix, prepared.suffix, scope=prepared.scope
                )
                yield "completion", {"index": index, "text": text}

    # -- chat: explanations and generated code -----------------------------

    def _chat_request(
        self,
        *,
        main_text: str,
        cells: Sequence[Cell],
        language: str,
        max_tokens: int,
        build: Callable[[str], list[ChatMessage]],
        what: str,
        kind: str,
    ) -> GenerationRequest:
        """A chat generation whose prompt holds ``main_text`` plus as many of the
        nearest ``cells`` as fit the context budget (``build`` gets them joined)."""
        self._check_size(main_text, *(c.source for c in cells))
        count = self.host.ready_engine().count_tokens
        main_tokens = count(main_text)
        budget = self.context_budget()
        if main_tokens > budget * 4:
            raise RequestError(
                f"The {what} is {main_tokens} tokens; at most {budget * 4} are accepted "
                "(4 x CodegenApp.context_tokens). Send a smaller part.",
                status=413,
            )
        chunks = nearest_that_fit(cell_chunks(cells, language), max(0, budget - main_tokens), count)
        context = "\n\n".join(chunks)
        return GenerationRequest(
            max_new_tokens=max_tokens,
            messages=build(context),
            stop_tokens=self.template().stop_tokens,
            timeout_s=self.limits.generation_timeout,
            cache_key=kind,
        )

    def _chat_namespace(self, namespace: str) -> str:
        """The live variables' descriptions for a chat prompt: the first whole
        lines within a quarter of the context budget."""
        if not namespace.strip():
            return ""
        count = self.host.ready_engine().count_tokens
        return keep_head(namespace.strip() + "\n", self.prompt_budget().live, count).rstrip()

    async def _chat_events(
        self,
        gen: GenerationRequest,
        ticket: Ticket,
        event: str,
        finish: Callable[[Timed], BaseModel],
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
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

    def _chat_tokens(self, asked: int | None) -> int:
        limits = self.limits
        return self._tokens(asked, limits.explain_default_tokens, limits.explain_max_tokens)

    def _explain_request(self, req: ExplainRequest) -> GenerationRequest:
        namespace = self._chat_namespace(req.namespace)
        history: list[ChatMessage] = []
        if req.history:
            self._check_size(req.code, *(t.content for t in req.history))
            # Follow-ups keep the newest turns that fit half the context budget.
            turns = [ChatMessage(t.role, t.content) for t in req.history]
            count = self.host.ready_engine().count_tokens
            history = recent_turns(turns, self.context_budget() // 2, count)
        return self._chat_request(
            main_text=req.code
            + (req.question or "")
            + namespace
            + "".join(t.content for t in history),
            cells=req.cells_before,
            language=req.language,
            max_tokens=self._chat_tokens(req.max_tokens),
            build=lambda ctx: build_explain_messages(
                req.code, ctx, req.question, req.language, history, namespace
            ),
            what="code to explain",
            kind="explain",
        )

    def _explain_reply(self, timed: Timed) -> ExplainReply:
        text, reason = self._first(timed)
        return ExplainReply(
            explanation=text, model=self.host.name, finish_reason=reason, timings=timed.timings
        )

    async def explain(self, req: ExplainRequest, ticket: Ticket) -> ExplainReply:
        gen = await self._prepared(ticket, self._explain_request, req)
        return self._explain_reply(await self.host.run(gen, ticket))

    async def stream_explain(
        self, req: ExplainRequest, ticket: Ticket
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Validate and prepare, then stream events: ``("explanation", {"delta"})``
        as text arrives, then ``("done", <ExplainReply>)``."""
        gen = await self._prepared(ticket, self._explain_request, req)
        return self._chat_events(gen, ticket, "explanation", self._explain_reply)

    def _generate_request(self, req: GenerateRequest) -> GenerationRequest:
        namespace = self._chat_namespace(req.namespace)
        return self._chat_request(
            main_text=req.instruction + namespace,
            cells=req.cells_before,
            language=req.language,
            max_tokens=self._chat_tokens(req.max_tokens),
            build=lambda ctx: build_generate_messages(
                req.instruction, ctx, namespace, req.language
            ),
            what="instruction",
            kind="generate",
        )

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
        gen = await self._prepared(ticket, self._generate_request, req)
        return self._generate_reply(await self.host.run(gen, ticket))

    async def stream_generate(
        self, req: GenerateRequest, ticket: Ticket
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Validate and prepare, then stream ``("text", {"delta"})``, then ``("done",
        <GenerateReply>)``."""
        gen = await self._prepared(ticket, self._generate_request, req)
        return self._chat_events(gen, ticket, "text", self._generate_reply)


@dataclass(frozen=True)
class _Completion:
    """A completion request, prepared: the cell around the cursor as
    post-processing sees it, its scope, and the generation to run."""

    prefix: str
    suffix: str
    scope: Scope
    python: bool
    gen: GenerationRequest
    #: The document's key, and the whole prefix and suffix of the request.
    at: tuple[str, str, str]


def _window(prefix: str, suffix: str) -> tuple[str, str]:
    """The cell around the cursor, at most :data:`POSTPROCESS_WINDOW` characters
    on each side, cut at line starts."""
    if len(prefix) > POSTPROCESS_WINDOW:
        head = prefix[-POSTPROCESS_WINDOW:]
        newline = head.find("\n")
        prefix = head[newline + 1 :] if 0 <= newline < len(head) - 1 else head
    if len(suffix) > POSTPROCESS_WINDOW:
        tail = suffix[:POSTPROCESS_WINDOW]
        newline = tail.rfind("\n")
        suffix = tail[: newline + 1] if newline > 0 else tail
    return prefix, suffix


def _memory() -> dict[str, int]:
    mem: dict[str, int] = {}
    peak = _peak_rss()
    if peak is not None:
        mem["peak_rss_bytes"] = peak
    try:
        with open("/proc/self/statm") as fh:
            mem["rss_bytes"] = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    return mem


def _peak_rss() -> int | None:
    """Peak resident memory in bytes: getrusage where there is one (not on
    Windows), else /proc's VmHWM, else unknown."""
    try:
        import resource
    except ImportError:
        resource = None  # type: ignore[assignment]
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)  # macOS: bytes
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
