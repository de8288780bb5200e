"""The magics in a plain IPython shell: parsing, rendering, errors, and the
in-process fallback on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

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
    assert "import pandas as pd" in captured.out
    shell.run_cell("%codegen_status")
    status = capsys.readouterr().out
    assert "Answered by a model loaded in this process" in status
    assert "(ready)" in status


def test_no_insert_and_explain_render(shell, capsys) -> None:
    shell.run_cell("%%codegen --no-insert -t 4\nmake a list\n")
    assert getattr(shell, "rl_next_input", None) is None
    shell.run_cell("def double(x):\n    return 2 * x")
    result = shell.run_cell("%explain double")
    assert result.success and "Traceback" not in capsys.readouterr().err


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
