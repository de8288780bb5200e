"""The magics in a plain IPython shell: parsing, rendering, errors, the
in-process fallback on the tiny model, and the context they send (captured
with a client that records the request bodies)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_codegen.api.schemas import MAX_CELLS, ExplainRequest, GenerateRequest, parse_request
from jupyter_codegen.kernel.magic_context import (
    MAX_HISTORY_CHARS,
    executed_cells,
    recent_cells,
)
from jupyter_codegen.kernel.magics import _object_source


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path):
    """A fresh IPython shell with no Jupyter server around it."""
    monkeypatch.delenv("JUPYTER_CODEGEN_URL", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", str(tiny_model_dir))
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext jupyter_codegen")
    yield sh
    InteractiveShell.clear_instance()


def test_load_ext_registers_the_magics(shell) -> None:
    magics = shell.magics_manager.magics
    assert {"codegen", "explain"} <= set(magics["cell"])
    assert {"codegen", "explain", "codegen_status"} <= set(magics["line"])
    assert "Generate Python code" in (shell.find_line_magic("codegen").__doc__ or "")


def test_help_documents_the_options(shell, capsys) -> None:
    shell.run_cell("%codegen?")
    shell.run_cell("%%codegen --help\n")
    out = capsys.readouterr().out
    assert "--run" in out and "--no-insert" in out and "--max-tokens" in out


@pytest.mark.parametrize(
    ("cell", "usage"),
    [
        ("%%codegen\n\n", "Usage: %%codegen [-r]"),
        ("%codegen", "Usage: %%codegen [-r]"),
        ("%explain", "Usage: %explain"),
        ("%%explain\n  \n", "Usage: %%explain"),
    ],
)
def test_an_empty_request_prints_the_usage(shell, capsys, cell: str, usage: str) -> None:
    result = shell.run_cell(cell)
    assert result.success
    assert usage in capsys.readouterr().out


def test_codegen_falls_back_to_an_in_process_model_and_says_so_once(shell, capsys) -> None:
    # Given a shell that no Jupyter server launched, and live data
    shell.run_cell("import pandas as pd\ndf = pd.DataFrame({'amount': [1, 2]})", store_history=True)
    # When %%codegen runs twice
    first = shell.run_cell("%%codegen -t 8\nsum the amount column of df\n", store_history=True)
    shell.rl_next_input = None
    second = shell.run_cell("%%codegen -t 8 --show-context\ntotal of df\n", store_history=True)
    # Then the model answered in-process, the notice came once, and the code
    # was shown and put into the next cell, not run
    captured = capsys.readouterr()
    assert first.success and second.success
    assert captured.err.count("loading the model in this process") == 1
    assert shell.rl_next_input
    assert "```python" in captured.out  # the code is shown
    assert "df: pandas DataFrame, shape (2, 1)" in captured.out
    assert "'amount': int64" in captured.out
    assert "Context sent: 2 history cells\n" in captured.out  # the data cell, the first request
    shell.run_cell("%codegen_status")
    status = capsys.readouterr().out
    assert "Answered by a model loaded in this process" in status
    assert "(ready)" in status


def test_no_insert_and_explain_render(shell, capsys) -> None:
    shell.run_cell("%%codegen --no-insert -t 4\nmake a list\n")
    generated = capsys.readouterr()
    # the code was generated and shown (no failure message, only the notice that
    # the model loads in this process), not put into the next cell
    failures = [
        line
        for line in generated.err.splitlines()
        if line.startswith("jupyter-codegen:") and "loading the model in this process" not in line
    ]
    assert failures == [] and "```python" in generated.out
    assert getattr(shell, "rl_next_input", None) is None
    shell.run_cell("def double(x):\n    return 2 * x")
    result = shell.run_cell("%explain double")
    explained = capsys.readouterr()
    # an explanation was shown: no failure message (a graceful one included)
    assert result.success and "jupyter-codegen:" not in explained.err
    assert "Traceback" not in explained.err and explained.out.strip()


def test_errors_are_messages_not_tracebacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    monkeypatch.delenv("JUPYTER_CODEGEN_URL", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", str(tmp_path / "missing-model"))
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext jupyter_codegen")
    result = sh.run_cell("%%codegen\nanything\n")
    err = capsys.readouterr().err
    assert result.success
    assert "jupyter-codegen: The model" in err and "failed to load" in err
    assert "does not exist" in err and "Traceback" not in err
    sh.run_cell("%explain no_such_name")
    err = capsys.readouterr().err
    assert "cannot evaluate 'no_such_name': NameError" in err and "Traceback" not in err
    InteractiveShell.clear_instance()


def test_object_source_uses_the_source_or_the_description() -> None:
    def area(r):
        return 3.14 * r * r

    code, question = _object_source("area", area)
    assert "return 3.14 * r * r" in code and "area" in question
    import numpy as np

    code, _ = _object_source("a", np.ones((2, 2)))
    assert code.startswith("a: numpy ndarray, shape (2, 2)")


# -- what the magics send --------------------------------------------------------


class Recording:
    """A client of the model service that records what the magics send."""

    where = "a recording client"

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def status(self) -> dict[str, Any]:
        return {"model": "recorded", "state": "ready"}

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        parse_request(GenerateRequest, body)  # the server would take it
        self.sent.append(("generate", body))
        return {"code": "total = 1"}

    def explain(self, body: dict[str, Any]) -> dict[str, Any]:
        parse_request(ExplainRequest, body)
        self.sent.append(("explain", body))
        return {"explanation": "It adds."}


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh shell whose magics send to a :class:`Recording` client."""
    monkeypatch.delenv("JUPYTER_CODEGEN_URL", raising=False)
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext jupyter_codegen")
    client = Recording()
    sh.magics_manager.registry["CodegenMagics"]._client = client
    yield sh, client
    InteractiveShell.clear_instance()


HISTORY = [
    "import pandas as pd",
    "sales = pd.DataFrame({'amount': [1.5, 2.0]})",
    "rate = 0.2\nunused = [1, 2]",
    "def total(df):\n    return df.amount.sum()",
    "label = 'q1'",
]


def run_history(sh: Any, cells: list[str]) -> None:
    for cell in cells:
        assert sh.run_cell(cell, store_history=True).success


def test_codegen_sends_the_history_and_the_lookups_description(recorded) -> None:
    # Given a session that ran five cells
    sh, client = recorded
    run_history(sh, HISTORY)
    # When %%codegen runs as a cell of its own
    sh.run_cell("%%codegen -t 5\nscale sales by rate\n", store_history=True)
    # Then the whole history went, oldest first, without the running cell;
    # and the variables that the request, then the history (newest first)
    # use, described as the frontend's lookup describes them
    [(kind, body)] = client.sent
    assert kind == "generate"
    assert body == {
        "instruction": "scale sales by rate",
        "cells_before": [{"cell_type": "code", "source": c} for c in HISTORY],
        "namespace": "\n".join(
            [
                "sales: pandas DataFrame, shape (2, 1), columns {'amount': float64}",
                "rate: float = 0.2",
                "label: str = 'q1'",
                "total: function(df)",
                "unused: list of length 2 of int",
            ]
        ),
        "max_tokens": 5,
    }


def test_the_request_decides_which_variables_come_first(recorded) -> None:
    sh, client = recorded
    run_history(sh, [f"v{i} = {i}" for i in range(30)])
    sh.run_cell("%codegen add v3 to v17", store_history=True)
    names = [line.split(":")[0] for line in client.sent[0][1]["namespace"].splitlines()]
    # the request's names, then the history's, newest first, 20 at most
    assert names[:4] == ["v3", "v17", "v29", "v28"] and len(names) == 20


def test_a_long_history_sends_its_newest_cells(recorded) -> None:
    # Given cells that together are over the bound of the history sent
    sh, client = recorded
    big = [f"x{i} = '{i}{'a' * (MAX_HISTORY_CHARS // 3)}'" for i in range(4)]
    run_history(sh, [*big, "y = 1"])
    sh.run_cell("%codegen use y", store_history=True)
    # Then the newest that fit are sent, oldest first
    sent = [c["source"] for c in client.sent[0][1]["cells_before"]]
    assert sent == [big[2], big[3], "y = 1"]


def test_recent_cells_keeps_the_newest_within_both_bounds() -> None:
    cells = [f"c{i}" for i in range(MAX_CELLS + 500)]
    assert recent_cells(cells, MAX_CELLS) == cells[-MAX_CELLS:]
    assert recent_cells(["a" * 6, "b" * 5, "c" * 5], 10, max_chars=10) == ["b" * 5, "c" * 5]
    # the first that does not fit ends it, as the frontend clips (a shorter older one waits)
    assert recent_cells(["a", "b" * 20, "c"], 10, max_chars=10) == ["c"]
    assert recent_cells([], 10) == []


def test_executed_cells_leave_out_the_running_cell_and_empty_ones() -> None:
    history = types.SimpleNamespace(input_hist_parsed=["", "a = 1", "  ", "b = 2", "run()"])
    # a cell stored in the history at its execution count (4) is running
    running = types.SimpleNamespace(exec_result=types.SimpleNamespace(execution_count=4))
    shell = types.SimpleNamespace(history_manager=history, displayhook=running)
    assert executed_cells(shell) == ["a = 1", "b = 2"]
    # a silent run stores nothing: the count is past the history's end
    running.exec_result.execution_count = 5
    assert executed_cells(shell) == ["a = 1", "b = 2", "run()"]
    # no cell running: the whole history
    running.exec_result = None
    assert executed_cells(shell) == ["a = 1", "b = 2", "run()"]


def test_show_context_prints_what_is_sent(recorded, capsys) -> None:
    sh, client = recorded
    run_history(sh, HISTORY[:2])
    sh.run_cell("%%codegen --show-context\ndouble the amounts\n", store_history=True)
    out = capsys.readouterr().out
    body = client.sent[0][1]
    assert "Context sent: 2 history cells\n" in out
    assert "Variables:\n" + body["namespace"] + "\n" in out
    assert body["namespace"].startswith("sales: pandas DataFrame, shape (2, 1)")
    sh.run_cell("%%codegen --show-context\nanything\n")  # not stored: 3 cells ran before
    assert "Context sent: 3 history cells\n" in capsys.readouterr().out
    InteractiveShell.clear_instance()
    bare = InteractiveShell.instance()
    bare.run_cell("%load_ext jupyter_codegen")
    bare.magics_manager.registry["CodegenMagics"]._client = Recording()
    bare.run_cell("%%codegen --show-context\nanything\n", store_history=True)
    assert "Context sent: 0 history cells\n\nVariables:\n(none)\n" in capsys.readouterr().out


def test_explain_sends_the_history_and_no_variables(recorded) -> None:
    sh, client = recorded
    run_history(sh, HISTORY)
    cells = [{"cell_type": "code", "source": c} for c in HISTORY]
    # The cell magic, run as a cell of its own: the history before it
    sh.run_cell("%%explain why?\ntotal(sales) * rate\n", store_history=True)
    first = sh.history_manager.input_hist_parsed[-1]
    assert client.sent.pop() == (
        "explain",
        {"code": "total(sales) * rate\n", "cells_before": cells, "question": "why?"},
    )
    # Run silently (not stored): the whole history, the last cell included
    sh.run_cell("%%explain\nrate + 1\n")
    explained = {"cell_type": "code", "source": first}
    assert client.sent.pop() == (
        "explain",
        {"code": "rate + 1\n", "cells_before": [*cells, explained]},
    )
    # The line magic, in a cell that defines what it explains: not that cell
    sh.run_cell("def half(x):\n    return x / 2\n%explain half", store_history=True)
    assert client.sent.pop() == (
        "explain",
        {
            "code": "def half(x):\n    return x / 2\n",
            "cells_before": [*cells, explained],
            "question": "What does `half` do?",
        },
    )
