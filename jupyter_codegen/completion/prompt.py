"""The fill-in-the-middle prompt of a completion: the active cell and its
context, laid out so that the head stays the same while the user types.

Pure: it takes text and a token counter and returns prompt segments, so it is
tested table-driven without a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jupyter_codegen.context.budget import CountTokens, PromptBudget, keep_head, stable_tail
from jupyter_codegen.context.cells import SEPARATOR
from jupyter_codegen.context.live import live_block
from jupyter_codegen.engine.base import Segment
from jupyter_codegen.families import FimTemplate

#: How a completion prompt is laid out:
#: - ``psm``: prefix, suffix, middle (the order FIM models learn first); the
#:   suffix follows the cursor, so it is computed again on every keystroke and
#:   is kept short where computing is slow;
#: - ``spm``: suffix first, then the prefix: everything but the text at the
#:   cursor stays the same while the user types, so a long suffix (the cells
#:   after the cell) is computed once;
#: - ``files``: PSM, with the cells after the cell shown before it as another
#:   file of a repository-level prompt (families with a file separator).
LAYOUTS = ("psm", "spm", "files")
#: The name of the file that holds the cells below the active one (``files``).
BELOW_FILE = "notebook_cells_below.py"


def fim_segments(
    template: FimTemplate, prefix: str, suffix: str, layout: str = "psm"
) -> list[Segment]:
    """The prompt for the hole between ``prefix`` and ``suffix`` in ``template``'s
    family, in PSM order, or SPM (``layout`` "spm")."""
    if not template.has_fim:
        # No FIM: a left-to-right continuation of the prefix. The suffix is
        # not shown; post-processing trims output that runs into it.
        return [Segment(prefix)]
    assert template.prefix is not None and template.suffix is not None
    assert template.middle is not None
    before = [Segment(template.prefix, special=True), Segment(prefix)]
    after = [Segment(template.suffix, special=True), Segment(suffix)]
    ordered = after + before if layout == "spm" else before + after
    return [*ordered, Segment(template.middle, special=True)]


@dataclass(frozen=True)
class CellFit:
    """The active cell and the live variables fitted into a budget, and what
    that leaves for context before the cell and after it (tokens)."""

    live: str  # the live-variables block, or ""
    prefix: str  # the cell before the cursor, cut where typing does not move the cut
    suffix: str  # the cell after the cursor, clipped ("" for a family without FIM)
    used: int  # tokens of the above
    before_budget: int
    after_budget: int


@dataclass(frozen=True)
class FimPrompt:
    segments: list[Segment]
    prefix_text: str  # everything shown before the hole, context included
    suffix_text: str
    prompt_tokens_estimate: int
    head: str = ""  # the context part of prefix_text, before the active cell
    live: str = ""  # the live-variables block: the start of ``head``


def fit_cell(
    template: FimTemplate,
    prefix: str,
    suffix: str,
    budget: PromptBudget,
    count: CountTokens,
    *,
    namespace: str = "",
    comment: str = "# ",
    separator: str = SEPARATOR,
    layout: str = "psm",
) -> CellFit:
    """Fit the active cell into ``budget``, laid out so that it stays reusable
    while the user types: the cell up to the cursor is cut in large steps, and
    only the few tokens at the cursor and the capped suffix are new on each
    keystroke. ``namespace`` (the live kernel's variable descriptions) gets at
    most ``budget.live`` tokens as a comment block (:func:`live_block`): it
    changes only when a cell runs. The context before the cell gets what the
    cell's share, rounded up to a step, leaves. With a layout that keeps the
    code after the cursor stable (``spm``, ``files``), that code may take a
    quarter of the budget."""
    if layout != "psm":
        budget = PromptBudget(budget.total, max(budget.suffix, budget.total // 4))
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
    used = prefix_tokens + suffix_tokens + live_tokens
    return CellFit(live, prefix_part, suffix_part, used, before_budget, after_budget)


def render(
    template: FimTemplate,
    fit: CellFit,
    before: Sequence[str],
    after: Sequence[str],
    count: CountTokens,
    *,
    separator: str = SEPARATOR,
    layout: str = "psm",
) -> FimPrompt:
    """The prompt: the live block and the context before the cell come first
    (they change rarely, so their computation is reused), then the cell up to
    the cursor; after the hole, the rest of the cell and the following cells
    (``spm``: all that comes first; ``files``: the following cells come first
    of all, as another file)."""
    used = fit.used + sum(count(c + separator) for c in (*before, *after))
    head = "".join(c + separator for c in ([fit.live] if fit.live else []) + list(before))
    full_prefix = head + fit.prefix
    full_suffix = fit.suffix + "".join(separator + c for c in after)
    if layout == "files" and template.file_sep and template.has_fim:
        below = separator.join(after)
        segments = [
            Segment(template.file_sep, special=True),
            Segment(f"{BELOW_FILE}\n{below}\n"),
            Segment(template.file_sep, special=True),
            Segment("notebook.py\n"),
            *fim_segments(template, full_prefix, fit.suffix),
        ]
        return FimPrompt(segments, full_prefix, full_suffix, used, head, fit.live)
    return FimPrompt(
        fim_segments(template, full_prefix, full_suffix, layout),
        full_prefix,
        full_suffix,
        used,
        head,
        fit.live,
    )
