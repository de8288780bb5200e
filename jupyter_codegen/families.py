"""Model families as data: each family's fill-in-the-middle markers, stop
tokens, the tokens that identify it in a vocabulary and the names it goes by.

Engine-neutral and pure: the local engine detects its family from its
vocabulary, the remote engine from what the server says about its model (or
its name), and the completion prompt is rendered from the family's markers.
Adding a family is one :class:`FimTemplate` entry in :data:`FIM_TEMPLATES`
(with its name pattern in :data:`_NAME_FAMILIES`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


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
