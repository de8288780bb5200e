"""Completion clean-up (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.chat.messages import extract_code
from jupyter_codegen.completion.postprocess import (
    clean_completion,
    cut_at_suffix_repeat,
    keeps_parsing,
    parsing_variant,
    shortened,
    strip_chat,
    trim_suffix_overlap,
    trim_trailing_partial_line,
    whole_ends,
)
from jupyter_codegen.completion.scope import completion_scope, is_mid_line, scope_end
from jupyter_codegen.completion.stopping import should_stop


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        ("x)", ")", "x"),
        ("a, b)\n", ")\n", "a, b"),
        ("x", ")", "x"),
        ("x  ", "  ", "x  "),  # whitespace-only overlap is kept
        ("", ")", ""),
        ("total)", "", "total)"),
        ("items[0]]", "]", "items[0]"),
        ("f(x)", ")", "f(x)"),  # balanced: the suffix's ")" closes an outer call
        ("len(xs)):", "):", "len(xs)"),
        ("mean(axis=0)\nprint(df)", "\nprint(df)", "mean(axis=0)"),
    ],
)
def test_trim_suffix_overlap(text: str, suffix: str, expected: str) -> None:
    assert trim_suffix_overlap(text, suffix) == expected


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        (
            "total += n\n    return total / len(nums)\n",
            "\n    return total / len(nums)\n",
            "total += n\n",
        ),
        ("total += n\n", "\n    return total\n", "total += n\n"),
        ("a = 1\nb = 2\n", "", "a = 1\nb = 2\n"),
        ("x\n)\n", ")", "x\n)\n"),  # anchors shorter than 3 characters are ignored
    ],
)
def test_cut_at_suffix_repeat(text: str, suffix: str, expected: str) -> None:
    assert cut_at_suffix_repeat(text, suffix) == expected


def test_clean_completion_combines_and_strips_trailing_space() -> None:
    text = "total += n\n    return total\nprint(1)\n\n"
    assert clean_completion(text, AVG, "\n    return total\n") == "total += n"
    assert clean_completion("sum(nums))  ", "print(", ")") == "sum(nums)"


@pytest.mark.parametrize(
    ("suffix", "mid_line"),
    [(")\n", True), ("", False), ("\nprint(x)", False), ("   \nx", False), ("] + 1", True)],
)
def test_is_mid_line(suffix: str, mid_line: bool) -> None:
    assert is_mid_line(suffix) is mid_line


@pytest.mark.parametrize(
    ("prefix", "suffix", "scope"),
    [
        ("x = f(", ")\n", "line"),
        ("counts = ", "", "statement"),
        ("counts = ", "\nprint(counts)", "statement"),
        ("for n in nums:", "", "block"),
        ("for n in nums:\n    ", "\nprint(1)", "block"),
        # An empty line: the block only as the first line of an empty body.
        ("", "", "statement"),
        ("    ", "", "statement"),
        ("def f():\n    x = 1\n    ", "\n    return x", "statement"),
        ("def f():\n    # body\n\n    ", "", "block"),
        # tree-sitter tells a block header's ":" from other colons.
        ("d = {'a':", "", "statement"),
        ("x = xs[1:", "", "statement"),
        ("f = lambda a:", "", "statement"),
        ("if x:  # why", "", "block"),
        ("class A:\n    def g(self):", "", "block"),
        ("%time for i in r:", "", "block"),
        ("!ls", "", "statement"),
        ("with open(p) as fh:", "\nprint(1)", "block"),
    ],
)
def test_completion_scope(prefix: str, suffix: str, scope: str) -> None:
    assert completion_scope(prefix, suffix) == scope


AVG = "def average(nums):\n    total = 0\n    for n in nums:\n        "


@pytest.mark.parametrize(
    ("text", "prefix", "scope", "end"),
    [
        ("zscore)", "t(", "line", None),
        ("zscore)\nmore", "t(", "line", 7),
        ("df.count()\nprint(x)", "n = ", "statement", 10),
        ("f(\n    a,\n    b)\nprint(n)", "n = ", "statement", 16),
        ("f(\n    a,", "n = ", "statement", None),
        ("total += n\n    return total", AVG, "block", 10),
        ("total += n\n        count += 1\n", AVG, "block", None),
        ("total += n\n    ", AVG, "block", None),  # the next line's indent is not known yet
        ("\n    total += n\nprint(1)", "for n in nums:", "block", 15),
        ("\n    total += n\n", "for n in nums:", "block", None),
        ("\n        s += n\n    return s", "    for n in nums:", "block", 15),
        # At the top level a block is one whole statement.
        ("a = 1\nb = 2\n", "", "block", 5),
        ("def g():\n    return 1\n\n\ndef h():", "", "block", 23),
        ("@dec\ndef g():\n    pass\nx", "", "block", 22),
        ("if a:\n    b\nelse:\n    c\nd", "", "block", 23),
        ("x = f(\n1)\ny", "", "block", 9),  # lines inside brackets do not count
        # A statement: extra lines only inside brackets and strings...
        ('"""abc\ndef"""\nnext', "s = ", "statement", 13),
        ("(1, #)\n 2)\nz", "t = ", "statement", 10),  # a bracket in a comment
        ("')'\nz", "t = f(", "statement", None),  # a bracket in a string
        # ...or in the body of a header the completion writes.
        ("range(3):\n    print(i)\nprint('done')", "for i in ", "statement", 22),
        # At the end of a complete line, the next line.
        ("\ny = 2\nz = 3", "x = 1", "statement", 6),
        (" 2}\nz", "d = {1:", "statement", 3),
    ],
)
def test_scope_end(text: str, prefix: str, scope: str, end: int | None) -> None:
    assert scope_end(text, prefix, scope) == end


@pytest.mark.parametrize(
    ("text", "prefix", "suffix", "stop"),
    [
        ("zscore", "t(", ")\n", False),
        ("zscore)\n", "t(", ")\n", True),
        ("total += n\n", AVG, "\n    return total\n", False),
        ("total += n\n    return total", AVG, "\n    return total\n", True),
        ("a = 1\nb = 2\n", "", "", True),
        ("a = 1\n", "", "", False),
        ("x = 1\n```", "", "", True),  # a fence: the model started to talk
    ],
)
def test_should_stop(text: str, prefix: str, suffix: str, stop: bool) -> None:
    assert should_stop(text, prefix, suffix) is stop


def test_mid_line_completion_keeps_one_line_without_the_repeated_closer() -> None:
    text = "zscore)\nsales['z'].describe()\n"
    assert clean_completion(text, "t = s.transform(", ")\n") == "zscore"


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        ("```python\ndf['a'].sum()\n```", "df['a'].sum()"),
        ("Here you go:\n\n```python\nx = 1\ny = 2\n```\nThis sets x.", "x = 1\ny = 2"),
        ("```\nprint(1)\n```\n```python\nprint(2)\n```", "print(1)"),
        ("x = 1", "x = 1"),
        ("```python\nfor i in range(3):\n    print(i", "for i in range(3):\n    print(i"),
    ],
)
def test_extract_code(reply: str, code: str) -> None:
    assert extract_code(reply) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```python\nx = 1\n```", "x = 1"),
        ("x = 1\n```\n\nThis sets x.", "x = 1"),
        ("Here is the completed code:\n\nreturn a + b", "return a + b"),
        ("Sure! ```python\nx", "x"),
        ("total += n", "total += n"),
        ("here = 1\nthere = 2", "here = 1\nthere = 2"),  # "here" as a variable is code
    ],
)
def test_strip_chat(text: str, expected: str) -> None:
    assert strip_chat(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1\nb = f(", "a = 1"),
        ("a = 1\nif a:\n    b = f(", "a = 1"),  # and a header left without a body
        ("a = 1\n", "a = 1\n"),  # complete: the line ended
        ("a = f(", "a = f("),
    ],
)
def test_trim_trailing_partial_line(text: str, expected: str) -> None:
    assert trim_trailing_partial_line(text) == expected


def test_a_block_cut_by_the_token_limit_loses_its_partial_line() -> None:
    text = "total += n\n        count += nu"
    assert clean_completion(text, AVG, "", finished=False) == "total += n"
    assert clean_completion(text, AVG, "", finished=True) == text


@pytest.mark.parametrize(
    ("prefix", "text", "suffix", "keeps"),
    [
        ("x = ", "1", "\nprint(x)", True),
        ("x = ", "(1", "\nprint(x)", False),  # breaks a cell that parsed
        ("x = f(", "a)", "", True),  # mends a cell that did not parse
        ("x = f(", "a", "", True),  # no worse than before
        ("x = f(", "a))) ]", "", False),  # worse than before
        ("%matplotlib inline\ny = ", "np.zeros(3)", "\n!ls", True),  # IPython syntax
        ("def f():\n    ", "return 1", "\n\nf()", True),
        ("def f():\n    ", "return 1\n  x = 2", "\n\nf()", False),  # bad indent
    ],
)
def test_keeps_parsing(prefix: str, text: str, suffix: str, keeps: bool) -> None:
    assert keeps_parsing(prefix, text, suffix) is keeps


@pytest.mark.parametrize(
    ("prefix", "text", "suffix", "expected"),
    [
        # The editor closed the quote and bracket; the model wrote them again
        ('df["', 'Unit Price (€)"]', '"]\n', "Unit Price (€)"),
        ('df.groupby("', 'région")', '")\nx = 1', "région"),
        ("print(f(", "x))", "))", "x"),
        # Text that fits is kept as it is
        ('df["', "Unit Price", '"]', "Unit Price"),
        ("print(", "f(x)", ")", "f(x)"),
        # No overlap that helps: dropped
        ('df["', 'a"]]]', "", None),
        ('df["', '"]', '"]', None),  # nothing would be left
    ],
)
def test_parsing_variant(prefix: str, text: str, suffix: str, expected: str | None) -> None:
    assert parsing_variant(prefix, text, suffix) == expected


@pytest.mark.parametrize(
    ("before", "line", "ends"),
    [
        # code: after a bracket or string that closes what the line opened
        ("out = ", "df.groupby('a').agg(", ["df.groupby('a')"]),
        ("", "print(f(x), g(y)) + h(", ["print(f(x), g(y))"]),
        ("", "x = [1, 2][0]", ["x = [1, 2][0]", "x = [1, 2]"]),
        ("", "name = 'Ada' + last", ["name = 'Ada'"]),
        ("x = 'abc", "def' + y(", ["def'"]),
        # a name, a number or an operator may go on: nowhere
        ("", "total = compute_su", []),
        ("", "x = 1.", []),
        ("", "x = a +", []),
        # inside an open bracket, or a string the completion opened: nowhere
        ("", "f(a, (b)", []),
        ("", "s = 'it)", []),
        ("", "s = 'it)'", ["s = 'it)'"]),
        # a bracket the line did not open (the suffix's) is not an end
        ("print(", "x)", []),
        # a comment ends anywhere between words, the code before it after a bracket
        ("", "y = f(x)  # see (a) and", ["y = f(x)  # see (a)", "y = f(x)  # see", "y = f(x)"]),
        ("# the running ", "total of the sa", ["total of the", "total of", "total"]),
        # so do the words of the string the cursor is in
        ("print('hello ", "big wide wo", ["big wide", "big"]),
        ("", "", []),
    ],
)
def test_whole_ends(before: str, line: str, ends: list[str]) -> None:
    assert [line[:end] for end in whole_ends(line, before)] == ends


@pytest.mark.parametrize(
    ("raw", "options"),
    [
        # whole lines: cleaned as unfinished (the partial last line dropped)
        ("a = 1\nb = f(", [("a = 1\nb = f(", False)]),
        ("a = 1\n", [("a = 1\n", False)]),
        # one unfinished line: cut where it can end, longest first
        ("y = f(x).g(", [("y = f(x)", True)]),
        ("\n    y = f(x)[0] + z", [("\n    y = f(x)[0]", True), ("\n    y = f(x)", True)]),
        ("means <- sapply(df, mean) |> ro", [("means <- sapply(df, mean)", True)]),
        ("total = compute_su", []),
    ],
)
def test_shortened(raw: str, options: list[tuple[str, bool]]) -> None:
    assert shortened(raw) == options


def test_shortened_reads_the_cursor_line_only_for_the_first_line() -> None:
    # in a comment at the cursor, words end; on a new line, code rules again
    assert shortened("total of the sa", "# the running ") == [
        ("total of the", True),
        ("total of", True),
        ("total", True),
    ]
    assert shortened("\ntotal of the sa", "# the running ") == []


def test_whole_ends_stops_at_its_limit_longest_first() -> None:
    line = "f(1)" * 12
    assert whole_ends(line, limit=3) == [48, 44, 40]
    assert len(whole_ends(line)) == 8
