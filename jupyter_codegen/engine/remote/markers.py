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

from jupyter_codegen.engine.base import ChatMessage, Segment
from jupyter_codegen.families import CHAT_MARKERS, FIM_TEMPLATES

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


def _template_tokens() -> set[str]:
    tokens: set[str] = set(CHAT_MARKERS)
    for template in FIM_TEMPLATES:
        for tok in template.special_tokens:
            tokens.add(tok)
            tokens.add(tok.lstrip("▁"))
    return tokens


class MarkerGuard:
    """Breaks every special-token marker in user text (see the module doc)."""

    def __init__(self, extra_tokens: Iterable[str] = ()):
        exact = {t for t in (*_template_tokens(), *extra_tokens) if len(t) > 1}
        # Longest first, then by text: the same pattern in every process.
        alternatives = [re.escape(t) for t in sorted(exact, key=lambda t: (-len(t), t))]
        self._pattern = re.compile("|".join([*alternatives, *MARKER_PATTERNS]))

    def neutralize(self, text: str) -> str:
        return self._pattern.sub(lambda m: m.group(0)[0] + ZWSP + m.group(0)[1:], text)

    def restore(self, text: str) -> str:
        """``text`` (what the model wrote) without the zero-width spaces that
        :meth:`neutralize` put into markers: a model asked to copy code back
        (a fix, an edit) copies them too, and they must not reach a cell."""
        if ZWSP not in text:
            return text
        out: list[str] = []
        start = 0
        while (at := text.find(ZWSP, start)) >= 0:
            # A marker is at most 70 characters; look at that much only.
            joined = text[at - 1 : at] + text[at + 1 : at + 80]
            out.append(text[start:at])
            if at == 0 or self._pattern.match(joined) is None:
                out.append(ZWSP)  # the model's own, or the user's
            start = at + 1
        out.append(text[start:])
        return "".join(out)

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
