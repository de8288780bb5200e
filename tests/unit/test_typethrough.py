"""What a document's last suggestion predicts for its next request
(typethrough.py): the rest of it after the text typed since, else nothing."""

from __future__ import annotations

import pytest

from jupyter_codegen.completion.typethrough import PREFIX_TAIL, SuggestionMemory

CELL = "import pandas as pd\ndf = pd.read"
SUGGESTION = "_csv('data.csv')"


@pytest.mark.parametrize(
    ("key", "prefix", "suffix", "expected"),
    [
        ("nb", CELL, "", SUGGESTION),  # asked again at the same place
        ("nb", CELL + "_", "", "csv('data.csv')"),
        ("nb", CELL + "_csv('", "", "data.csv')"),
        ("nb", CELL + "_csv('data.csv')", "", ""),  # typed all of it
        ("nb", CELL + "_x", "", ""),  # typed something else
        ("nb", CELL[:-1], "", ""),  # deleted a character
        ("nb", CELL.replace("pandas", "polars") + "_", "", ""),  # edited before the cursor
        ("nb", CELL + "_", "\nprint(df)", ""),  # the text after the cursor changed
        ("other", CELL + "_", "", ""),  # another document
    ],
)
def test_the_rest_of_the_last_suggestion_after_what_was_typed(key, prefix, suffix, expected):
    memory = SuggestionMemory()
    memory.remember("nb", CELL, "", SUGGESTION)
    assert memory.expected(key, prefix, suffix) == expected


def test_a_long_prefix_is_recognised_by_its_end_and_its_length():
    memory = SuggestionMemory()
    head = "x = 1\n" * (PREFIX_TAIL // 3)
    memory.remember("nb", head + CELL, "", SUGGESTION)
    assert memory.expected("nb", head + CELL + "_c", "") == "sv('data.csv')"
    # Same end, different length: not the same place in the document.
    assert memory.expected("nb", "y = 2\n" + head + CELL + "_c", "") == ""


def test_each_document_keeps_its_latest_and_the_oldest_documents_go():
    memory = SuggestionMemory(documents=2)
    memory.remember("a", "x = ", "", "1")
    memory.remember("a", "x = ", "", "2")
    memory.remember("b", "y = ", "", "3")
    assert memory.expected("a", "x = ", "") == "2"
    memory.remember("c", "z = ", "", "4")  # "a" was remembered least recently
    assert memory.expected("a", "x = ", "") == ""
    assert memory.expected("b", "y = ", "") == "3" and memory.expected("c", "z = ", "") == "4"


def test_an_empty_suggestion_leaves_the_last_one():
    memory = SuggestionMemory()
    memory.remember("nb", CELL, "", SUGGESTION)
    memory.remember("nb", CELL + "_", "", "")
    assert memory.expected("nb", CELL + "_", "") == "csv('data.csv')"
