"""The fill-in-the-middle prompt of a completion: the active cell and its
context, laid out so that the head stays the same while the user types.

Pure: it takes text and a token counter and returns prompt segments, so it is
tested table-driven without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jupyter_codegen.context.budget import CountTokens, PromptBudget, keep_head, stable_tail
from jupyter_codegen.context.live import live_block
from jupyter_codegen.engine.base import Segment
from jupyter_codegen.families import FimTemplate


def fim_segments(template: FimTemplate, prefix: str, suffix: str) -> list[Segment]:
    """The prompt for the hole between ``prefix`` and ``suffix`` in ``template``'s
    family (PSM order)."""
    if not template.has_fim:
        # No FIM: a left-to-right continuation of the prefix. The suffix is
        # not shown; post-processing trims output that runs into it.
        return [Segment(prefix)]
    assert template.prefix is not None and template.suffix is not None
    assert template.middle is not None
    return [
        Segment(template.prefix, special=True),
        Segment(prefix),
        Segment(template.suffix, special=True),
        Segment(suffix),
        Segment(template.middle, special=True),
    ]


#: Given the tokens for text before the active cell and for text after it (0:
#: none), the context chunks to put before the active cell and after it.
ContextSelector = Callable[[int, int], tuple[Sequence[str], Sequence[str]]]


@dataclass(frozen=True)
class FimPrompt:
    segments: list[Segment]
    prefix_text: str  # everything shown before the hole, context included
    suffix_text: str
    prompt_tokens_estimate: int
    head: str = ""  # the context part of prefix_text, before the active cell
    live: str = ""  # the live-variables block: the start of ``head``


def build_fim_prompt(
    template: FimTemplate,
    prefix: str,
    suffix: str,
    context: ContextSelector,
    budget: PromptBudget,
    count: CountTokens,
    *,
    separator: str = "\n\n",
    namespace: str = "",
    comment: str = "# ",
) -> FimPrompt:
    """Fit the active cell and its context into ``budget``, laid out so that it
    stays reusable while the user types: the context comes first and changes
    rarely, then the cell up to the cursor, cut in large steps; only the few
    tokens at the cursor and the capped suffix are new on each keystroke.

    ``namespace`` (the live kernel's variable descriptions) goes first of all,
    as a comment block (:func:`live_block`) in at most ``budget.live`` tokens:
    it changes only when a cell runs. Without one the prompt is as before.
    """
    live = live_block(namespace, budget.live, count, comment) if namespace else ""
    live_tokens = count(live + separator) if live else 0
    prefix_part = stable_tail(prefix, budget.prefix, count, step_chars=budget.step * 3)
    prefix_tokens = count(prefix_part)
    suffix_part = keep_head(suffix, budget.suffix, count) if template.has_fim else ""
    suffix_tokens = count(suffix_part)
    reserved = -(-prefix_tokens // budget.step) * budget.step
    before_budget = max(0, budget.total - budget.suffix - reserved - live_tokens)
    after_budget = (
        budget.suffix - suffix_tokens if template.has_fim and suffix_part == suffix else 0
    )
    before, after = context(before_budget, after_budget)
    used = prefix_tokens + suffix_tokens + sum(count(c + separator) for c in (*before, *after))
    used += live_tokens
    head = "".join(c + separator for c in ([live] if live else []) + list(before))
    full_prefix = head + prefix_part
    full_suffix = suffix_part + "".join(separator + c for c in after)
    return FimPrompt(
        fim_segments(template, full_prefix, full_suffix), full_prefix, full_suffix, used, head, live
    )
