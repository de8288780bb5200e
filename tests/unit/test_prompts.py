"""FIM templates per model family, family detection and budgeting (table-driven)."""

from __future__ import annotations

import itertools

import pytest

from jupyter_codegen.chat.messages import (
    build_explain_messages,
    build_generate_messages,
    recent_turns,
)
from jupyter_codegen.completion.prompt import FimPrompt, fim_segments, fit_cell, render
from jupyter_codegen.context.budget import PromptBudget, keep_head, keep_tail, stable_tail
from jupyter_codegen.context.cells import first_that_fit, nearest_that_fit
from jupyter_codegen.context.live import live_block
from jupyter_codegen.engine.base import ChatMessage, Segment
from jupyter_codegen.families import PLAIN, TEMPLATES_BY_FAMILY, detect_template


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
    segments = fim_segments(template, "def f(", ")\n")
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
    with pytest.raises(ValueError, match=r"fim_family must be one of auto, .* not 'gpt'"):
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

    def select(budget: int, after_budget: int) -> tuple[list[str], list[str]]:
        return nearest_that_fit(before, budget, words), first_that_fit(after, after_budget, words)

    return select


QWEN = TEMPLATES_BY_FAMILY["qwen2.5-coder"]


def build_fim_prompt(template, prefix, suffix, select, budget, count, **kw) -> FimPrompt:
    """The pipeline's prompt steps in order: fit the cell, select context in
    what it leaves, render."""
    fit = fit_cell(template, prefix, suffix, budget, count, **kw)
    before, after = select(fit.before_budget, fit.after_budget)
    return render(template, fit, before, after, count)


def test_build_fim_prompt_gives_context_what_the_cell_leaves() -> None:
    # Given three earlier cells and a budget whose context share fits two of them
    before = ["import os", "x = 1", "y = 2"]
    budget = PromptBudget(total=16 * 4 + 4, suffix=2)
    # When the prompt is built
    prompt = build_fim_prompt(
        QWEN, "z = ", "\nprint(z)", nearest(before, ["after = 3"]), budget, words
    )
    # Then the cell takes one step of 16, the suffix its 2: 50 are left for context
    assert prompt.prefix_text == "import os\n\nx = 1\n\ny = 2\n\nz = "
    assert prompt.suffix_text == "\nprint(z)"
    # And a smaller budget drops the farthest cell first
    small = build_fim_prompt(
        QWEN, "z = ", "\nprint(z)", nearest(before, []), PromptBudget(16 + 4 + 5, 2), words
    )
    assert small.prefix_text == "x = 1\n\ny = 2\n\nz = "
    assert small.prompt_tokens_estimate <= 16 + 4 + 5


def test_following_cells_share_the_suffix_budget() -> None:
    after = ["w = z", "v = w", "u = v"]
    prompt = build_fim_prompt(
        QWEN, "z = ", "", nearest(["x = 1"], after), PromptBudget(100, 6), words
    )
    # Each following cell costs 3 "tokens" here: two fit the suffix's 6
    assert prompt.suffix_text == "\n\nw = z\n\nv = w"
    assert rendered(prompt.segments).startswith("<|fim_prefix|>x = 1\n\nz = <|fim_suffix|>")
    # A suffix that does not fit whole leaves no room for following cells
    long_suffix = "".join(f"s{i} = {i}\n" for i in range(20))
    clipped = build_fim_prompt(
        QWEN, "z = ", long_suffix, nearest([], after), PromptBudget(100, 6), words
    )
    assert clipped.suffix_text == "s0 = 0\ns1 = 1\n"


def test_build_fim_prompt_clips_a_long_cell_to_half_the_budget() -> None:
    prefix = "".join(f"line{i} = {i}\n" for i in range(50))
    prompt = build_fim_prompt(
        QWEN, prefix, "", nearest(["import os"], []), PromptBudget(60, 4), words
    )
    assert prompt.prefix_text.endswith("line49 = 49\n")
    assert words(prompt.prefix_text) <= 30 + 2


def test_spm_layout_puts_the_suffix_first() -> None:
    # Given the hole between "def f(" and ")\n" in the SPM layout
    segments = fim_segments(QWEN, "def f(", ")\n", "spm")
    # Then the code after the cursor comes before the code up to it
    assert rendered(segments) == "<|fim_suffix|>)\n<|fim_prefix|>def f(<|fim_middle|>"
    # And a family without FIM still gets the prefix alone
    assert rendered(fim_segments(PLAIN, "def f(", ")\n", "spm")) == "def f("


@pytest.mark.parametrize("layout", ["spm", "files"])
def test_layouts_with_a_stable_suffix_give_it_a_quarter_of_the_budget(layout: str) -> None:
    # Given a long cell after the cursor and a suffix budget of 4 words
    suffix = "".join(f"s{i} = {i}\n" for i in range(40))
    budget = PromptBudget(total=200, suffix=4)
    psm = fit_cell(QWEN, "z = ", suffix, budget, words)
    other = fit_cell(QWEN, "z = ", suffix, budget, words, layout=layout)
    # Then PSM keeps 4 words of it and the other layouts a quarter of 200
    assert words(psm.suffix) <= 4
    assert 4 < words(other.suffix) <= 50


def test_files_layout_shows_the_following_cells_as_another_file() -> None:
    after = ["w = z", "v = w"]
    prompt = build_fim_prompt(
        QWEN, "z = ", "\nprint(z)", nearest(["x = 1"], after), PromptBudget(100, 20), words
    )
    fit = fit_cell(QWEN, "z = ", "\nprint(z)", PromptBudget(100, 20), words, layout="files")
    files = render(QWEN, fit, ["x = 1"], after, words, layout="files")
    # Then the cells below come first, as a file of their own, and the hole
    # is between the cell's two halves in the notebook's file
    assert rendered(files.segments) == (
        "<|file_sep|>notebook_cells_below.py\nw = z\n\nv = w\n"
        "<|file_sep|>notebook.py\n"
        "<|fim_prefix|>x = 1\n\nz = <|fim_suffix|>\nprint(z)<|fim_middle|>"
    )
    # And what comes after the cursor is the same text as in PSM
    assert files.suffix_text == prompt.suffix_text == "\nprint(z)\n\nw = z\n\nv = w"
    # A family without a file separator keeps PSM
    starcoder_less = TEMPLATES_BY_FAMILY["deepseek-coder"]
    fallback = render(starcoder_less, fit, ["x = 1"], after, words, layout="files")
    assert rendered(fallback.segments) == rendered(
        render(starcoder_less, fit, ["x = 1"], after, words).segments
    )


def test_plain_template_ignores_the_suffix() -> None:
    prompt = build_fim_prompt(
        PLAIN, "def f():\n    ", "\nf()", nearest([], ["g()"]), PromptBudget(100, 20), words
    )
    assert rendered(prompt.segments) == "def f():\n    "


def test_stable_tail_moves_its_cut_in_steps_while_text_grows() -> None:
    # Given a cell typed one character at a time at its end
    text = "".join(f"value_{i} = compute({i}, {i + 1})\n" for i in range(200))
    cuts = []
    for end in range(2000, len(text), 7):
        kept = stable_tail(text[:end], 120, words, step_chars=300)
        assert words(kept) <= 120 and text[:end].endswith(kept)
        cuts.append(end - len(kept))
    # Then the cut moved only a few times, and each time by a step or more
    moves = [b - a for a, b in itertools.pairwise(cuts) if b != a]
    assert 0 < len(moves) < len(cuts) / 20
    assert all(m >= 300 for m in moves)
    # While keep_tail, which keeps all it can, moves with nearly every line
    tails = [end - len(keep_tail(text[:end], 120, words)) for end in range(2000, len(text), 7)]
    assert len(set(tails)) > 3 * len(set(cuts))


def test_stable_tail_keeps_whole_text_that_fits_and_clips_huge_lines() -> None:
    assert stable_tail("a = 1\nb = 2\n", 100, words, 50) == "a = 1\nb = 2\n"
    line = " ".join(f"w{i}" for i in range(10_000))
    kept = stable_tail(line, 10, words, 50)
    assert line.endswith(kept) and 0 < words(kept) <= 11


def test_the_prompt_head_survives_typing_in_the_cell() -> None:
    """What a prompt cache can reuse: typing at the cursor changes the prompt
    only from the cell's cut onwards, and the context rarely."""
    before = [f"def helper_{i}(x):\n    return x * {i}\n" for i in range(30)]
    target = "".join(f"total_{i} = helper_{i % 30}(data) + {i}\n" for i in range(40))
    budget = PromptBudget(total=400, suffix=16)
    prompts = [
        build_fim_prompt(QWEN, target[:end], "\nprint(total)\n", nearest(before, []), budget, words)
        for end in range(1, len(target), 3)
    ]
    context_changes = 0
    for old, new in itertools.pairwise(prompts):
        assert new.prompt_tokens_estimate <= budget.total
        assert old.prefix_text.startswith(old.head) and len(old.head) > 1000
        if new.head != old.head:
            context_changes += 1
    # The context share moves in steps of total // 8, and the cut of the cell in
    # steps too: a few dozen keystrokes share each prompt head.
    assert context_changes < len(prompts) / 10


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


CODE = "```python\nx = 1\n```"
INTRO = f"Explain this code:\n{CODE}"
U, A = "user", "assistant"


@pytest.mark.parametrize(
    ("history", "question", "expected"),
    [
        # No history: one user turn, as for a plain explanation.
        ([], None, [(U, INTRO)]),
        ([], "why?", [(U, f"{INTRO}\n\nIn particular: why?")]),
        # A follow-up: the code opens the first question, then the answer, then the new one.
        (
            [(U, "what is x?"), (A, "A name for 1.")],
            "and why 1?",
            [(U, f"{INTRO}\n\nIn particular: what is x?"), (A, "A name for 1."), (U, "and why 1?")],
        ),
        # A follow-up on a plain explanation (its user turn was empty).
        (
            [(U, ""), (A, "It binds x.")],
            "to what?",
            [(U, INTRO), (A, "It binds x."), (U, "to what?")],
        ),
        # History that starts with the answer: the code still comes first.
        (
            [(A, "It binds x.")],
            "to what?",
            [(U, INTRO), (A, "It binds x."), (U, "to what?")],
        ),
        # Turns of one role in a row are joined, so roles alternate.
        (
            [(U, "first"), (U, "second"), (A, "answer"), (A, "more")],
            "third",
            [
                (U, f"{INTRO}\n\nIn particular: first\n\nsecond"),
                (A, "answer\n\nmore"),
                (U, "third"),
            ],
        ),
        # A follow-up without a question asks for the explanation; an empty answer is marked.
        (
            [(U, "what is x?"), (A, "  ")],
            None,
            [
                (U, f"{INTRO}\n\nIn particular: what is x?"),
                (A, "(no answer)"),
                (U, "Explain this code."),
            ],
        ),
    ],
)
def test_explain_messages_with_history(
    history: list[tuple[str, str]], question: str | None, expected: list[tuple[str, str]]
) -> None:
    turns = [ChatMessage(role, content) for role, content in history]  # type: ignore[arg-type]
    msgs = build_explain_messages("x = 1", "", question, "python", turns)
    assert msgs[0].role == "system"
    assert [(m.role, m.content) for m in msgs[1:]] == expected


@pytest.mark.parametrize(
    ("contents", "budget", "kept"),
    [
        ([], 10, []),
        (["a b", "c d e", "f"], 10, ["a b", "c d e", "f"]),
        # The newest turns that fit; the oldest go first.
        (["a b", "c d e", "f"], 4, ["c d e", "f"]),
        (["a b", "c d e", "f"], 1, ["f"]),
        (["a b", "c d e", "f"], 0, []),
        # An older turn that would fit after one that does not is dropped too.
        (["a", "b c d e f", "g"], 3, ["g"]),
        # Too many characters to fit is decided without counting tokens.
        (["x" * 100, "y"], 5, ["y"]),
    ],
)
def test_recent_turns_keep_the_newest_that_fit(
    contents: list[str], budget: int, kept: list[str]
) -> None:
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return words(text)

    turns = [ChatMessage("user" if i % 2 == 0 else "assistant", c) for i, c in enumerate(contents)]
    assert [t.content for t in recent_turns(turns, budget, count)] == kept
    assert all(len(text) <= 8 * budget for text in counted)


def test_generate_messages_carry_history_variables_and_task() -> None:
    msgs = build_generate_messages(
        "plot sales per region", "import pandas as pd", "sales: DataFrame", "python"
    )
    user = msgs[1].content
    assert "import pandas as pd" in user and "sales: DataFrame" in user
    assert user.endswith("Task: plot sales per region")
    assert "fenced code block" in msgs[0].content


# -- the live kernel's variables -----------------------------------------------

DF = "df: pandas DataFrame, shape (3, 2), columns {'Unit Price': float64}"
NS = DF + "\nx: int = 3\ncfg: dict"
HEADER = "# Live variables in the kernel (name: type, ...):"


@pytest.mark.parametrize(
    ("namespace", "budget", "comment", "expected"),
    [
        ("", 100, "# ", ""),
        ("  \n\n", 100, "# ", ""),
        (
            NS,
            100,
            "# ",
            HEADER + "\n# df: pandas DataFrame, shape (3, 2), columns {'Unit Price': float64}"
            "\n# x: int = 3\n# cfg: dict",
        ),
        # Whole lines, as far as the budget goes (header: 9 words, then 11, 5 and 3)
        (NS, 9 + 11 + 5, "# ", HEADER + f"\n# {DF}\n# x: int = 3"),
        (NS, 9 + 11 + 4, "# ", HEADER + f"\n# {DF}\n# cfg: dict"),  # x left out
        (NS, 9 + 11, "# ", HEADER + f"\n# {DF}"),
        # The first line, too long for the budget, is cut after a ", "
        (NS, 9 + 6, "# ", HEADER + "\n# df: pandas DataFrame, ..."),
        (NS, 9 + 4, "# ", HEADER + "\n# cfg: dict"),  # none cut short enough: the next
        (NS, 9, "# ", ""),
        (NS, 0, "# ", ""),
        # Blank lines dropped, lines stripped, each one commented: no way out of the comment
        (
            " a: int = 1 \n\n b: str = 'x\r'\n",
            100,
            "-- ",
            "-- Live variables in the kernel (name: type, ...):\n"
            "-- a: int = 1\n-- b: str = 'x\n-- '",
        ),
    ],
)
def test_live_block(namespace: str, budget: int, comment: str, expected: str) -> None:
    block = live_block(namespace, budget, words, comment)
    assert block == expected
    assert words(block) <= max(budget, 0)
    assert all(line.startswith(comment) for line in block.splitlines())


def test_an_empty_namespace_leaves_the_prompt_byte_identical() -> None:
    """The notebook evaluation has no live kernel: its prompts must not move."""
    before = ["import os", "x = 1", "y = 2"]
    for budget in (PromptBudget(68, 2), PromptBudget(400, 16), PromptBudget(25, 2)):
        for template in (QWEN, PLAIN):
            args = (template, "z = ", "\nprint(z)", nearest(before, ["a = 1"]), budget, words)
            old = build_fim_prompt(*args)
            for empty in ("", "\n", "   "):
                new = build_fim_prompt(*args, namespace=empty)
                assert new == old and rendered(new.segments) == rendered(old.segments)
                assert new.live == ""


def test_the_live_block_comes_first_within_a_quarter_of_the_budget() -> None:
    before = [f"c{i} = {i}" for i in range(40)]
    budget = PromptBudget(total=200, suffix=10)
    many = "\n".join(f"v{i}: int = {i}" for i in range(100))
    prompt = build_fim_prompt(QWEN, "z = ", "", nearest(before, []), budget, words, namespace=many)
    # Then it opens the prompt, before the other cells, and the cell follows them
    assert prompt.live and prompt.head.startswith(prompt.live + "\n\n")
    assert rendered(prompt.segments).startswith("<|fim_prefix|>" + HEADER + "\n# v0: int = 0\n")
    assert prompt.prefix_text.endswith("c39 = 39\n\nz = ")
    # And it takes at most a quarter of the budget; the whole prompt fits
    assert words(prompt.live) <= 200 // 4
    assert words(rendered(prompt.segments)) <= 200 and prompt.prompt_tokens_estimate <= 200
    # And the other cells got less room than without it
    plain = build_fim_prompt(QWEN, "z = ", "", nearest(before, []), budget, words)
    cells_with = prompt.head[len(prompt.live) + 2 :].count("\n\n")
    assert 0 < cells_with < plain.head.count("\n\n")


def test_the_live_block_keeps_the_prompt_head_stable_while_typing() -> None:
    before = [f"def helper_{i}(x):\n    return x * {i}\n" for i in range(30)]
    target = "".join(f"total_{i} = helper_{i % 30}(data) + {i}\n" for i in range(40))
    namespace = "data: pandas DataFrame, shape (9, 2), columns {'Größe (m)': float64, 'n#': int64}"
    budget = PromptBudget(total=400, suffix=16)
    prompts = [
        build_fim_prompt(
            QWEN, target[:end], "\n", nearest(before, []), budget, words, namespace=namespace
        )
        for end in range(1, len(target), 3)
    ]
    # Every prompt starts with the same live block, then the context
    assert {p.live for p in prompts} == {HEADER + "\n# " + namespace}
    assert all(rendered(p.segments).startswith("<|fim_prefix|>" + p.live + "\n\n") for p in prompts)
    changes = sum(new.head != old.head for old, new in itertools.pairwise(prompts))
    assert changes < len(prompts) / 10


def test_explain_messages_carry_the_live_variables() -> None:
    user = build_explain_messages("df.x.mean()", "", None, "python", namespace="df: DataFrame")[
        1
    ].content
    assert "Live variables in the kernel:\ndf: DataFrame" in user
    assert "Live variables" not in build_explain_messages("x", "", None, "python")[1].content
