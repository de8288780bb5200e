"""The completion pipeline in order, without a model: the active cell is
parsed once per request, and each candidate's text is parsed and compiled at
most once; the prompt is a pure function of the request."""

from __future__ import annotations

from collections import Counter

import pytest

from jupyter_codegen.api.schemas import CompleteRequest
from jupyter_codegen.completion import pipeline
from jupyter_codegen.completion.pipeline import CompletionOptions, PromptSettings
from jupyter_codegen.context import syntax
from jupyter_codegen.context.budget import PromptBudget
from jupyter_codegen.engine.base import Candidate, GenerationResult
from jupyter_codegen.families import TEMPLATES_BY_FAMILY

QWEN = TEMPLATES_BY_FAMILY["qwen2.5-coder"]
SETTINGS = PromptSettings(QWEN, PromptBudget(total=400, suffix=40), lambda t: len(t.split()))
CELL_BEFORE = "def average(nums):\n    total = 0\n    for n in nums:\n        "
CELL_AFTER = "\n    return total / len(nums)\n"


def request(**kw) -> CompleteRequest:
    return CompleteRequest(
        prefix=CELL_BEFORE,
        suffix=CELL_AFTER,
        cells_before=[{"cell_type": "code", "source": "import math\nvalues = [1, 2, 3]"}],
        cells_after=[{"cell_type": "code", "source": "print(average(values))"}],
        **kw,
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Counter[str]]:
    """Every parse and compile of notebook text from the syntax module, by text."""
    calls: dict[str, Counter[str]] = {"parse": Counter(), "compile": Counter()}
    real_parse = syntax.parse

    def parse(text: str):
        calls["parse"][text] += 1
        return real_parse(text)

    def compile_(text, *args, **kwargs):
        calls["compile"][text] += 1
        return compile(text, *args, **kwargs)

    monkeypatch.setattr(syntax, "parse", parse)
    monkeypatch.setattr(syntax, "compile", compile_, raising=False)
    return calls


def test_the_active_cell_is_parsed_once_and_each_candidate_compiled_once(counted) -> None:
    # Given a request for three candidates
    prepared = pipeline.prepare(request(n=3), SETTINGS, max_tokens=16, candidates=3)
    # Then preparing it parsed the active cell once, and compiled nothing
    assert counted["parse"][CELL_BEFORE + CELL_AFTER] == 1
    assert sum(counted["parse"].values()) == 1 and not counted["compile"]
    # When three candidates come back, two of them the same text
    texts = ["total += n", "total = total + n", "total += n"]
    result = GenerationResult([Candidate(t, "stop", 3) for t in texts], prompt_tokens=50)
    completions = pipeline.finish(prepared, result)
    # Then both distinct texts are offered
    assert [c.text for c in completions] == ["total += n", "total = total + n"]
    # And the cell itself was never parsed again; each filled cell once
    assert counted["parse"][CELL_BEFORE + CELL_AFTER] == 1
    for text in ("total += n", "total = total + n"):
        filled = CELL_BEFORE + text + CELL_AFTER
        assert counted["parse"][filled] == 1 and counted["compile"][filled] == 1
    # And the cell as it is compiles once per request (its strictness), not per candidate
    assert counted["compile"][CELL_BEFORE + CELL_AFTER] == 1


def test_a_candidate_that_breaks_a_parsing_cell_is_dropped() -> None:
    prepared = pipeline.prepare(request(), SETTINGS, max_tokens=16, candidates=1)
    result = GenerationResult([Candidate("total += (n", "stop", 3)], prompt_tokens=50)
    assert pipeline.finish(prepared, result) == []


def test_the_prompt_is_a_function_of_the_request() -> None:
    first = pipeline.prepare(request(), SETTINGS, max_tokens=16, candidates=1)
    again = pipeline.prepare(request(), SETTINGS, max_tokens=16, candidates=1)
    assert first.prompt == again.prompt and first.generation.segments == again.generation.segments
    text = "".join(s.text for s in first.prompt.segments)
    # the context the cell uses comes first, the following cell after the hole
    assert text.startswith("<|fim_prefix|>import math\nvalues = [1, 2, 3]\n\ndef average")
    assert "print(average(values))<|fim_middle|>" in text
    cell_only = pipeline.prepare(
        request(), SETTINGS, max_tokens=16, candidates=1, options=CompletionOptions("cell")
    )
    assert "import math" not in "".join(s.text for s in cell_only.prompt.segments)


def test_the_layout_option_reaches_the_prompt() -> None:
    def text(layout: str) -> str:
        options = CompletionOptions(layout=layout)
        prepared = pipeline.prepare(
            request(), SETTINGS, max_tokens=16, candidates=1, options=options
        )
        return "".join(s.text for s in prepared.prompt.segments)

    assert text("psm").startswith("<|fim_prefix|>")
    assert text("spm").startswith("<|fim_suffix|>")
    assert text("files").startswith("<|file_sep|>notebook_cells_below.py\nprint(average(values))")
    with pytest.raises(ValueError, match="unknown prompt layout"):
        CompletionOptions(layout="mps")


def test_the_stop_check_ends_a_candidate_that_leaves_its_block() -> None:
    prepared = pipeline.prepare(request(), SETTINGS, max_tokens=16, candidates=1)
    check = prepared.generation.stop_check
    assert check is not None and prepared.analysis.scope == "block"
    assert check(0, "total += n") is False
    assert check(0, "\n    return total") is True
    # each candidate has its own state
    assert check(1, "total += n\n") is False
    unstopped = pipeline.prepare(
        request(),
        SETTINGS,
        max_tokens=16,
        candidates=1,
        options=CompletionOptions(early_stop=False),
    )
    assert unstopped.generation.stop_check is None


@pytest.mark.parametrize("reason", ["timeout", "length"])
@pytest.mark.parametrize(
    ("prefix", "suffix", "raw", "expected"),
    [
        # one line cut mid-way comes back up to where it can end, if the cell parses
        (
            "import pandas as pd\ndf = pd.DataFrame()\nout = ",
            "",
            "df.groupby('a').agg(",
            ["df.groupby('a')"],
        ),
        ("x = ", "", "f(1, 2) + g(", ["f(1, 2)"]),
        # nowhere to end: no suggestion rather than a cut-off name
        ("x = ", "", "compute_su", []),
        ("x = ", "", "[1, 2", []),
        # whole lines of a block stay; the cut-off line goes
        (
            CELL_BEFORE,
            CELL_AFTER,
            "total += n\n        count += 1\n        if n > ma",
            ["total += n\n        count += 1"],
        ),
        # a block header left without its body goes with it
        (CELL_BEFORE, CELL_AFTER, "total += n\n        if n > 0:\n            ", ["total += n"]),
    ],
)
def test_a_candidate_cut_short_comes_back_shorter_but_whole(
    reason: str, prefix: str, suffix: str, raw: str, expected: list[str]
) -> None:
    req = CompleteRequest(prefix=prefix, suffix=suffix)
    prepared = pipeline.prepare(req, SETTINGS, max_tokens=16, candidates=1)
    result = GenerationResult([Candidate(raw, reason, 9)], prompt_tokens=50)
    completions = pipeline.finish(prepared, result)
    assert [c.text for c in completions] == expected
    assert all(c.finish_reason == reason for c in completions)
    # and every one that comes back leaves the cell parsing
    for c in completions:
        compile(prefix + c.text + suffix, "<cell>", "exec")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sapply(df, mean) |> ro", ["sapply(df, mean)"]),
        ("sapply(df, me", []),
    ],
)
def test_outside_python_a_line_cut_short_ends_where_its_brackets_close(
    raw: str, expected: list[str]
) -> None:
    req = CompleteRequest(prefix="means <- ", language="r")
    prepared = pipeline.prepare(req, SETTINGS, max_tokens=16, candidates=1)
    result = GenerationResult([Candidate(raw, "timeout", 9)], prompt_tokens=50)
    assert [c.text for c in pipeline.finish(prepared, result)] == expected


def test_a_finished_candidate_is_not_shortened() -> None:
    req = CompleteRequest(prefix="x = ", suffix="")
    prepared = pipeline.prepare(req, SETTINGS, max_tokens=16, candidates=1)
    result = GenerationResult([Candidate("f(1, 2) + g(3)", "stop", 9)], prompt_tokens=50)
    assert [c.text for c in pipeline.finish(prepared, result)] == ["f(1, 2) + g(3)"]
