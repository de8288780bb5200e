"""Model families as data: each family's fill-in-the-middle markers, stop
tokens, the tokens that identify it in a vocabulary and the names it goes by.

Engine-neutral and pure: the local engine detects its family from its
vocabulary, the remote engine from what the server tells of its model (the
vocabulary of a configured tokenizer, then the model's name), and the
completion prompt is rendered from the family's markers. Adding a family is
one :class:`FimTemplate` entry in :data:`FIM_TEMPLATES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
    #: A pattern that a served model's name matches (searched in the name
    #: lower-cased, with "_" as "-"), e.g. ``Qwen/Qwen2.5-Coder-7B``.
    names: str = ""
    #: The token that starts another file of a repository-level prompt (the
    #: family was trained on several files in one prompt); None: none.
    file_sep: str | None = None

    @property
    def has_fim(self) -> bool:
        return self.prefix is not None

    @property
    def special_tokens(self) -> frozenset[str]:
        """Every special token the family's prompts and stops use."""
        return frozenset(
            t for t in (self.prefix, self.suffix, self.middle, *self.stop_tokens) if t
        ) | frozenset(self.markers)


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
        names=r"qwen[\d.]*-?coder",  # Qwen2.5-Coder, Qwen3-Coder
        file_sep="<|file_sep|>",
    ),
    FimTemplate(
        family="codegemma",
        prefix="<|fim_prefix|>",
        suffix="<|fim_suffix|>",
        middle="<|fim_middle|>",
        stop_tokens=("<|file_separator|>", "<|fim_prefix|>", "<eos>"),
        markers=("<|fim_prefix|>", "<|file_separator|>"),
        names=r"codegemma",
    ),
    FimTemplate(
        family="starcoder",
        prefix="<fim_prefix>",
        suffix="<fim_suffix>",
        middle="<fim_middle>",
        stop_tokens=("<|endoftext|>", "<file_sep>", "<fim_prefix>"),
        markers=("<fim_prefix>", "<fim_middle>"),
        names=r"starcoder|codeqwen|stable-?code",
        file_sep="<file_sep>",
    ),
    FimTemplate(
        family="deepseek-coder",
        prefix="<｜fim▁begin｜>",
        suffix="<｜fim▁hole｜>",
        middle="<｜fim▁end｜>",
        stop_tokens=("<｜end▁of▁sentence｜>", "<|EOT|>"),
        markers=("<｜fim▁begin｜>", "<｜fim▁hole｜>"),
        names=r"deepseek-?coder",
    ),
    FimTemplate(
        family="codellama",
        prefix="▁<PRE>",
        suffix="▁<SUF>",
        middle="▁<MID>",
        stop_tokens=("▁<EOT>", "</s>"),
        markers=("▁<PRE>", "▁<MID>"),
        names=r"code-?llama",
    ),
)

#: No fill-in-the-middle: a left-to-right continuation of the prefix.
PLAIN = FimTemplate(
    family="plain", prefix=None, suffix=None, middle=None, stop_tokens=(), markers=()
)

TEMPLATES_BY_FAMILY = {t.family: t for t in (*FIM_TEMPLATES, PLAIN)}

#: The chat-format tokens that chat templates wrap messages in (ChatML, Gemma).
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<start_of_turn>", "<end_of_turn>")


def check_family(name: str) -> str:
    """``name`` if it is "auto" or a known family, else ValueError naming them."""
    if name != "auto" and name not in TEMPLATES_BY_FAMILY:
        known = ", ".join(["auto", *TEMPLATES_BY_FAMILY])
        raise ValueError(f"fim_family must be one of {known}, not {name!r}")
    return name


def detect_template(has_token: Callable[[str], bool], override: str = "auto") -> FimTemplate:
    """Pick the FIM template whose marker tokens the vocabulary has.

    Detecting by vocabulary rather than by model name also covers fine-tunes
    and local copies. ``override`` names a family explicitly.
    """
    if override and override != "auto":
        return TEMPLATES_BY_FAMILY[check_family(override)]
    for template in FIM_TEMPLATES:
        if all(has_token(tok) for tok in template.markers):
            return template
    return PLAIN


def family_from_name(model: str | None) -> str | None:
    """The FIM family that a served model's name says (``Qwen/Qwen2.5-Coder-7B``,
    ``qwen2.5-coder:1.5b``, ``deepseek-coder-6.7b-base.Q4_K_M.gguf``), or None."""
    if not model:
        return None
    name = model.lower().replace("_", "-")
    for template in FIM_TEMPLATES:
        if template.names and re.search(template.names, name):
            return template.family
    return None


def choose_family(
    setting: str = "auto",
    *,
    has_token: Callable[[str], bool] | None = None,
    names: Iterable[str | None] = (),
) -> tuple[FimTemplate, str]:
    """The family of a model and where it came from, by the first that says:
    the ``setting`` ("setting"), the vocabulary (``has_token``: "vocabulary"),
    each of ``names`` in order ("name"), else plain ("default")."""
    if setting and setting != "auto":
        return TEMPLATES_BY_FAMILY[check_family(setting)], "setting"
    if has_token is not None:
        return detect_template(has_token), "vocabulary"
    for name in names:
        family = family_from_name(name)
        if family is not None:
            return TEMPLATES_BY_FAMILY[family], "name"
    return PLAIN, "default"
