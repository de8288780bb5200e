"""The evaluation harness's parts: task building, sandboxed runs, metrics, and
one end-to-end run on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import humaneval, notebooks
from evals.__main__ import main
from evals.metrics import edit_similarity, first_line, score
from evals.sandbox import run_program


@pytest.mark.parametrize(
    ("a", "b", "similarity"),
    [("abc", "abc", 1.0), ("", "", 1.0), ("abc", "", 0.0), ("kitten", "sitting", 1 - 3 / 7)],
)
def test_edit_similarity(a: str, b: str, similarity: float) -> None:
    assert edit_similarity(a, b) == pytest.approx(similarity)


def test_score_compares_first_lines_and_checks_the_cell_parses() -> None:
    s = score("total += n\n    extra()", "total += n", "for n in xs:\n    ", "\nprint(total)")
    assert s["exact_match"] == 1.0 and s["edit_similarity"] == 1.0
    assert s["block_edit_similarity"] < 1.0
    assert s["parses"] == 1.0
    assert score("total +=", "total += n", "x = 1\n", "")["parses"] == 0.0
    assert first_line("\n\n  a = 1\nb") == "a = 1"


def test_sandbox_passes_fails_and_times_out() -> None:
    assert run_program("assert 1 + 1 == 2\n").passed
    failed = run_program("raise ValueError('nope')\n")
    assert (failed.passed, failed.reason) == (False, "failed")
    assert "ValueError: nope" in failed.detail
    slow = run_program("while True:\n    pass\n", timeout=1.0)
    assert (slow.passed, slow.reason) == (False, "timeout")


def test_sandbox_runs_isolated_in_an_empty_directory() -> None:
    assert run_program(
        "import os, sys\nassert os.listdir('.') == ['program.py']\nassert sys.flags.isolated\n"
    ).passed


def test_humaneval_tasks_are_deterministic_and_their_answers_pass() -> None:
    # Given the same seed twice
    tasks = humaneval.build_tasks(3, 3, seed=7)
    assert [t.id for t in tasks] == [t.id for t in humaneval.build_tasks(3, 3, seed=7)]
    assert sorted(t.kind for t in tasks) == ["multi-line"] * 3 + ["single-line"] * 3
    for task in tasks:
        # The cursor sits after the masked line's indent, in the entry point's cell
        assert task.target.strip() and not task.target[0].isspace()
        assert task.prefix.lstrip().startswith("def ")
        # Then the canonical code passes the tests, and a wrong fill fails them
        assert run_program(humaneval.program(task, task.target)).passed, task.id
        assert not run_program(humaneval.program(task, "raise SystemExit(3)")).passed


def test_humaneval_helpers_and_imports_go_to_earlier_cells() -> None:
    problems = humaneval.load_problems()
    p10 = next(p for p in problems if p["task_id"] == "HumanEval/10")
    imports, helpers, head = humaneval.split_prompt(p10["prompt"], p10["entry_point"])
    assert "def is_palindrome" in helpers and "def is_palindrome" not in head
    assert head.startswith("def make_palindrome")
    p0 = problems[0]
    imports, helpers, head = humaneval.split_prompt(p0["prompt"], p0["entry_point"])
    assert imports == "from typing import List" and helpers == ""


def test_notebook_spots_mask_lines_mid_lines_and_blocks() -> None:
    # Given a small notebook (no download)
    nb = notebooks.Notebook(
        "pkg",
        "1.0",
        "0" * 64,
        "pkg/examples/demo.ipynb",
        (
            ("code", "import numpy as np"),
            ("markdown", "# Data"),
            ("code", "xs = np.arange(10)"),
            ("code", "def scale(v, k=2):\n    out = v * k\n    return out\n\nys = scale(xs, k=3)"),
        ),
    )
    # When tasks are built
    tasks = notebooks.build_tasks([nb], {"line-start": 10, "mid-line": 10, "block": 10})
    kinds = {t.kind for t in tasks}
    # Then all three kinds come from the third code cell, and each task is the
    # cell split in three
    assert kinds == {"line-start", "mid-line", "block"}
    source = nb.cells[3][1]
    for task in tasks:
        assert task.prefix + task.target + task.suffix == source
        assert task.cells_before == nb.cells[:3]
        assert task.source["notebook"] == "pkg/examples/demo.ipynb"
    block = next(t for t in tasks if t.kind == "block")
    assert block.target == "out = v * k\n    return out"
    assert any(t.kind == "mid-line" and t.target == "xs, k=3)" for t in tasks)


def test_the_harness_runs_end_to_end_on_a_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    # When the harness runs one task of each HumanEval kind, with all three strategies
    code = main(
        [
            "--model", str(tiny_model_dir), "--device", "cpu", "--dtype", "float32",
            "--humaneval-single", "1", "--humaneval-multi", "1",
            "--notebook-line-start", "0", "--notebook-mid-line", "0", "--notebook-block", "0",
            "--early-stop-tasks", "0", "--max-tokens", "8", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    # Then every task was scored under every strategy, and the tables were written
    assert code == 0
    result = json.loads(next(tmp_path.glob("*.json")).read_text())
    rows = result["rows"]
    assert sorted((r["strategy"], r["kind"]) for r in rows) == sorted(
        (s, k) for s in ("syntax", "preceding", "cell") for k in ("single-line", "multi-line")
    )
    assert all(0.0 <= r["edit_similarity"] <= 1.0 and "pass" in r for r in rows)
    table = next(tmp_path.glob("*.md")).read_text()
    assert "ours: tree-sitter selection" in table and "### humaneval" in table


def test_the_proposal_tables_give_pass_rates_and_times_per_prompt() -> None:
    from evals.proposals import table, timing_table

    def row(id_: str, cls: str, prompt: str, passed: float, first: float | None, total: float):
        return {"id": id_, "class": cls, "prompt": prompt, "passed": passed,
                "first_words_s": first, "total_s": total}  # fmt: skip

    rows = [
        row("a", "x", "ours", 1.0, 1.0, 4.0),
        row("a", "x", "peer", 0.0, 0.5, 2.0),
        row("b", "y", "ours", 0.0, 3.0, 6.0),
        row("b", "y", "peer", 0.0, None, 1.0),
    ]
    assert table(rows, "class", ["x", "y", "z"], ["ours", "peer"]) == [
        "| class | n | ours pass % | peer pass % |",
        "|---|---|---|---|",
        "| x | 1 | 100.0 | 0.0 |",
        "| y | 1 | 0.0 | 0.0 |",
        "| all | 2 | 50.0 | 0.0 |",
    ]
    times = timing_table(rows, ["ours", "peer"])
    # a proposal with no words has no first-words time, but a total one
    assert times[2:] == [
        "| ours | 1.00 | 3.00 | 4.00 | 6.00 |",
        "| peer | 0.50 | 0.50 | 1.00 | 2.00 |",
    ]
    # a run that prefetched each fix before the click says how long that took
    prefetched = [{**r, "prefetch_s": 2.0 if r["id"] == "a" else 3.0} for r in rows]
    times = timing_table(prefetched, ["ours", "peer"])
    assert times[0].endswith("| prefetch before the click p50 s |")
    assert times[2:] == [
        "| ours | 1.00 | 3.00 | 4.00 | 6.00 | 2.00 |",
        "| peer | 0.50 | 0.50 | 1.00 | 2.00 | 2.00 |",
    ]


@pytest.mark.parametrize("kind", ["fix", "edit"])
def test_the_fix_and_edit_runs_score_both_prompts_on_a_tiny_model(
    kind: str, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evals.proposals
    from evals.edit import TASKS
    from evals.edit.__main__ import main as edit_main
    from evals.fix import CASES
    from evals.fix.__main__ import main as fix_main

    monkeypatch.setattr(evals.proposals, "RESULTS", tmp_path)
    # When one case runs through the service on the tiny model (random words)
    first = (CASES if kind == "fix" else TASKS)[0]
    run = fix_main if kind == "fix" else edit_main
    args = ["run", "--ids", first.id, "--model", str(tiny_model_dir), "--max-tokens", "4"]
    assert run(args) == 0
    # Then both prompts were answered, streamed and scored by execution: random
    # words fix nothing
    rows = json.loads(next(tmp_path.glob(f"{kind}-*.json")).read_text())["rows"]
    assert [(r["id"], r["prompt"], r["passed"]) for r in rows] == [
        (first.id, "ours", 0.0),
        (first.id, "peer", 0.0),
    ]
    assert all(r["total_s"] > 0 for r in rows)
    report = next(tmp_path.glob(f"{kind}-*.md")).read_text()
    assert "| all | 1 | 0.0 | 0.0 |" in report and "first words p50 s" in report


@pytest.mark.parametrize(("kind", "uncached"), [("fix", 3), ("edit", 40)])
def test_a_run_with_prefetch_reuses_each_prefetched_prompt(
    kind: str, uncached: int, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evals.proposals
    from evals.edit import TASKS
    from evals.edit.__main__ import main as edit_main
    from evals.fix import CASES
    from evals.fix.__main__ import main as fix_main

    monkeypatch.setattr(evals.proposals, "RESULTS", tmp_path)
    # When a case's fix is prefetched (as when its error appears), or an
    # edit's prompt without its instruction (while it is typed), then asked
    first = (CASES if kind == "fix" else TASKS)[0]
    run = fix_main if kind == "fix" else edit_main
    args = ["run", "--ids", first.id, "--model", str(tiny_model_dir), "--max-tokens", "4"]
    assert run([*args, "--prompts", "ours", "--prefetch"]) == 0
    # Then the click found its prompt computed, but for its last tokens (and
    # an edit's instruction)
    [row] = json.loads(next(tmp_path.glob(f"{kind}-*.json")).read_text())["rows"]
    assert row["prefetch_s"] > 0
    timings = row["timings"]
    assert timings["prompt_tokens"] > 2 * uncached
    assert timings["cached_tokens"] >= timings["prompt_tokens"] - uncached
    assert "prefetch before the click p50 s" in next(tmp_path.glob(f"{kind}-*.md")).read_text()
