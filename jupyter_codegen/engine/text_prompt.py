"""Prompts as text, for an inference server that tokenizes them itself.

A server such as vLLM parses marker strings like ``<|fim_prefix|>`` in a
prompt as special tokens. A local engine tokenizes the user's text with those
markers split (``split_special_tokens``); a remote one cannot. So before a
prompt is sent, every marker-like string in the user's text is broken with a
zero-width space after its first character: the model still reads the code
almost unchanged, but no tokenizer matches the marker any more. Only the
template's own special segments stay intact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..prompts import FIM_TEMPLATES, TEMPLATES_BY_FAMILY
from .base import ChatMessage, Segment

ZWSP = "\u200b"

#: Marker shapes of the code-model families we know, beyond exact token lists:
#: ``<|...|>`` (Qwen, ChatML, CodeGemma), the full-width ones of DeepSeek, the
#: StarCoder and CodeLlama markers, and ``<s>``/``</s>`` (Llama BOS/EOS).
MARKER_PATTERNS = (
    r"<\|[^<>|\s]{1,64}\|>",
    r"<｜[^<>｜\s]{1,64}｜>",
    r"<(?:fim_[a-z]+|file_sep|filename|gh_stars|reponame|empty_output|"
    r"(?:jupyter|issue|commit|pr)_[a-z_]+)>",
    r"<(?:PRE|SUF|MID|EOT)>",
    r"</?s>",
)

#: The chat-format tokens that a chat template wraps messages in.
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>")


def _template_tokens() -> set[str]:
    tokens: set[str] = set(CHAT_MARKERS)
    for template in FIM_TEMPLATES:
        for tok in (template.prefix, template.suffix, template.middle, *template.stop_tokens):
            if tok:
                tokens.add(tok)
                tokens.add(tok.lstrip("▁"))
    return tokens


class MarkerGuard:
    """Breaks every special-token marker in user text (see the module doc)."""

    def __init__(self, extra_tokens: Iterable[str] = ()):
        exact = {t for t in (*_template_tokens(), *extra_tokens) if len(t) > 1}
        alternatives = [re.escape(t) for t in sorted(exact, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*alternatives, *MARKER_PATTERNS]))

    def neutralize(self, text: str) -> str:
        return self._pattern.sub(lambda m: m.group(0)[0] + ZWSP + m.group(0)[1:], text)

    def render(self, segments: Sequence[Segment]) -> str:
        """The prompt as one string: special segments as their marker text,
        text segments neutralized."""
        return "".join(
            special_text(seg.text) if seg.special else self.neutralize(seg.text) for seg in segments
        )

    def messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        """Chat messages for the server, their content neutralized (the server's
        chat template puts them between role markers)."""
        return [{"role": m.role, "content": self.neutralize(m.content)} for m in messages]


def special_text(token: str) -> str:
    """How a special token is written in a text prompt. SentencePiece marks a
    leading space with ``▁`` (CodeLlama's ``▁<PRE>``); in text it is a space."""
    return token.replace("▁", " ")


# -- the family from the model's name ----------------------------------------

_NAME_FAMILIES = (
    (re.compile(r"qwen[\d.]*-?coder"), "qwen2.5-coder"),  # Qwen2.5-Coder, Qwen3-Coder
    (re.compile(r"codegemma"), "codegemma"),
    (re.compile(r"starcoder|codeqwen|stable-?code"), "starcoder"),
    (re.compile(r"deepseek-?coder"), "deepseek-coder"),
    (re.compile(r"code-?llama"), "codellama"),
)


def family_from_name(model: str | None) -> str | None:
    """The FIM family that a served model's name says (``Qwen/Qwen2.5-Coder-7B``,
    ``qwen2.5-coder:1.5b``, ``deepseek-coder-6.7b-base.Q4_K_M.gguf``), or None."""
    if not model:
        return None
    name = model.lower().replace("_", "-")
    for pattern, family in _NAME_FAMILIES:
        if pattern.search(name):
            return family
    return None


def family_tokens(family: str | None) -> set[str]:
    """The marker tokens of ``family``'s FIM template (empty if unknown or plain)."""
    template = TEMPLATES_BY_FAMILY.get(family or "")
    if template is None or not template.has_fim:
        return set()
    return {t for t in (template.prefix, template.suffix, template.middle) if t} | set(
        template.markers
    )
