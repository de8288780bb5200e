"""tree-sitter parsing of notebook Python (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.context.neutralize import neutralize
from jupyter_codegen.context.statements import parse_cell
from jupyter_codegen.context.syntax import compiles, ends_block_header, error_count, names_used


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nimport numpy as np",
        "x = !ls\nfiles = %sx ls *.csv",
        "df.head?\ndf.describe??",
        "?len\n??len",
        "%time y = f(x)",
        "%%time\nz = 1",
        "for f in files:\n    !wc -l {f}\n    %time g(f)",
        "%%bash\nls -la | wc -l",
        "é = 'ü'\n!echo ümlaut",
        "",
    ],
)
def test_neutralized_cells_parse_and_keep_every_lines_byte_length(source: str) -> None:
    # When IPython syntax is neutralized
    neutral = neutralize(source)
    # Then each line keeps its length in bytes, so positions map back 1:1...
    old, new = source.split("\n"), neutral.text.split("\n")
    assert [len(x.encode()) for x in old] == [len(x.encode()) for x in new]
    # ...and the text is Python that parses.
    assert error_count(source) == 0
    assert compiles(source)


@pytest.mark.parametrize(
    ("source", "python", "magic"),
    [
        ("%%bash\nls", False, "bash"),
        ("%%sql\nSELECT 1", False, "sql"),
        ("%%writefile a.py\nx = 1", False, "writefile"),
        ("%%time\nx = 1", True, "time"),
        ("\n%%capture out\nx = 1", True, "capture"),
        ("x = 1", True, None),
    ],
)
def test_cell_magics_mark_foreign_cells(source: str, python: bool, magic: str | None) -> None:
    neutral = neutralize(source)
    assert (neutral.python, neutral.magic) == (python, magic)


def test_python_line_magics_keep_their_statement_visible() -> None:
    assert names_used("%timeit model.fit(X, y)") == {"model", "X", "y"}
    assert names_used("!pip install {pkg}") == set()


def test_non_magic_uses_of_percent_and_bang_are_untouched() -> None:
    source = "r = a % b\nok = a != b\n"
    assert neutralize(source).text == source


def test_statements_report_what_they_define_and_use() -> None:
    # Given a cell with every kind of top-level statement
    cell = parse_cell(
        "import numpy as np, pandas.io as pio\n"
        "from scipy import stats as st, signal\n"
        "@cache\n"
        "def zscore(x, *, ddof=0):\n"
        '    """Standardize."""\n'
        "    m = np.mean(x)\n"
        "    return (x - m) / np.std(x, ddof=ddof) + OFFSET\n"
        "a, (b, c) = load(path), (1, 2)\n"
        "df['col'] = df.x.apply(fn, axis=1)\n"
        "for i, row in df.iterrows():\n"
        "    total += row.v\n"
        "%matplotlib inline\n"
    )
    # When it is analysed
    table = [(s.kind, set(s.defines), set(s.uses)) for s in cell.statements]
    # Then imports bind their aliases and first components, definitions their
    # names, and uses skip attributes, keyword names, parameters and locals
    assert table[:6] == [
        ("import", {"np", "pio"}, set()),
        ("import", {"st", "signal"}, set()),
        ("def", {"zscore"}, {"cache", "np", "OFFSET"}),
        ("assign", {"a", "b", "c"}, {"load", "path"}),
        ("assign", set(), {"df", "fn"}),
        ("other", {"i", "row", "total"}, {"df"}),
    ]
    summary = '@cache\ndef zscore(x, *, ddof=0):\n    """Standardize."""\n    ...'
    assert cell.statements[2].summary == summary
    assert not cell.has_error


def test_parses_are_cached_by_source() -> None:
    assert parse_cell("x = 1\n") is parse_cell("x = 1\n")


def test_statement_text_is_the_original_source() -> None:
    cell = parse_cell("files = !ls\nn = len(files)")
    assert [s.text for s in cell.statements] == ["files = !ls", "n = len(files)"]


@pytest.mark.parametrize(
    ("prefix", "header"),
    [
        ("def f(x):", True),
        ("async def f(x):", True),
        ("if a and (b or\n        c):", True),
        ("    else:", False),  # no enclosing if: broken code, the keyword decides
        ("if a:\n    pass\nelse:", True),
        ("try:", True),
        ("match cmd:", True),
        ("d = {'a':", False),
        ("x[1:", False),
        ("f = lambda: 0 if a else", False),
        ("y = lambda a:", False),
        ("s = 'if x:'", False),
        ("x = 1  # then:", False),
    ],
)
def test_ends_block_header(prefix: str, header: bool) -> None:
    expected = header or prefix.strip().startswith("else")
    assert ends_block_header(prefix) is expected


def test_error_count_counts_breakage() -> None:
    assert error_count("x = 1") == 0
    assert error_count("x = (1,") > 0
    assert error_count("%%bash\nif [ -f x ]; then") == 0  # a foreign cell is not Python
