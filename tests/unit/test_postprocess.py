"""Completion clean-up (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_codegen.postprocess import (
    clean_completion,
    cut_at_suffix_repeat,
    extract_code,
    is_mid_line,
    should_stop,
    trim_suffix_overlap,
)


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
    assert clean_completion(text, "\n    return total\n") == "total += n"
    assert clean_completion("sum(nums))  ", ")") == "sum(nums)"


@pytest.mark.parametrize(
    ("suffix", "mid_line"),
    [(")\n", True), ("", False), ("\nprint(x)", False), ("   \nx", False), ("] + 1", True)],
)
def test_is_mid_line(suffix: str, mid_line: bool) -> None:
    assert is_mid_line(suffix) is mid_line


@pytest.mark.parametrize(
    ("text", "suffix", "stop"),
    [
        ("zscore", ")\n", False),
        ("zscore)\n", ")\n", True),  # mid-line: the line is done
        ("total += n\n", "\n    return total\n", False),
        ("total += n\n    return total", "\n    return total\n", True),
        ("a = 1\nb = 2\n", "", False),
    ],
)
def test_should_stop(text: str, suffix: str, stop: bool) -> None:
    assert should_stop(text, suffix) is stop


def test_mid_line_completion_keeps_one_line_without_the_repeated_closer() -> None:
    text = "zscore)\nsales['z'].describe()\n"
    assert clean_completion(text, ")\n") == "zscore"


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
