"""Describing the live kernel's state for the magics (table-driven)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_codegen.kernel_context import (
    describe_value,
    history_context,
    names_in,
    relevant_variables,
)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (3, "x: int = 3"),
        ("hi", "x: str = 'hi'"),
        ([1, 2, "a"], "x: list of length 3 of int/str"),
        ({"a": 1}, "x: dict of length 1 of str, keys 'a'"),
        (np.zeros((2, 3), dtype="float32"), "x: numpy ndarray, shape (2, 3), dtype float32"),
        (pd.Series([1, 2], name="n"), "x: pandas Series 'n', dtype int64, length 2"),
    ],
)
def test_describe_value(obj: object, expected: str) -> None:
    assert describe_value("x", obj) == expected


def test_describe_dataframe_lists_real_columns_and_dtypes() -> None:
    df = pd.DataFrame({"region": ["n", "s"], "amount": [1.5, 2.0], "qty": [1, 2]})
    assert describe_value("sales", df).splitlines() == [
        "sales: pandas DataFrame, shape (2, 3), columns:",
        "    'region': object" if str(df.dtypes["region"]) == "object" else "    'region': str",
        "    'amount': float64",
        "    'qty': int64",
    ]


def test_describe_value_survives_a_broken_object() -> None:
    class Broken(list):
        def __len__(self) -> int:
            raise RuntimeError("no")

    assert describe_value("b", Broken()).startswith("b: ")


def test_relevant_variables_prefers_the_request_then_recent_cells() -> None:
    ns = {
        "df": pd.DataFrame({"a": [1]}),
        "other": 5,
        "pd": pd,  # a module: not data
        "helper": lambda: 1,  # a function: comes in as a definition
        "_hidden": 1,
        "unused": 2,
    }
    assert relevant_variables(ns, "plot df by month", ["y = other + 1", "helper()"]) == [
        "df",
        "other",
    ]


def test_history_context_keeps_imports_used_definitions_and_recent_cells() -> None:
    cells = [
        "import pandas as pd\nimport numpy as np",
        "def clean(df):\n    return normalize(df.dropna())",
        "def normalize(df):\n    return df / df.max()",
        "def unrelated():\n    pass",
        "from pathlib import Path",
        "x = 1",
        "sales = pd.read_csv('s.csv')",
    ]
    chunks = history_context(cells, "clean the sales data", recent=2)
    assert chunks[0] == "import pandas as pd\nimport numpy as np\nfrom pathlib import Path"
    assert "def clean(df)" in chunks[1] and "def normalize(df)" in chunks[2]
    assert not any("unrelated" in c for c in chunks)
    assert chunks[-2:] == ["x = 1", "sales = pd.read_csv('s.csv')"]


def test_history_context_skips_cells_that_do_not_parse() -> None:
    assert history_context(["def broken(:", "import os"], "x", recent=0) == ["import os"]


def test_names_in() -> None:
    assert names_in("plot df['a'] vs df2 (3x)") == ["plot", "df", "a", "vs", "df2", "x"]
