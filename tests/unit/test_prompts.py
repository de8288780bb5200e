"""FIM templates per model family, family detection and budgeting (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.context import first_that_fit, nearest_that_fit
from jupyter_codegen.engine.base import Segment
from jupyter_codegen.prompts import (
    PLAIN,
    TEMPLATES_BY_FAMILY,
    build_explain_messages,
    build_fim_prompt,
    build_generate_messages,
    detect_template,
    keep_head,
    keep_tail,
)


def words(text: str) -> int:
    """A stand-in token counter: one token per whitespace-separated word."""
    return len(text.split())


def rendered(segments: list[Segment]) -> str:
    return "".join(s.text for s in segments)


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("qwen2.5-coder", "<|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>"),
        ("codegemma", "<|fim_prefix|>def f(<|fim_suffix|>)\n<|fim_middle|>"),
        ("starcoder", "<fim_prefix>def f(<fim_suffix>)\n<fim_middle>"),
        ("deepseek-coder", "<｜fim▁begin｜>def f(<｜fim▁hole｜>)\n<｜fim▁end｜>"),
        ("codellama", "▁<PRE>def f(▁<SUF>)\n▁<MID>"),
        ("plain", "def f("),
    ],
)
def test_fim_template_renders_prefix_suffix_middle(family: str, expected: str) -> None:
    # Given a template and a hole between "def f(" and ")\n"
    template = TEMPLATES_BY_FAMILY[family]
    # When it renders
    segments = template.render("def f(", ")\n")
    # Then the markers are special segments and the code is plain text
    assert rendered(segments) == expected
    for seg in segments:
        assert seg.special == (seg.text in {template.prefix, template.suffix, template.middle})


@pytest.mark.parametrize(
    ("vocab", "family"),
    [
        ({"<|fim_prefix|>", "<|fim_middle|>", "<|fim_pad|>", "<|im_end|>"}, "qwen2.5-coder"),
        ({"<|fim_prefix|>", "<|fim_middle|>", "<|file_separator|>"}, "codegemma"),
        ({"<fim_prefix>", "<fim_middle>", "<fim_suffix>"}, "starcoder"),
        ({"<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"}, "deepseek-coder"),
        ({"▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"}, "codellama"),
        ({"<s>", "</s>", "hello"}, "plain"),
    ],
)
def test_detect_template_from_vocabulary(vocab: set[str], family: str) -> None:
    assert detect_template(vocab.__contains__).family == family


def test_detect_template_override_and_unknown() -> None:
    assert detect_template(lambda _t: False, "starcoder").family == "starcoder"
    with pytest.raises(ValueError, match="unknown FIM family 'gpt'"):
        detect_template(lambda _t: True, "gpt")


@pytest.mark.parametrize(
    ("text", "budget", "tail", "head"),
    [
        ("a b\nc d\ne f\n", 100, "a b\nc d\ne f\n", "a b\nc d\ne f\n"),
        ("a b\nc d\ne f\n", 4, "c d\ne f\n", "a b\nc d\n"),
        ("a b\nc d\ne f\n", 2, "e f\n", "a b\n"),
        ("a b\nc d\ne f\n", 0, "", ""),
        ("", 5, "", ""),
    ],
)
def test_keep_tail_and_head_keep_whole_lines(text: str, budget: int, tail: str, head: str) -> None:
    assert keep_tail(text, budget, words) == tail
    assert keep_head(text, budget, words) == head


def test_keep_tail_cuts_a_single_long_line_by_characters() -> None:
    line = " ".join(f"w{i}" for i in range(100))
    kept = keep_tail(line, 10, words)
    assert line.endswith(kept) and 0 < words(kept) <= 11


def nearest(before: list[str], after: list[str]):
    """A context selector: nearest cells before, then cells after, as fit."""

    def select(budget: int, with_after: bool) -> tuple[list[str], list[str]]:
        kept = nearest_that_fit(before, budget, words)
        used = sum(words(c + "\n\n") for c in kept)
        return kept, first_that_fit(after, budget - used, words) if with_after else []

    return select


def test_build_fim_prompt_gives_context_what_the_cell_leaves() -> None:
    # Given three earlier cells and a budget that fits the cell and two chunks
    template = TEMPLATES_BY_FAMILY["qwen2.5-coder"]
    before = ["import os", "x = 1", "y = 2"]
    # When the prompt is built
    prompt = build_fim_prompt(
        template, "z = ", "\nprint(z)", nearest(before, ["after = 3"]), 9, words
    )
    # Then the nearest cells come first, in notebook order, and the far one is dropped
    assert prompt.prefix_text == "x = 1\n\ny = 2\n\nz = "
    assert prompt.suffix_text == "\nprint(z)"
    assert prompt.prompt_tokens_estimate <= 9


def test_build_fim_prompt_uses_cells_after_when_budget_remains() -> None:
    template = TEMPLATES_BY_FAMILY["qwen2.5-coder"]
    prompt = build_fim_prompt(
        template, "z = ", "", nearest(["x = 1"], ["w = z", "v = w"]), 100, words
    )
    assert prompt.suffix_text == "\n\nw = z\n\nv = w"
    assert rendered(prompt.segments).startswith("<|fim_prefix|>x = 1\n\nz = <|fim_suffix|>")


def test_build_fim_prompt_clips_a_long_cell_and_skips_context() -> None:
    template = TEMPLATES_BY_FAMILY["qwen2.5-coder"]
    prefix = "".join(f"line{i} = {i}\n" for i in range(50))
    prompt = build_fim_prompt(template, prefix, "", nearest(["import os"], []), 30, words)
    assert "import os" not in prompt.prefix_text
    assert prompt.prefix_text.endswith("line49 = 49\n")
    assert words(prompt.prefix_text) <= 15


def test_plain_template_ignores_the_suffix() -> None:
    prompt = build_fim_prompt(PLAIN, "def f():\n    ", "\nf()", nearest([], ["g()"]), 100, words)
    assert rendered(prompt.segments) == "def f():\n    "


def test_explain_messages_carry_code_context_and_question() -> None:
    msgs = build_explain_messages(
        "df.groupby('a').sum()", "import pandas as pd", "Why sum?", "python"
    )
    assert [m.role for m in msgs] == ["system", "user"]
    user = msgs[1].content
    assert "```python\ndf.groupby('a').sum()\n```" in user
    assert "import pandas as pd" in user
    assert user.endswith("In particular: Why sum?")
    assert "Markdown" in msgs[0].content


def test_explain_messages_without_context_or_question() -> None:
    user = build_explain_messages("x = 1", "  ", None, "python")[1].content
    assert user == "Explain this code:\n```python\nx = 1\n```"


def test_generate_messages_carry_history_variables_and_task() -> None:
    msgs = build_generate_messages(
        "plot sales per region", "import pandas as pd", "sales: DataFrame", "python"
    )
    user = msgs[1].content
    assert "import pandas as pd" in user and "sales: DataFrame" in user
    assert user.endswith("Task: plot sales per region")
    assert "fenced code block" in msgs[0].content
