"""Chat prompts for explanations and generated code, and the code in a chat
model's reply. Pure; table-tested."""

from __future__ import annotations

from collections.abc import Sequence

from jupyter_codegen.context.budget import MAX_CHARS_PER_TOKEN, CountTokens
from jupyter_codegen.engine.base import ChatMessage

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
    history: Sequence[ChatMessage], budget: int, count: CountTokens
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


def extract_code(text: str) -> str:
    """The code in a chat model's reply: the first fenced block, or, without
    fences, the reply itself. An unclosed fence (the reply was cut) still counts."""
    lines = text.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("```")), None)
    if start is None:
        return text.strip()
    body = []
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("```"):
            break
        body.append(line)
    return "\n".join(body).strip("\n")
