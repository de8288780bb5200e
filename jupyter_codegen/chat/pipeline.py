"""Explanations and generated code, start to end: the same context selector
as completions chooses the notebook's cells for the code (or instruction),
the chat prompt is built around them, and the reply is read back. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from jupyter_codegen.api.schemas import (
    EditRequest,
    ExplainRequest,
    FixRequest,
    GenerateRequest,
)
from jupyter_codegen.chat.edit import Selected, edit_messages, selected
from jupyter_codegen.chat.fix import Diagnosis, diagnose, fix_messages
from jupyter_codegen.chat.messages import (
    build_explain_messages,
    build_generate_messages,
    recent_turns,
)
from jupyter_codegen.context.budget import (
    CHARS_PER_TOKEN_BOUND,
    CountTokens,
    PromptBudget,
    cost_within,
    keep_head,
)
from jupyter_codegen.context.cells import SEPARATOR
from jupyter_codegen.context.select import select_context
from jupyter_codegen.context.syntax import ParsedCell
from jupyter_codegen.engine.base import ChatMessage, GenerationRequest
from jupyter_codegen.errors import RequestError

#: The code (or instruction) of a chat may take this many times the prompt budget.
MAX_MAIN_BUDGETS = 4
#: The tokens an edit's instruction takes from the notebook's context, however
#: short it is: so an edit prefetched before its instruction is typed chooses
#: the same cells as the edit.
EDIT_INSTRUCTION_TOKENS = 64
#: The same for a question about code (Ask): the explanation prefetched for a
#: cell chooses the cells that a question about it does.
QUESTION_TOKENS = 64


@dataclass(frozen=True)
class ChatSettings:
    """What the model and the server settle for every chat."""

    budget: PromptBudget
    count: CountTokens
    stop_tokens: tuple[str, ...] = ()
    timeout_s: float | None = None


def live_lines(namespace: str, settings: ChatSettings) -> str:
    """The live variables' descriptions for a chat prompt: the first whole
    lines within a quarter of the prompt budget."""
    if not namespace.strip():
        return ""
    return keep_head(namespace.strip() + "\n", settings.budget.live, settings.count).rstrip()


def _context(
    about: str,
    main_text: str,
    req: ExplainRequest | GenerateRequest | EditRequest,
    settings: ChatSettings,
    what: str,
    reserve: int = 0,
) -> str:
    """The earlier cells that matter to ``about`` (code or an instruction), in
    what the budget leaves beside ``main_text`` and ``reserve`` more tokens;
    413 when ``main_text`` alone is far over the budget."""
    count, total = settings.count, settings.budget.total
    main_tokens = _check_main(main_text, total, count, what)
    chosen = select_context(
        "syntax",
        req.cells_before,
        (),
        ParsedCell(about),
        req.language,
        max(0, total - main_tokens - reserve),
        count,
        after_budget=0,
    )
    return SEPARATOR.join(chosen.before)


def _check_main(main_text: str, total: int, count: CountTokens, what: str) -> int:
    """The tokens of a chat's own text (the code, the instruction); 413 when
    it alone is far over the budget."""
    limit = total * MAX_MAIN_BUDGETS
    main_tokens = cost_within(main_text, limit, count)
    if main_tokens is None:
        size = (
            f"{len(main_text):,} characters"  # too long to be worth tokenizing
            if len(main_text) > limit * CHARS_PER_TOKEN_BOUND
            else f"{count(main_text)} tokens"
        )
        raise RequestError(
            f"The {what} is {size}; at most {limit} tokens are accepted "
            f"({MAX_MAIN_BUDGETS} x CodegenApp.context_tokens). Send a smaller part.",
            status=413,
        )
    return main_tokens


def explain_generation(
    req: ExplainRequest, settings: ChatSettings, max_tokens: int
) -> GenerationRequest:
    """The chat that explains ``req.code`` (or answers a question about it)."""
    namespace = live_lines(req.namespace, settings)
    history: list[ChatMessage] = []
    if req.history:
        # Follow-ups keep the newest turns that fit half the prompt budget.
        turns = [ChatMessage(t.role, t.content) for t in req.history]
        history = recent_turns(turns, settings.budget.total // 2, settings.count)
    # The question comes after the code, and the cells chosen do not depend
    # on it (up to QUESTION_TOKENS): what /prefetch/explain computed for the
    # cell is the head of an explanation of it, and of a first question. (The
    # question is not part of the 413 check: the schema bounds it.)
    main = req.code + namespace + "".join(t.content for t in history)
    question = max(QUESTION_TOKENS, settings.count(req.question or ""))
    context = _context(req.code, main, req, settings, "code to explain", question)
    messages = build_explain_messages(
        req.code, context, req.question, req.language, history, namespace
    )
    return _chat(messages, settings, max_tokens, "explain")


def generate_generation(
    req: GenerateRequest, settings: ChatSettings, max_tokens: int
) -> GenerationRequest:
    """The chat that writes code for ``req.instruction``."""
    namespace = live_lines(req.namespace, settings)
    context = _context(req.instruction, req.instruction + namespace, req, settings, "instruction")
    messages = build_generate_messages(req.instruction, context, namespace, req.language)
    return _chat(messages, settings, max_tokens, "generate")


def _chat(
    messages: list[ChatMessage], settings: ChatSettings, max_tokens: int, kind: str
) -> GenerationRequest:
    return GenerationRequest(
        max_new_tokens=max_tokens,
        messages=messages,
        stop_tokens=settings.stop_tokens,
        timeout_s=settings.timeout_s,
        cache_key=kind,
    )


def fix_generation(
    req: FixRequest, settings: ChatSettings, max_tokens: int
) -> tuple[GenerationRequest, Diagnosis]:
    """The chat that fixes ``req``'s error, and what the error output said."""
    count, total = settings.count, settings.budget.total
    _check_main(req.cell, total, count, "failing cell")
    diagnosis = diagnose(req)
    cells_budget = max(0, total - count(req.cell) - settings.budget.live)
    messages = fix_messages(req, diagnosis, cells_budget, settings.budget.live, count)
    return _chat(messages, settings, max_tokens, "fix"), diagnosis


def edit_generation(
    req: EditRequest, settings: ChatSettings, max_tokens: int
) -> tuple[GenerationRequest, Selected]:
    """The chat that rewrites ``req``'s selection, and the selection."""
    part = selected(req)
    live = live_lines(req.namespace, settings)
    # The instruction comes last, and the cells chosen do not depend on it
    # (up to EDIT_INSTRUCTION_TOKENS): what /prefetch/edit computed while the
    # instruction was typed is the head of this prompt.
    instruction = max(EDIT_INSTRUCTION_TOKENS, settings.count(req.instruction))
    context = _context(req.cell, req.cell + live, req, settings, "cell", instruction)
    return _chat(edit_messages(req, part, context, live), settings, max_tokens, "edit"), part
