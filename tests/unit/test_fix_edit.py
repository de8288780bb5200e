"""Fixing an error and editing a selection, without a model: reading the
kernel's traceback, placing its frames in the notebook's cells, the prompt's
cells, and reading the model's reply back (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.api.schemas import EditPrefetchRequest, EditRequest, FixRequest
from jupyter_codegen.chat.edit import read_edit, selected
from jupyter_codegen.chat.fix import diagnose, fix_messages, live_lines, read_fix
from jupyter_codegen.chat.pipeline import EDIT_INSTRUCTION_TOKENS, ChatSettings, edit_generation
from jupyter_codegen.chat.traceback import frames, locate, names_on, plain
from jupyter_codegen.context.budget import PromptBudget

E = "\x1b"


def colour(text: str) -> str:
    return f"{E}[32m{text}{E}[39m"


#: As ipykernel 6 / IPython 8 send it: a helper in an earlier cell raised.
TRACEBACK = [
    f"{E}[31m---------------------------------------------------------------------------{E}[39m",
    f"{E}[31mKeyError{E}[39m                                  Traceback (most recent call last)",
    f"{E}[36mCell{E}[39m{E}[36m {E}[39m{colour('In[7]')}{colour(', line 1')}\n"
    f"{colour('----> ')}{colour('1')} patients = add_bmi(patients)\n"
    f'{colour("      2")} patients[{E}[33m"bmi"{E}[39m].describe()\n',
    f"{E}[36mCell{E}[39m{E}[36m {E}[39m{colour('In[3]')}{colour(', line 4')}, in {E}[36madd_bmi"
    f"{E}[39m{E}[34m(df){E}[39m\n"
    f'{colour("      2")} {E}[33m"""Add the BMI."""{E}[39m\n'
    f"{colour('      3')} out = df.copy()\n"
    f'{colour("----> ")}{colour("4")} out["bmi"] = out["weight_kg"] / out["height_m"] ** 2\n'
    f"{colour('      5')} {E}[38;5;28;01mreturn{E}[39;00m out\n",
    f"{E}[36mFile {E}[39m{colour('/venv/lib/pandas/core/frame.py:4107')}, in "
    f"{E}[36mDataFrame.__getitem__{E}[39m{E}[34m(self, key){E}[39m\n"
    f"{colour('   4105')} {E}[38;5;28;01mif{E}[39;00m is_hashable(key):\n"
    f"{colour('-> 4107')}     indexer = self.columns.get_loc(key)\n",
    f"{E}[31mKeyError{E}[39m: 'height_m'",
]
CELLS = [
    {"cell_type": "code", "source": "import pandas as pd\npatients = pd.read_csv('a.csv')"},
    {"cell_type": "markdown", "source": "## Helpers"},
    {
        "cell_type": "code",
        "source": 'def add_bmi(df):\n    """Add the BMI."""\n    out = df.copy()\n'
        '    out["bmi"] = out["weight_kg"] / out["height_m"] ** 2\n    return out',
    },
]
FAILING = 'patients = add_bmi(patients)\npatients["bmi"].describe()'


def request(**kw) -> FixRequest:
    return FixRequest.model_validate(
        {
            "cells_before": CELLS,
            "cell": FAILING,
            "error": {"ename": "KeyError", "evalue": "'height_m'", "traceback": TRACEBACK},
            "namespace": "x: int = 1\npatients: pandas DataFrame, shape (10, 6), columns "
            "{'weight_kg': float64, 'height_cm': int64}\nadd_bmi: function(df)",
            **kw,
        }
    )


def test_frames_are_read_from_the_coloured_output() -> None:
    found = frames(TRACEBACK)
    assert [(f.cell, f.line, f.function) for f in found] == [
        (True, 1, None),
        (True, 4, "add_bmi"),
        (False, 4107, "DataFrame.__getitem__"),
    ]
    assert found[1].current == 'out["bmi"] = out["weight_kg"] / out["height_m"] ** 2'
    assert found[2].path == "/venv/lib/pandas/core/frame.py"
    assert "\x1b" not in plain(TRACEBACK[2])


def test_a_hostile_traceback_is_read_in_bounded_work(monkeypatch: pytest.MonkeyPatch) -> None:
    import jupyter_codegen.chat.traceback as tb

    # Given a frame whose lines are 100,000 blanks (a quadratic pattern would
    # take minutes on each, holding the GIL) and one long real line
    blanks = " " * 100_000
    long_line = "----> 2 x = " + "1 + " * 50_000
    hostile = [f"Cell In[1], line 2\n{blanks}x\n{blanks}\n      1 a = 1\n{long_line}"]
    seen: list[int] = []
    pattern = tb._CODE

    class Recording:
        def match(self, text: str):
            seen.append(len(text))
            return pattern.match(text)

    monkeypatch.setattr(tb, "_CODE", Recording())
    (frame,) = frames(hostile)
    # Then every line is matched on its head only, and the numbered lines are found
    assert seen and max(seen) <= tb.MAX_LINE_CHARS + 64
    assert [no for no, _ in frame.code] == [1, 2] and frame.line == 2
    assert frame.current.startswith("x = 1 + 1")


@pytest.mark.parametrize(
    ("line", "arrow", "no", "text"),
    [
        ("----> 3 x = 1", "---->", 3, "x = 1"),
        ("      4 y", None, 4, "y"),
        ("   -> 12 z", "->", 12, "z"),
        ("3  a", None, 3, " a"),
    ],
)
def test_numbered_code_lines_are_read_with_or_without_the_arrow(
    line: str, arrow: str | None, no: int, text: str
) -> None:
    import jupyter_codegen.chat.traceback as tb

    m = tb._CODE.match(line)
    assert m is not None and (m["arrow"], int(m["no"]), m["text"]) == (arrow, no, text)


@pytest.mark.parametrize(
    ("frame", "where"),
    [(0, 3), (1, 2)],  # the failing cell is index 3 (after cells_before), the helper index 2
)
def test_frames_are_placed_by_their_lines_not_their_counts(frame: int, where: int) -> None:
    sources = [c["source"] for c in CELLS] + [FAILING]
    assert locate(frames(TRACEBACK)[frame], sources) == where
    # the same lines in another cell, edited since it ran: not that one
    assert locate(frames(TRACEBACK)[frame], ["x = 1"] * 4) is None


def test_the_diagnosis_names_the_helpers_cell_and_the_failing_lines() -> None:
    diagnosis = diagnose(request())
    assert diagnosis.frame_cells == (3, 2)
    assert diagnosis.failing_lines[-1].startswith('out["bmi"]')
    assert "height_m" in names_on(diagnosis.failing_lines)


def test_the_prompt_shows_the_cells_labelled_the_live_state_first_and_the_error() -> None:
    [system, user] = fix_messages(
        request(), diagnose(request()), 1000, 200, lambda t: len(t.split())
    )
    assert system.role == "system" and user.role == "user"
    text = user.content
    # the helper's cell and the failing cell, labelled; markdown as comments
    assert "```python\n# Cell 2\ndef add_bmi(df):" in text
    assert "# Cell 3 (the failing cell)\npatients = add_bmi(patients)" in text
    assert "# Cell 1\n# ## Helpers" in text
    # the variables on the failing lines come first
    assert text.index("patients: pandas DataFrame") < text.index("x: int = 1")
    assert "Cell 2, line 4, in add_bmi" in text and "KeyError: 'height_m'" in text
    assert "\x1b" not in text


def test_a_deep_traceback_takes_its_share_of_the_budget_from_the_cells() -> None:
    def words(text: str) -> int:
        return len(text.split())

    # Given a recursion error: 64 frames in the helper's cell, each with its lines
    frame = TRACEBACK[3]
    deep = [*TRACEBACK[:3], *[frame] * 200, TRACEBACK[-1]]
    many = [{"cell_type": "code", "source": f"v{i} = {i}  # " + "w " * 40} for i in range(30)]
    error = {"ename": "RecursionError", "evalue": "x " * 900, "traceback": deep}
    req = request(cells_before=[*many, *CELLS], error=error)
    budget = 600
    [system, user] = fix_messages(req, diagnose(req), budget, 0, words)
    # Then the whole chat stays within the budget (each cell's label and fences aside)
    blocks = user.content.count("```") // 2
    assert words(system.content) + words(user.content) <= budget + words(req.cell) + 5 * blocks
    # And the cells that matter are still there, with the innermost frames
    assert "def add_bmi(df):" in user.content
    assert "outer frames left out" in user.content and "Cell 32, line 4, in add_bmi" in user.content
    assert "RecursionError: x x" in user.content


def test_live_lines_put_the_failing_lines_names_first_within_the_budget() -> None:
    namespace = "a: int = 1\nb: str = 'x'\ndf: pandas DataFrame, shape (3, 2)"
    assert (
        live_lines(namespace, ["df"], 100, lambda t: len(t.split()))
        .splitlines()[0]
        .startswith("df:")
    )
    assert live_lines(namespace, [], 4, lambda t: len(t.split())) == "a: int = 1"
    assert live_lines("", ["df"], 100, len) == ""


@pytest.mark.parametrize(
    ("reply", "explanation", "edits"),
    [
        # a cause, and the helper's cell rewritten
        (
            "Cause: the frame has height_cm, not height_m.\n```python\n# Cell 2\n"
            "def add_bmi(df):\n    out = df.copy()\n"
            '    out["bmi"] = out["weight_kg"] / (out["height_cm"] / 100) ** 2\n'
            "    return out\n```",
            "the frame has height_cm, not height_m.",
            [(2, "def add_bmi(df):")],
        ),
        # several cells in one block, each after its label; an unlabelled block: the failing cell
        (
            "The column is missing.\n```python\n# Cell 0\nimport pandas as pd\n"
            "patients = pd.read_csv('a.csv', sep=';')\n# Cell 3 (the failing cell)\n"
            "patients = add_bmi(patients)\n```\n```python\nprint(1)\n```",
            "The column is missing.",
            [(0, "import pandas as pd"), ("active", "print(1)")],
        ),
        # a rewrite that does not compile, of a cell that does, is left out; so is no change
        (
            "x\n```python\n# Cell 2\ndef add_bmi(df:\n```\n```python\n# Cell 0\n"
            "import pandas as pd\npatients = pd.read_csv('a.csv')\n```",
            "x",
            [],
        ),
        # markdown cells are not rewritten; labels beyond the notebook are ignored
        ("y\n```python\n# Cell 1\n## Tools\n# Cell 9\nz = 1\n```", "y", []),
    ],
)
def test_the_reply_is_read_back_as_a_cause_and_edits(
    reply: str, explanation: str, edits: list[tuple[object, str]]
) -> None:
    got_explanation, got = read_fix(reply, request())
    assert got_explanation == explanation
    assert [(e.cell, e.source.splitlines()[0]) for e in got] == edits


def test_a_reply_still_streaming_shows_the_block_so_far() -> None:
    partial = "Cause: a typo.\n```python\n# Cell 3\npatients = add_bmi(pat"
    explanation, [edit] = read_fix(partial, request(), finished=False)
    assert explanation == "a typo." and edit.cell == "active"
    assert edit.source == "patients = add_bmi(pat"
    assert read_fix(partial, request(), finished=True)[1] == []  # does not compile


def edit_request(cell: str, start: int | None, end: int | None) -> EditRequest:
    body: dict = {"cell": cell, "instruction": "vectorize"}
    if start is not None:
        body["selection"] = {"start": start, "end": end}
    return EditRequest.model_validate(body)


LOOP = "total = 0\nfor x in xs:\n    total += x * 2\nprint(total)\n"


def test_a_selection_is_split_dedented_and_given_back_indented() -> None:
    start = LOOP.index("    total +=")
    part = selected(edit_request(LOOP, start, LOOP.index("print")))
    assert (part.before, part.text, part.after) == (
        LOOP[:start],
        "total += x * 2\n",
        "print(total)\n",
    )
    assert part.indent == "    " and not part.whole
    assert read_edit("```python\ntotal += 2 * x\n```", part) == "    total += 2 * x\n"
    whole = selected(edit_request(LOOP, None, None))
    assert whole.whole and whole.text == LOOP and whole.indent == ""
    assert selected(edit_request(LOOP, 5, 5)).whole  # an empty selection is the cell


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [(19, 10, "for x in "), (10, 10_000, LOOP[10:]), (10_000, 10_001, LOOP)],
)
def test_a_selections_ends_come_in_either_order_and_stop_at_the_cell(
    start: int, end: int, text: str
) -> None:
    assert selected(edit_request(LOOP, start, end)).raw == text


def edit_chat(request: EditRequest, total: int) -> str:
    """The user message of the chat that ``request`` runs, at a prompt budget
    of ``total`` words."""
    settings = ChatSettings(PromptBudget(total=total, suffix=16), lambda t: len(t.split()))
    gen, _ = edit_generation(request, settings, 64)
    return gen.messages[-1].content


def test_an_edits_cells_do_not_depend_on_a_short_instruction() -> None:
    # Given more earlier cells than the budget leaves room for
    helpers = [
        {"cell_type": "code", "source": f"def helper_{i}(x):\n    return x + {i}\n"}
        for i in range(60)
    ]
    body = {"cell": "total = helper_59(1) + helper_0(2)", "cells_before": helpers}
    # When the edit is prefetched before its instruction is typed, then sent with it
    ask = "add type hints and a docstring to every helper it calls, keeping the names " * 4
    assert 40 < len(ask.split()) < EDIT_INSTRUCTION_TOKENS
    before = edit_chat(EditPrefetchRequest.model_validate(body), total=200)
    asked = edit_chat(EditRequest.model_validate({**body, "instruction": ask}), 200)
    # Then the prompt up to the instruction is the same: the prefetch computed it
    head = before[: before.rindex("Rewrite the cell:")]
    assert asked.startswith(head + "Rewrite the cell: " + ask.strip())
    # (the definitions it uses, then the nearest cells that fit)
    assert "def helper_0(" in head and "def helper_40(" in head
    assert "def helper_39(" not in head
    # An instruction over EDIT_INSTRUCTION_TOKENS takes its room from the cells
    many = " ".join(["word"] * (EDIT_INSTRUCTION_TOKENS + 40))
    long = edit_chat(EditRequest.model_validate({**body, "instruction": many}), 200)
    assert "def helper_0(" in long and "def helper_40(" not in long
