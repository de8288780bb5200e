"""Choosing other cells' text for a completion prompt (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.api.schemas import Cell
from jupyter_codegen.context.select import select_context
from jupyter_codegen.context.syntax import ParsedCell


def words(text: str) -> int:
    return len(text.split())


def code(source: str) -> Cell:
    return Cell(cell_type="code", source=source)


def md(source: str) -> Cell:
    return Cell(cell_type="markdown", source=source)


NOTEBOOK = [
    md("# Sales"),  # 0
    code("import numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt"),  # 1
    code("def load(path):\n    return pd.read_csv(path)"),  # 2
    code("RATE = 0.2\n" + "\n".join(f"junk{i} = {i}" for i in range(40))),  # 3
    code("def net(x):\n    return x * (1 - RATE)"),  # 4
    code("sales = load('s.csv')\nsales.head()"),  # 5
    md("## Plots"),  # 6
    code("plt.plot([1, 2])\nplt.show()"),  # 7
]


def syntax(active: str, budget: int, cells=NOTEBOOK, after=()):
    return select_context("syntax", cells, list(after), ParsedCell(active), "python", budget, words)


def test_definitions_the_cell_uses_are_followed_transitively() -> None:
    # Given a cell that calls net() on sales, and a budget far below the notebook
    ctx = syntax("sales['net'] = net(sales.amount)", 30)
    text = "\n\n".join(ctx.before)
    # Then net's definition, the RATE it reads, the sales assignment and the
    # load() that makes it are in, with the pandas import load() needs...
    for needed in ("def net(x)", "RATE = 0.2", "sales = load('s.csv')", "def load(path)"):
        assert needed in text
    assert "import pandas as pd" in text
    # ...but not the 40 junk assignments of cell 3
    assert "junk39" not in text


def test_context_is_in_notebook_order_without_duplicates() -> None:
    ctx = syntax("sales['net'] = net(sales.amount)", 60)
    text = "\n\n".join(ctx.before)
    order = ("import numpy", "def load", "RATE = 0.2", "def net", "sales = load")
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    assert text.count("def load(path)") == 1
    assert text.count("import pandas as pd") == 1


def test_the_selection_is_deterministic_and_within_budget() -> None:
    first = syntax("net(sales)", 50)
    assert first == syntax("net(sales)", 50)
    assert sum(words(c) for c in first.before) <= 50


def test_a_name_bound_twice_comes_from_its_last_binding() -> None:
    cells = [code("x = 1"), code("y = 2"), code("x = 3"), code("z = 4")]
    ctx = syntax("print(x)", 6, cells)
    assert ctx.before[0] == "x = 3"
    assert "x = 1" not in "\n".join(ctx.before)


def test_nearest_cells_fill_the_rest_and_markdown_becomes_comments() -> None:
    ctx = syntax("plt.title('x')", 1000)
    assert ctx.before[-1] == "plt.plot([1, 2])\nplt.show()"
    assert "# ## Plots" in ctx.before
    assert "# # Sales" in ctx.before


def test_a_long_cell_is_clipped_at_statement_boundaries() -> None:
    # Given a budget that cannot hold cell 3 whole
    cells = [code("\n".join(f"v{i} = {i}" for i in range(30)))]
    ctx = syntax("print(1)", 20, cells)
    # Then its last whole statements are kept
    kept = ctx.before[0].split("\n")
    assert kept[-1] == "v29 = 29"
    assert all(line.startswith("v") and line.count("=") == 1 for line in kept)
    assert 1 < len(kept) < 30


def test_a_long_definition_shrinks_to_its_signature_and_docstring() -> None:
    body = "\n".join(f"    step{i} = {i}" for i in range(60))
    source = f'def prepare(df):\n    """Clean the frame."""\n{body}\n    return df'
    cells = [code(source), code("x = 1")]
    ctx = syntax("out = prepare(raw)", 20, cells)
    assert ctx.before[0] == 'def prepare(df):\n    """Clean the frame."""\n    ...'


def test_following_cells_go_after_when_budget_remains() -> None:
    ctx = syntax("y = 1", 1000, [code("x = 1")], after=[code("z = y + 1"), md("done")])
    assert ctx.after == ["z = y + 1", "# done"]
    assert syntax("y = 1", 1000, [code("x = 1")], after=[code("z = 2")]).after != []
    no_after = select_context(
        "syntax",
        [code("x = 1")],
        [code("z = 2")],
        ParsedCell("y"),
        "python",
        1000,
        words,
        after_budget=0,
    )
    assert no_after.after == []


def test_ipython_cells_are_understood() -> None:
    cells = [
        code("%matplotlib inline\nimport seaborn as sns"),
        code("!pip install tqdm"),
        code("%%bash\nfor f in *.csv; do wc -l $f; done"),
        code("files = !ls data\nframes = [read(f) for f in files]"),
        code("x = 1\n" * 50),
    ]
    ctx = syntax("sns.histplot(frames[0])", 30, cells)
    text = "\n\n".join(ctx.before)
    assert "import seaborn as sns" in text
    assert "frames = [read(f) for f in files]" in text
    assert "files = !ls data" in text


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("cell", []),
        # the nearest cells, whole, as many as fit: cell 7 and the markdown above it
        ("preceding", ["# ## Plots", "plt.plot([1, 2])\nplt.show()"]),
    ],
)
def test_peer_strategies(strategy: str, expected: list[str]) -> None:
    ctx = select_context(
        strategy, NOTEBOOK, [code("z = 1")], ParsedCell("net(sales)"), "python", 8, words
    )
    assert ctx.before == expected
    assert ctx.after == []


def test_surround_takes_the_nearest_cells_before_and_after_whole() -> None:
    # Given the notebook peer's strategy: nearest cells before, then those after
    after = [code("z = net(sales)"), code("plot(z)")]
    ctx = select_context(
        "surround", NOTEBOOK, after, ParsedCell("net(sales)"), "python", 8, words, after_budget=3
    )
    # Then the cells before are those "preceding" takes, and after them the
    # following cells as far as their own budget goes (3 words: one cell)
    assert ctx.before == ["# ## Plots", "plt.plot([1, 2])\nplt.show()"]
    assert ctx.after == ["z = net(sales)"]


def test_other_languages_get_the_nearest_cells() -> None:
    cells = [code("library(dplyr)"), md("Note"), code("df <- read.csv('x')")]
    ctx = select_context("syntax", cells, [], ParsedCell("df %>% head"), "r", 100, words)
    assert ctx.before == ["library(dplyr)", "# Note", "df <- read.csv('x')"]


def test_unknown_strategy_is_an_error() -> None:
    for language in ("python", "r"):
        with pytest.raises(ValueError, match="unknown context strategy"):
            select_context("magic", [code("x")], [], ParsedCell("y"), language, 10, words)


def test_a_cell_too_long_for_any_prompt_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import jupyter_codegen.context.statements as statements

    parsed: list[int] = []
    real = statements.parse

    def recording(text: str):
        parsed.append(len(text))
        return real(text)

    monkeypatch.setattr(statements, "parse", recording)
    huge = "".join(f"row_{i} = [{i}, {i + 1}, {i + 2}]\n" for i in range(6000))
    assert len(huge) > statements.MAX_PARSE_CHARS
    helper = "def net(x):\n    return x * 0.8"
    ctx = syntax("net(sales)", 200, [code(helper), code(huge)])
    # Then the helper is still found, and the huge cell never went to the parser
    assert ctx.before[0] == helper
    assert parsed and max(parsed) <= statements.MAX_PARSE_CHARS
