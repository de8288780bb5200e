"""The served model's fill-in-the-middle family, from what the server says.

By the first that answers: the administrator's ``fim_family`` ("setting");
the served model's own vocabulary as the server tokenizes it, else the
configured tokenizer file's ("vocabulary"); the server's prompt template for
it (Ollama's spells the FIM markers), the names its metadata gives it, such
as GGUF ``general.name`` ("metadata"); the name it is served under
("name"); else plain ("default"). A plain family for a model whose names or
metadata suggest that it fills in the middle comes with a warning, logged
and shown in the status: its completions then drop the code after the cursor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jupyter_codegen.engine.remote.discover import ServerFacts
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.families import (
    FIM_TEMPLATES,
    PLAIN,
    TEMPLATES_BY_FAMILY,
    FimTemplate,
    check_family,
    detect_template,
    family_from_name,
)

#: Words in a model's name that suggest a code model with fill-in-the-middle.
CODE_NAME = re.compile(r"cod(e|er|ing)|fim|infill", re.IGNORECASE)


@dataclass(frozen=True)
class FamilyChoice:
    template: FimTemplate
    source: str  # "setting", "vocabulary", "metadata", "name" or "default"
    detail: str  # what said so, e.g. "llama.cpp /tokenize"
    warning: str | None = None


def choose(
    setting: str, facts: ServerFacts, counter: TokenCounter, served: str | None
) -> FamilyChoice:
    choice = _choose(check_family(setting), facts, counter, served)
    if choice.template is not PLAIN:
        return choice
    hints = [facts.fim_hint] if facts.fim_hint else []
    for where, name in [*facts.names, ("the served name", served or "")]:
        if name and (family_from_name(_normal(name)) or CODE_NAME.search(name)):
            hints.append(f"{where} is {name!r}")
    if not hints:
        return choice
    warning = (
        f"the model's family is plain (no fill-in-the-middle: completions ignore the code after "
        f"the cursor), from {choice.detail}, although {'; '.join(hints[:3])}. If the model "
        "fills in the middle, set CodegenApp.fim_family (e.g. qwen2.5-coder)"
    )
    return FamilyChoice(choice.template, choice.source, choice.detail, warning)


def _choose(
    setting: str, facts: ServerFacts, counter: TokenCounter, served: str | None
) -> FamilyChoice:
    if setting != "auto":
        return FamilyChoice(TEMPLATES_BY_FAMILY[setting], "setting", "CodegenApp.fim_family")
    single = facts.single_tokens
    if single is not None:
        return FamilyChoice(
            detect_template(lambda token: token in single), "vocabulary", facts.vocabulary_from
        )
    if counter.exact:
        template = detect_template(lambda token: bool(counter.has_token(token)))
        return FamilyChoice(template, "vocabulary", f"the tokenizer file {counter.source}")
    named = [(where, family_from_name(_normal(name)), name) for where, name in facts.names]
    spelled = [
        t
        for t in FIM_TEMPLATES
        if facts.template and all(m.lstrip("▁") in facts.template for m in _fim_markers(t))
    ]
    if spelled:  # families share markers: the one a name says, else the first
        said = {family for _, family, _ in named} | {family_from_name(served)}
        template = next((t for t in spelled if t.family in said), spelled[0])
        return FamilyChoice(template, "metadata", "Ollama's prompt template")
    for where, family, name in named:
        if family is not None:
            return FamilyChoice(TEMPLATES_BY_FAMILY[family], "metadata", f"{where} {name!r}")
    family = family_from_name(served)
    if family is not None:
        return FamilyChoice(TEMPLATES_BY_FAMILY[family], "name", f"the served name {served!r}")
    return FamilyChoice(PLAIN, "default", "no vocabulary, metadata or name that says otherwise")


def _fim_markers(template: FimTemplate) -> list[str]:
    return [m for m in (template.prefix, template.suffix, template.middle) if m]


def _normal(name: str) -> str:
    """A metadata name as a model id: "Qwen2.5 Coder 1.5B" -> "qwen2.5-coder-1.5b"."""
    return "-".join(name.split())
