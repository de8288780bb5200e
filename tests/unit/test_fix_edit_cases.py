"""The fix-error and edit-selection evaluation sets (evals/fix, evals/edit),
validated in a real ipykernel through evals/runner.py: every broken notebook
fails where and how its case says, its hidden check fails, the reference fix
passes it and fixes that only silence the error do not; every edit task's
notebook runs, keeping the selection fails the task, the reference edit
passes. Also the runner's isolation between notebooks and the request bodies."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest

from evals import edit, fix
from evals.edit import rules
from evals.fix.core import (
    InvalidEdits,
    error_line,
    run_broken,
    silence_line,
    silence_try,
    silenced_variants,
)
from evals.runner import Cell, KernelRunner, live_source, parse_percent

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def runner() -> Iterator[KernelRunner]:
    with KernelRunner() as r:
        yield r


# -- the sets' shape (no kernel) ----------------------------------------------


def test_the_percent_format_makes_code_and_markdown_cells() -> None:
    cells = parse_percent(
        "\n# %% [markdown]\n# # Title\n# Some *text*.\n\n"
        "# %%\nimport os\n\n\nx = 1\n\n# %%\ny = 2\n"
    )
    assert cells == (
        Cell("markdown", "# Title\nSome *text*."),
        Cell("code", "import os\n\n\nx = 1"),
        Cell("code", "y = 2"),
    )
    with pytest.raises(ValueError, match="unknown cell marker"):
        parse_percent("# %% [raw]\nx")
    with pytest.raises(ValueError, match="before the first"):
        parse_percent("x = 1\n# %%\ny = 2")


def test_the_fix_cases_cover_the_classes_of_issue_23() -> None:
    cases = fix.CASES
    assert len(cases) >= 44
    assert len({c.id for c in cases}) == len(cases)
    per_class = Counter(c.error_class for c in cases)
    assert set(per_class) == set(fix.CLASSES) and min(per_class.values()) >= 4, per_class
    earlier = [c.id for c in cases if c.earlier]
    assert len(earlier) >= 15, earlier
    assert len(earlier) >= len(cases) / 3


@pytest.mark.parametrize("case", fix.CASES, ids=lambda c: c.id)
def test_a_fix_case_is_well_formed(case: fix.FixCase) -> None:
    cells = case.cells
    assert 2 <= len(cells) <= 8 and cells[case.failing_cell].cell_type == "code"
    assert all(cells[i].cell_type == "code" for i in case.root_cause)
    assert max(case.root_cause) <= case.failing_cell
    edits = case.reference_edits()
    targets = {case.failing_cell if e["cell"] == "active" else e["cell"] for e in edits}
    assert targets == set(case.root_cause)
    for e in edits:
        index = case.failing_cell if e["cell"] == "active" else e["cell"]
        assert e["source"] != cells[index].source
    # Names that only the data shows are in no cell, and in the data
    for name in case.live_only:
        assert not any(name in c.source for c in cells), name
        assert any(name in text for text in case.files.values()), name
    assert case.summary and case.check.strip()


def test_apply_edits_takes_the_active_cell_and_earlier_cells_only() -> None:
    cells = parse_percent("# %%\na = 1\n# %% [markdown]\n# note\n# %%\nb = a\n# %%\nc = b")
    out = fix.apply_edits(
        cells, 2, [{"cell": "active", "source": "b = 2"}, {"cell": 0, "source": ""}]
    )
    assert [c.source for c in out] == ["", "note", "b = 2", "c = b"]
    for bad in (
        [{"cell": 2, "source": "x"}],  # the active cell is "active", not its index
        [{"cell": 3, "source": "x"}],  # a later cell
        [{"cell": -1, "source": "x"}],
        [{"cell": True, "source": "x"}],
        [{"cell": "0", "source": "x"}],
        [{"cell": "active", "source": None}],
        [{"cell": 0, "source": "x"}, {"cell": 0, "source": "y"}],
    ):
        with pytest.raises(InvalidEdits):
            fix.apply_edits(cells, 2, bad)


def test_the_silencing_fixes_wrap_the_cell_or_drop_the_statement_that_raised() -> None:
    source = "total = 0\nfor x in xs:\n    total += x[1]\nprint(total)"
    assert silence_try(source).splitlines()[:2] == ["try:", "    total = 0"]
    compile(silence_try(source), "cell", "exec")
    assert silence_line(source, 3) == "total = 0\nfor x in xs:\n    pass\nprint(total)"
    assert silence_line("y = f(\n    1,\n)\nz = 2", 2) == "pass\nz = 2"
    frame = "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 7\x1b[39m"
    assert error_line({"traceback": ["x", frame]}, 4) == 7
    assert error_line({"traceback": [frame]}, 3) is None


def test_the_edit_tasks_cover_the_instruction_kinds() -> None:
    tasks = edit.TASKS
    assert len(tasks) >= 32
    assert len({t.id for t in tasks}) == len(tasks)
    per_kind = Counter(t.kind for t in tasks)
    assert set(per_kind) == set(edit.KINDS), per_kind
    assert sum(t.selection is None for t in tasks) >= 6  # no selection: the whole cell
    assert sum(bool(t.rules) for t in tasks) >= 20  # the instruction is checked in the code
    assert sum(bool(t.changed) for t in tasks) >= 10  # the behaviour must change


@pytest.mark.parametrize("task", edit.TASKS, ids=lambda t: t.id)
def test_an_edit_task_is_well_formed(task: edit.EditTask) -> None:
    cells = task.cells
    assert cells[task.active].cell_type == "code"
    start, end = task.span  # the selection is once in the active cell
    assert task.selected == (
        task.selection if task.selection is not None else cells[task.active].source
    )
    assert task.reference != task.selected
    # Offsets are the editor's (UTF-16) too: no character outside the BMP
    assert all(ord(ch) < 0x10000 for c in cells for ch in c.source)
    for name in task.live_only:
        assert not any(name in c.source for c in cells), name
        assert any(name in text for text in task.files.values()), name
    request = task.request()
    assert request["selection"] == {"start": start, "end": end}
    assert request["cell"][start:end] == task.selected
    peer = edit.peer_request(request)
    assert peer["cell"] == task.selected and peer["cells_before"] == peer["cells_after"] == []


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (rules.NoLoops(), "y = x * 2", "y = [v * 2 for v in x]"),
        (rules.NoLoops(comprehensions=False), "y = [v for v in x]", "for v in x:\n    pass"),
        (rules.Uses("DictComp"), "d = {k: 1 for k in x}", "d = dict((k, 1) for k in x)"),
        (rules.Calls("groupby"), "df.groupby('a').sum()", "df.sum()"),
        (rules.Calls("np.where"), "np.where(c, 1, 0)", "where(c, 1, 0)"),
        (rules.NoCalls(("iterrows",)), "df.sum()", "for r in df.iterrows():\n    pass"),
        (rules.NoName("x"), "total = 1", "def f(x):\n    return 1"),
        (rules.HasName("total"), "total = 1", "x = 1"),
        (
            rules.Annotated("f"),
            "def f(a: int, *b: int, c: int = 1, **d: int) -> int:\n    return a",
            "def f(a: int, c=1) -> int:\n    return a",
        ),
        (rules.Annotated("f"), "def f() -> None:\n    pass", "def f():\n    pass"),
        (
            rules.Docstring("f", ("Returns",)),
            'def f():\n    """Returns\n    -------\n    1"""',
            'def f():\n    """One."""',
        ),
        (rules.Defines("g"), "def g():\n    pass\ng()", "def g():\n    pass"),
        (
            rules.Catches("ValueError"),
            "try:\n    f()\nexcept (KeyError, ValueError):\n    pass",
            "try:\n    f()\nexcept Exception:\n    pass",
        ),
        (rules.NoOldFormatting(), "s = f'{x}'", "s = '%d' % x"),
        (rules.NoOldFormatting(), "s = f'{x}'", "s = '{}'.format(x)"),
        (rules.OpenInWith(), "with open('a') as f:\n    f.read()", "f = open('a')\nf.close()"),
        (rules.NoAttribute("os.path"), "from pathlib import Path", "os.path.join('a', 'b')"),
        (rules.MaxStatements(1), "r = (df.dropna().sum())", "a = 1\nb = 2"),
        (rules.NoChainedAssignment(), "df.loc[m, 'a'] = 1", "df[m]['a'] = 1"),
    ],
)
def test_a_rule_tells_code_that_follows_it_from_code_that_does_not(
    rule: rules.Rule, good: str, bad: str
) -> None:
    assert rule.check(good) is None
    assert isinstance(rule.check(bad), str)
    assert "does not parse" in (rule.check("def (") or "")


# -- the runner ----------------------------------------------------------------


def test_each_notebook_starts_from_a_fresh_kernel_state(runner: KernelRunner) -> None:
    # Given a notebook that changes everything a notebook can change
    polluter = parse_percent(
        """
# %%
import os, sys, warnings
import numpy as np
import pandas as pd
leak = 1
pd.set_option("display.max_rows", 3)
np.seterr(all="raise")
warnings.simplefilter("error")
sys.path.insert(0, "/nowhere")
with open("mine.txt", "w") as f:
    f.write("x")
with open("helper_mod.py", "w") as f:
    f.write("VALUE = 1")
import helper_mod
"""
    )
    first = runner.run_notebook(polluter, files={"data.csv": "a\n1\n"})
    assert first.clean, first.error
    # When the next notebook runs
    probe = parse_percent(
        """
# %%
import os, sys, warnings
import numpy as np
import pandas as pd
state = {
    "leak": "leak" in globals(),
    "files": sorted(os.listdir(".")),
    "max_rows": pd.get_option("display.max_rows"),
    "seterr": np.geterr()["divide"],
    "error_filter": any(f[0] == "error" and f[2] is Warning for f in warnings.filters),
    "path": "/nowhere" in sys.path,
    "module": "helper_mod" in sys.modules,
    "history": len(In),
}
# %%
not_defined_anywhere
"""
    )
    second = runner.run_notebook(probe, files={"other.csv": "b\n2\n"})
    # Then it sees none of it, and numbers its cells from 1 as a new kernel does
    assert second.failed_at == 1
    error = second.error or {}
    assert error["ename"] == "NameError"
    assert "Cell In[2], line 1" in ANSI.sub("", "".join(error["traceback"]))
    assert second.runs[0].execution_count == 1
    check = runner.run_check(
        "assert state == {'leak': False, 'files': ['other.csv'], 'max_rows': 60,"
        " 'seterr': 'warn', 'error_filter': False, 'path': False, 'module': False,"
        " 'history': 2}, state"
    )
    assert check.passed, check.detail


def test_a_hung_cell_is_interrupted_and_a_dead_kernel_replaced(runner: KernelRunner) -> None:
    runner.cell_timeout = 2.0
    try:
        hung = runner.run_notebook(parse_percent("# %%\nx = 1\n# %%\nwhile True:\n    pass"))
        assert hung.failed_at == 1 and (hung.error or {})["ename"] == "Timeout"
        restarts = runner.restarts
        dead = runner.run_notebook(parse_percent("# %%\nimport os\nos._exit(1)"))
        assert (dead.error or {})["ename"] == "KernelDied" and runner.restarts == restarts + 1
    finally:
        runner.cell_timeout = 30.0
    # And the runner goes on
    ok = runner.run_notebook(
        parse_percent("# %%\nimport pandas as pd\nx = 2"), check="assert x == 2"
    )
    assert ok.passed


def test_live_source_puts_the_active_cell_first_then_the_nearest_cells() -> None:
    cells = parse_percent("# %%\na\n# %% [markdown]\n# m\n# %%\nb\n# %%\nactive\n# %%\nc\n# %%\n\n")
    assert live_source("typed", cells, 3) == "typed\nb\nc\na"


# -- the fix cases in the kernel ------------------------------------------------


@pytest.mark.parametrize("case", fix.CASES, ids=lambda c: c.id)
def test_a_fix_case_fails_as_described_and_its_reference_fix_passes(
    runner: KernelRunner, case: fix.FixCase
) -> None:
    # Given the broken notebook run top to bottom
    broken = run_broken(runner, case)
    # Then the failing cell raises the expected exception, as the kernel sends it
    assert broken.failed_at == case.failing_cell, broken.error
    error = broken.error or {}
    assert error["ename"] == case.ename, error.get("evalue")
    assert all(isinstance(line, str) for line in error["traceback"])
    assert any("\x1b[" in line for line in error["traceback"])  # ANSI codes kept
    count = broken.runs[-1].execution_count
    assert f"Cell In[{count}]" in ANSI.sub("", "".join(error["traceback"]))
    # And the hidden check fails
    assert broken.check is not None and not broken.check.passed
    # When the reference fix is applied, the whole notebook runs clean and passes
    outcome = fix.score_edits(runner, case, case.reference_edits())
    assert outcome.passed, outcome
    # And fixes that only silence the error fail the check
    variants = silenced_variants(case, error, count or 0)
    assert set(variants) == {"try-except", "delete-line"}
    for name, cells in variants.items():
        run = runner.run_notebook(cells, case.files, case.check, tracebacks=False)
        assert not run.passed, name


def test_the_fix_request_is_what_the_frontend_sends(runner: KernelRunner) -> None:
    case = next(c for c in fix.CASES if c.id == "wrong-column-bmi-helper")
    request = fix.build_request(runner, case)
    cells = case.cells
    assert request["cells_before"] == [c.as_json() for c in cells[: case.failing_cell]]
    assert request["cell"] == cells[case.failing_cell].source
    assert request["cells_after"] == [c.as_json() for c in cells[case.failing_cell + 1 :]]
    assert request["stream"] is False and json.loads(json.dumps(request)) == request
    error = request["error"]
    assert set(error) == {"ename", "evalue", "traceback"} and error["ename"] == "KeyError"
    plain = ANSI.sub("", "\n".join(error["traceback"]))
    # The traceback leads into the helper's cell, In[2], where the root cause is
    assert "Cell In[3], line 1" in plain and "Cell In[2], line 4, in add_bmi" in plain
    # And the live namespace shows the column that only the data has
    assert "patients: pandas DataFrame" in request["namespace"]
    assert "height_cm" in request["namespace"]
    peer = fix.peer_request(request)
    assert peer["cells_before"] == peer["cells_after"] == [] and peer["namespace"] == ""
    assert peer["cell"] == request["cell"] and peer["error"] == error


def test_a_reused_kernel_sends_the_same_request_as_a_fresh_one(runner: KernelRunner) -> None:
    picked = [c for c in fix.CASES if c.id in ("wrong-column-price-usd", "date-never-parsed")]
    for case in fix.CASES[:6]:  # whatever ran before
        run_broken(runner, case)
    reused = [fix.build_request(runner, case) for case in picked]
    with KernelRunner() as fresh:
        first = [fix.build_request(fresh, case) for case in picked]
    assert reused == first


# -- the edit tasks in the kernel -----------------------------------------------


@pytest.mark.parametrize("task", edit.TASKS, ids=lambda t: t.id)
def test_an_edit_task_needs_the_edit_and_its_reference_passes(
    runner: KernelRunner, task: edit.EditTask
) -> None:
    # The original notebook runs clean and keeps the behaviour the check pins
    original = edit.score_edit(runner, task, task.selected)
    assert original.runs, original.detail
    assert "check:" not in original.detail, original.detail
    # But leaving the selection as it is, or deleting it, fails the task
    assert not original.passed
    assert not edit.score_edit(runner, task, "").passed
    # And the reference edit passes all of it
    reference = edit.score_edit(runner, task, task.reference)
    assert reference.passed, reference.detail


def test_the_edit_request_carries_the_selection_and_the_live_namespace(
    runner: KernelRunner,
) -> None:
    task = next(t for t in edit.TASKS if t.id == "context-live-column")
    request = edit.build_request(runner, task)
    start, end = request["selection"]["start"], request["selection"]["end"]
    assert request["cell"][start:end] == task.selection
    assert request["instruction"] == "break this down by sales channel too"
    assert "'sales_channel'" in request["namespace"]
    whole = next(t for t in edit.TASKS if t.selection is None)
    assert whole.request()["selection"] == {
        "start": 0,
        "end": len(whole.cells[whole.active].source),
    }
