"""One completion, start to end, in order: analyse the cell once, select the
notebook's context, render the prompt, (the engine generates, stopped by an
incremental check), clean each candidate and pass it through the parse gate.

:func:`prepare` is public: benchmarks, evaluations and tests get a request's
prompt from it, as the server does. Each step is a pure function of what the
steps before it returned; nothing calls back up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jupyter_codegen.api.schemas import CompleteRequest, Completion
from jupyter_codegen.completion.analysis import CellAnalysis, analyse
from jupyter_codegen.completion.postprocess import CUT_SHORT, clean_completion, shortened
from jupyter_codegen.completion.prompt import LAYOUTS, FimPrompt, fit_cell, render
from jupyter_codegen.completion.stopping import StopChecker
from jupyter_codegen.completion.typethrough import SuggestionMemory
from jupyter_codegen.context.budget import CountTokens, PromptBudget
from jupyter_codegen.context.cells import COMMENT_PREFIX
from jupyter_codegen.context.select import STRATEGIES, select_context
from jupyter_codegen.engine.base import (
    Candidate,
    GenerationRequest,
    GenerationResult,
    Segment,
    StopCheck,
)
from jupyter_codegen.families import FimTemplate


@dataclass(frozen=True)
class CompletionOptions:
    """How completions are prompted and stopped (the evaluation compares them)."""

    #: How other cells' text is chosen: "syntax", "preceding" or "cell"
    #: (see :mod:`jupyter_codegen.context.select`).
    strategy: str = "syntax"
    #: Stop generating once the completion leaves its scope (off only to measure it).
    early_stop: bool = True
    #: The prompt's layout (:data:`jupyter_codegen.completion.prompt.LAYOUTS`).
    layout: str = "psm"

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown context strategy {self.strategy!r}; one of {STRATEGIES}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown prompt layout {self.layout!r}; one of {LAYOUTS}")


@dataclass(frozen=True)
class PromptSettings:
    """What the model and the server settle for every completion."""

    template: FimTemplate
    budget: PromptBudget
    count: CountTokens
    timeout_s: float | None = None


@dataclass(frozen=True)
class PreparedCompletion:
    """A completion request, ready to run: the analysed cell, the prompt, and
    the generation the engine runs."""

    request: CompleteRequest
    analysis: CellAnalysis
    prompt: FimPrompt
    generation: GenerationRequest
    #: The document's key in the suggestion memory and the prompt cache.
    key: str


def prepare(
    req: CompleteRequest,
    settings: PromptSettings,
    *,
    max_tokens: int,
    candidates: int,
    memory: SuggestionMemory | None = None,
    options: CompletionOptions | None = None,
) -> PreparedCompletion:
    """Analyse, select, render: the request's prompt and its generation."""
    options = options or CompletionOptions()
    analysis = analyse(req.prefix, req.suffix, req.language, req.multiline)
    template, count = settings.template, settings.count
    fit = fit_cell(
        template,
        req.prefix,
        req.suffix,
        settings.budget,
        count,
        namespace=req.namespace,
        comment=COMMENT_PREFIX.get(req.language.lower(), "# "),
        layout=options.layout,
    )
    context = select_context(
        options.strategy,
        req.cells_before,
        req.cells_after,
        analysis,
        req.language,
        fit.before_budget,
        count,
        after_budget=fit.after_budget,
    )
    prompt = render(template, fit, context.before, context.after, count, layout=options.layout)
    key = f"complete:{req.path or ''}"
    greedy = candidates == 1
    generation = GenerationRequest(
        max_new_tokens=max_tokens,
        segments=prompt.segments,
        num_candidates=candidates,
        temperature=0.0 if greedy else 0.6,
        stop_tokens=template.stop_tokens,
        stop_check=stop_check(analysis) if options.early_stop else None,
        timeout_s=settings.timeout_s,
        cache_key=key,
        expected=memory.expected(key, req.prefix, req.suffix) if memory and greedy else "",
    )
    return PreparedCompletion(req, analysis, prompt, generation, key)


def head_segments(prompt: FimPrompt) -> list[Segment]:
    """The prompt up to the cursor: everything that typing at the cursor
    leaves as it is (the segments up to and including the text before the
    hole), for a prefetch to compute ahead of the first keystroke."""
    segments = list(prompt.segments)
    for index, segment in enumerate(segments):
        if not segment.special and segment.text == prompt.prefix_text:
            return segments[: index + 1]
    return segments


def stop_check(analysis: CellAnalysis) -> StopCheck:
    """Stop a candidate once its text leaves its scope or rewrites the code
    after the cursor: one incremental checker per candidate."""
    checkers: dict[int, StopChecker] = {}

    def check(index: int, delta: str) -> bool:
        checker = checkers.get(index)
        if checker is None:
            checker = checkers[index] = StopChecker(
                analysis.prefix, analysis.suffix, analysis.scope
            )
        return checker.feed(delta)

    return check


def streamed_text(prepared: PreparedCompletion) -> Callable[[str], str]:
    """How a candidate's raw text so far is shown while it streams."""
    a = prepared.analysis
    return lambda raw: clean_completion(raw, a.prefix, a.suffix, scope=a.scope)


def finish(
    prepared: PreparedCompletion,
    result: GenerationResult,
    memory: SuggestionMemory | None = None,
) -> list[Completion]:
    """The finished candidates, cleaned; without the empty, the cancelled, the
    repeated and, in Python, those that would break a cell that parses."""
    candidates = result.candidates
    req = prepared.request
    if memory and prepared.generation.num_candidates == 1 and candidates and candidates[0].text:
        # Greedy output, even cut short, is how the model goes on from here.
        memory.remember(prepared.key, req.prefix, req.suffix, candidates[0].text)
    seen: set[str] = set()
    fits: dict[str, str | None] = {}  # each text through the gate once
    completions: list[Completion] = []
    for number, cand in enumerate(candidates):
        if cand.finish_reason == "cancelled":
            continue
        text = _fitting(prepared.analysis, cand, fits)
        if text is None or text in seen:
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
    return completions


def _fitting(a: CellAnalysis, cand: Candidate, fits: dict[str, str | None]) -> str | None:
    """A candidate's text, cleaned and, in Python, through the parse gate
    (each text once, remembered in ``fits``); None when nothing of it may be
    shown. One cut short by the token limit or the deadline comes back
    shorter but whole (:func:`shortened`), or not at all."""
    if cand.finish_reason in CUT_SHORT:
        options = shortened(cand.text, a.prefix.rsplit("\n", 1)[-1])
    else:
        options = [(cand.text, True)]
    for option, finished in options:
        text = clean_completion(option, a.prefix, a.suffix, finished=finished, scope=a.scope)
        if not text.strip():
            continue
        if not a.python:
            return text
        # Fewer candidates rather than one that breaks a cell that parses
        # (but without the end that repeats the suffix, if that one fits).
        if text not in fits:
            fits[text] = a.gate.variant(text)
        if fits[text] is not None:
            return fits[text]
    return None
