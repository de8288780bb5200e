"""Prompt templates by model family: fill-in-the-middle and explanations.

Everything here is pure: it takes text and a token counter and returns prompt
segments, so it is tested table-driven without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .engine.base import ChatMessage, Segment

TokenCounter = Callable[[str], int]
#: Given the tokens left and whether text may follow the cell, the context
#: chunks to put before the active cell and after it.
ContextSelector = Callable[[int, bool], tuple[Sequence[str], Sequence[str]]]


@dataclass(frozen=True)
class FimTemplate:
    """How one model family asks for the text between a prefix and a suffix."""

    family: str
    prefix: str | None  # special token before the prefix; None: the family has no FIM
    suffix: str | None
    middle: str | None
    stop_tokens: tuple[str, ...]
    #: Tokens whose presence in the vocabulary identifies the family.
    markers: tuple[str, ...]

    @property
    def has_fim(self) -> bool:
        return self.prefix is not None

    def render(self, prefix: str, suffix: str) -> list[Segment]:
        """The prompt for the hole between ``prefix`` and ``suffix`` (PSM order)."""
        if not self.has_fim:
            # No FIM: a left-to-right continuation of the prefix. The suffix is
            # not shown; post-processing trims output that runs into it.
            return [Segment(prefix)]
        assert self.prefix is not None and self.suffix is not None and self.middle is not None
        return [
            Segment(self.prefix, special=True),
            Segment(prefix),
            Segment(self.suffix, special=True),
            Segment(suffix),
            Segment(self.middle, special=True),
        ]


FIM_TEMPLATES: tuple[FimTemplate, ...] = (
    FimTemplate(
        family="qwen2.5-coder",
        prefix="<|fim_prefix|>",
        suffix="<|fim_suffix|>",
        middle="<|fim_middle|>",
        stop_tokens=(
            "<|endoftext|>",
            "<|fim_pad|>",
            "<|file_sep|>",
            "<|im_end|>",
            "<|fim_prefix|>",
            "<|repo_name|>",
        ),
        markers=("<|fim_prefix|>", "<|fim_pad|>"),
    ),
    FimTemplate(
        family="codegemma",
        prefix="<|fim_prefix|>",
        suffix="<|fim_suffix|>",
        middle="<|fim_middle|>",
        stop_tokens=("<|file_separator|>", "<|fim_prefix|>", "<eos>"),
        markers=("<|fim_prefix|>", "<|file_separator|>"),
    ),
    FimTemplate(
        family="starcoder",
        prefix="<fim_prefix>",
        suffix="<fim_suffix>",
        middle="<fim_middle>",
        stop_tokens=("<|endoftext|>", "<file_sep>", "<fim_prefix>"),
        markers=("<fim_prefix>", "<fim_middle>"),
    ),
    FimTemplate(
        family="deepseek-coder",
        prefix="<｜fim▁begin｜>",
        suffix="<｜fim▁hole｜>",
        middle="<｜fim▁end｜>",
        stop_tokens=("<｜end▁of▁sentence｜>", "<|EOT|>"),
        markers=("<｜fim▁begin｜>", "<｜fim▁hole｜>"),
    ),
    FimTemplate(
        family="codellama",
        prefix="▁<PRE>",
        suffix="▁<SUF>",
        middle="▁<MID>",
        stop_tokens=("▁<EOT>", "</s>"),
        markers=("▁<PRE>", "▁<MID>"),
    ),
)

PLAIN = FimTemplate(
    family="plain", prefix=None, suffix=None, middle=None, stop_tokens=(), markers=()
)

TEMPLATES_BY_FAMILY = {t.family: t for t in (*FIM_TEMPLATES, PLAIN)}


def detect_template(has_token: Callable[[str], bool], override: str = "auto") -> FimTemplate:
    """Pick the FIM template whose marker tokens the vocabulary has.

    Detecting by vocabulary rather than by model name also covers fine-tunes
    and local copies. ``override`` names a family explicitly.
    """
    if override and override != "auto":
        if override not in TEMPLATES_BY_FAMILY:
            known = ", ".join(TEMPLATES_BY_FAMILY)
            raise ValueError(f"unknown FIM family {override!r}; known: {known}")
        return TEMPLATES_BY_FAMILY[override]
    for template in FIM_TEMPLATES:
        if all(has_token(tok) for tok in template.markers):
            return template
    return PLAIN


# -- budgeting -----------------------------------------------------------


def keep_tail(text: str, budget: int, count: TokenCounter) -> str:
    """The longest run of whole trailing lines of ``text`` within ``budget`` tokens.

    If even the last line does not fit, its tail is cut by characters.
    """
    if budget <= 0 or not text:
        return ""
    if count(text) <= budget:
        return text
    lines = text.splitlines(keepends=True)
    lo, hi = 1, len(lines)  # number of trailing lines kept
    best = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if count("".join(lines[-mid:])) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best:
        return "".join(lines[-best:])
    last = lines[-1]
    return last[-max(1, len(last) * budget // max(1, count(last))) :]


def keep_head(text: str, budget: int, count: TokenCounter) -> str:
    """The longest run of whole leading lines of ``text`` within ``budget`` tokens."""
    if budget <= 0 or not text:
        return ""
    if count(text) <= budget:
        return text
    lines = text.splitlines(keepends=True)
    lo, hi, best = 1, len(lines), 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if count("".join(lines[:mid])) <= budget:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best:
        return "".join(lines[:best])
    first = lines[0]
    return first[: max(1, len(first) * budget // max(1, count(first)))]


@dataclass(frozen=True)
class FimPrompt:
    segments: list[Segment]
    prefix_text: str  # everything shown before the hole, context included
    suffix_text: str
    prompt_tokens_estimate: int


def build_fim_prompt(
    template: FimTemplate,
    prefix: str,
    suffix: str,
    context: ContextSelector,
    budget: int,
    count: TokenCounter,
    *,
    separator: str = "\n\n",
) -> FimPrompt:
    """Fit the active cell and its context into ``budget`` tokens.

    The text nearest the cursor matters most, so the budget goes first to the
    end of the prefix (up to half), then to the start of the suffix (up to a
    sixth), and what remains to ``context(remaining, with_after)``, which
    chooses the other cells' text. When the cell itself had to be clipped there
    is no room for more.
    """
    prefix_part = keep_tail(prefix, budget // 2, count)
    used = count(prefix_part)
    suffix_part = (
        keep_head(suffix, min(budget // 6, budget - used), count) if template.has_fim else ""
    )
    used += count(suffix_part)
    before: Sequence[str] = []
    after: Sequence[str] = []
    if prefix_part == prefix:
        before, after = context(budget - used, template.has_fim and suffix_part == suffix)
        used += sum(count(c + separator) for c in (*before, *after))
    full_prefix = "".join(c + separator for c in before) + prefix_part
    full_suffix = suffix_part + "".join(separator + c for c in after)
    return FimPrompt(template.render(full_prefix, full_suffix), full_prefix, full_suffix, used)


# -- explanations --------------------------------------------------------

EXPLAIN_SYSTEM = (
    "You are an expert programmer who explains code from Jupyter notebooks to data "
    "scientists and researchers. Explain what the code does and how, step by step where "
    "that helps, and point out bugs or pitfalls you notice. Be accurate and concise. "
    "Answer in Markdown; put code in fenced blocks."
)


def build_explain_messages(
    code: str,
    context: str,
    question: str | None,
    language: str,
) -> list[ChatMessage]:
    parts = []
    if context.strip():
        parts.append(
            f"Earlier cells of the notebook, for context:\n```{language}\n{context.rstrip()}\n```\n"
        )
    parts.append(f"Explain this code:\n```{language}\n{code.rstrip()}\n```")
    if question and question.strip():
        parts.append(f"\nIn particular: {question.strip()}")
    return [ChatMessage("system", EXPLAIN_SYSTEM), ChatMessage("user", "\n".join(parts))]


GENERATE_SYSTEM = (
    "You write code for a Jupyter notebook, in the notebook's kernel, which already holds "
    "the variables and imports shown. Use the existing variables and their real column "
    "names; do not re-create or re-load data that exists, and do not repeat imports that "
    "were already run unless needed. Reply with one fenced code block and nothing else."
)


def build_generate_messages(
    instruction: str, context: str, namespace: str, language: str
) -> list[ChatMessage]:
    parts = []
    if context.strip():
        parts.append(f"Code already run in the notebook:\n```{language}\n{context.rstrip()}\n```\n")
    if namespace.strip():
        parts.append(f"Live variables in the kernel:\n{namespace.rstrip()}\n")
    parts.append(f"Task: {instruction.strip()}")
    return [ChatMessage("system", GENERATE_SYSTEM), ChatMessage("user", "\n".join(parts))]
