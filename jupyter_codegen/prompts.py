"""Prompt templates by model family: fill-in-the-middle and explanations.

Everything here is pure: it takes text and a token counter and returns prompt
segments, so it is tested table-driven without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .engine.base import ChatMessage, Segment

TokenCounter = Callable[[str], int]
#: Given the tokens for text before the active cell and for text after it (0:
#: none), the context chunks to put before the active cell and after it.
ContextSelector = Callable[[int, int], tuple[Sequence[str], Sequence[str]]]

#: No token of a code tokenizer spans more characters than this (long runs of
#: spaces are the longest), so text beyond ``tokens * MAX_CHARS_PER_TOKEN``
#: characters is clipped before anything is tokenized.
MAX_CHARS_PER_TOKEN = 8


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

    If even the last line does not fit, its tail is cut by characters. The
    text is clipped by characters first, so a huge text costs no more to
    tokenize than one of about ``budget`` tokens.
    """
    if budget <= 0 or not text:
        return ""
    if len(text) > budget * MAX_CHARS_PER_TOKEN:
        text = text[-budget * MAX_CHARS_PER_TOKEN :]
        start = text.find("\n") + 1  # whole lines only, unless it is all one line
        text = text[start:] if 0 < start < len(text) else text
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
    if len(text) > budget * MAX_CHARS_PER_TOKEN:
        text = text[: budget * MAX_CHARS_PER_TOKEN]
        end = text.rfind("\n") + 1  # whole lines only, unless it is all one line
        text = text[:end] if end > 0 else text
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


def stable_tail(text: str, budget: int, count: TokenCounter, step_chars: int) -> str:
    """The end of ``text`` within ``budget`` tokens, cut where typing at its end
    does not move the cut.

    The cut may only fall at line starts spaced at least ``step_chars`` apart,
    counted from the start of ``text``: appending text moves
    the cut only when the kept part outgrows the budget, and then by at least
    ``step_chars``, so the prompt's head, and the computation cached for it,
    survives many keystrokes. Falls back to :func:`keep_tail` when no such cut
    fits (a single huge line).
    """
    if budget <= 0 or not text:
        return ""
    window = len(text) - budget * MAX_CHARS_PER_TOKEN
    if window <= 0 and count(text) <= budget:
        return text
    # Candidate cuts: line starts, each the first at least step_chars after the
    # one before (counted from the start, so typing at the end moves none).
    cuts: list[int] = []
    mark, offset = step_chars, 0
    for line in text.splitlines(keepends=True):
        if offset >= mark:
            if offset >= window:  # a longer tail could not fit: no need to try it
                cuts.append(offset)
            mark = offset + step_chars
        offset += len(line)
    # The earliest cut whose tail fits (tails shrink as the cut moves right).
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if count(text[cuts[mid] :]) <= budget:
            best, hi = cuts[mid], mid - 1
        else:
            lo = mid + 1
    return text[best:] if best is not None else keep_tail(text, budget, count)


@dataclass(frozen=True)
class PromptBudget:
    """How a completion prompt's tokens are shared out.

    - ``total``: the whole prompt;
    - ``suffix``: the most for text after the cursor (the rest of the cell,
      then following cells). All of it is computed again on every keystroke,
      since it comes after the edit in the prompt, so it is kept short where
      computing is slow;
    - the active cell before the cursor gets at most half of ``total``;
    - the live kernel's variables, if any, get at most a quarter of ``total``;
    - the context before the cell gets the rest, with the cell's share rounded
      up to a multiple of ``total // 8``, so that what the context may use (and
      so the context itself) changes only every few lines of typing.
    """

    total: int
    suffix: int

    @property
    def prefix(self) -> int:
        return self.total // 2

    @property
    def step(self) -> int:
        return max(16, self.total // 8)

    @property
    def live(self) -> int:
        """The most for the live kernel's variables (a quarter of ``total``)."""
        return self.total // 4


#: The first line of the live-variables block in a completion prompt.
LIVE_HEADER = "Live variables in the kernel (name: type, ...):"


def live_block(namespace: str, budget: int, count: TokenCounter, comment: str = "# ") -> str:
    """The kernel's variable descriptions (``namespace``, one per line, the
    most relevant first) as a comment block for a completion prompt: a header,
    then one commented line per description, within ``budget`` tokens. A line
    that does not fit is left out (a later, shorter one may still fit), except
    the first, which is cut after one of its ", " (a frame with many columns
    keeps its first ones). Empty if nothing fits or there is nothing.

    Each line is commented, so the text cannot leave the comment whatever it
    holds; the block depends on ``namespace`` and ``budget`` only, so it is a
    stable start of the prompt while the user types.
    """
    if budget <= 0 or not namespace.strip():
        return ""
    header = f"{comment}{LIVE_HEADER}\n"
    left = budget - count(header)
    kept: list[str] = []
    lines = [line.strip() for line in namespace.splitlines()]
    for line in [line for line in lines if line][:MAX_LIVE_LINES]:
        if left <= 0:
            break
        text = f"{comment}{line}\n"
        cost = count(text)
        if cost > left:
            if kept:
                continue
            text = _cut_line(text, left, count)
            if not text:
                continue
            cost = count(text)
        kept.append(text)
        left -= cost
    return (header + "".join(kept)).rstrip("\n") if kept else ""


#: The most description lines that :func:`live_block` looks at.
MAX_LIVE_LINES = 200


def _cut_line(text: str, budget: int, count: TokenCounter) -> str:
    """``text`` cut after its last ", " that leaves it (with ", ...") within
    ``budget`` tokens, or "" if none does."""
    text = text.rstrip("\n")[: budget * MAX_CHARS_PER_TOKEN]
    cuts = [i for i in range(len(text)) if text.startswith(", ", i)]
    lo, hi, best = 0, len(cuts) - 1, ""
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = text[: cuts[mid]] + ", ...\n"
        if count(candidate) <= budget:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


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
    count: TokenCounter,
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
        template.render(full_prefix, full_suffix), full_prefix, full_suffix, used, head, live
    )


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
    history: Sequence[ChatMessage] = (),
    namespace: str = "",
) -> list[ChatMessage]:
    """The chat about ``code``: the code (and the earlier cells) open the first
    user turn, then the earlier turns of ``history`` (oldest first), then
    ``question``. Turns alternate: consecutive turns of one role are joined."""
    parts = []
    if context.strip():
        parts.append(
            f"Earlier cells of the notebook, for context:\n```{language}\n{context.rstrip()}\n```\n"
        )
    if namespace.strip():
        parts.append(f"Live variables in the kernel:\n{namespace.rstrip()}\n")
    parts.append(f"Explain this code:\n```{language}\n{code.rstrip()}\n```")
    intro = "\n".join(parts)
    turns = [(t.role, t.content.strip()) for t in history if t.role in ("user", "assistant")]
    turns.append(("user", (question or "").strip()))
    if turns[0][0] != "user":
        turns.insert(0, ("user", ""))
    messages = [ChatMessage("system", EXPLAIN_SYSTEM)]
    for i, (role, content) in enumerate(turns):
        if i == 0:
            content = f"{intro}\n\nIn particular: {content}" if content else intro
        elif not content:
            content = "Explain this code." if role == "user" else "(no answer)"
        last = messages[-1]
        if i > 0 and last.role == role:
            messages[-1] = ChatMessage(role, f"{last.content}\n\n{content}")
        else:
            messages.append(ChatMessage(role, content))
    return messages


def recent_turns(
    history: Sequence[ChatMessage], budget: int, count: TokenCounter
) -> list[ChatMessage]:
    """The newest turns of ``history`` whose tokens fit ``budget`` together;
    older turns are dropped whole (a turn too long by itself ends the run)."""
    kept: list[ChatMessage] = []
    used = 0
    for turn in reversed(history):
        if len(turn.content) > (budget - used) * MAX_CHARS_PER_TOKEN:
            break  # more tokens than are left, without tokenizing it
        tokens = count(turn.content)
        if used + tokens > budget:
            break
        kept.append(turn)
        used += tokens
    return kept[::-1]


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
