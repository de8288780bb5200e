"""The live-state evaluation set: its data, its tasks, and the lookup that
gives each task its namespace (a real IPython shell in a child interpreter)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from evals import livestate
from evals.__main__ import livestate_table, main
from jupyter_codegen.api.schemas import CompleteRequest


def test_the_data_files_ship_with_the_set_and_load() -> None:
    kinds = {name.rsplit(".", 1)[-1] for name in livestate.DATA_FILES}
    assert kinds == {"csv", "json", "parquet"}
    for name in livestate.DATA_FILES:
        path = livestate.DATA / name
        assert path.is_file() and path.stat().st_size > 100, name
    assert "Unit Price (€)" in pd.read_csv(livestate.DATA / "sales.csv").columns
    assert "Dx Code" in pd.read_parquet(livestate.DATA / "patients.parquet").columns
    assert "readings_v2" in json.loads((livestate.DATA / "sensors.json").read_text())
    assert {nb.data for nb in livestate.NOTEBOOKS} == set(livestate.DATA_FILES)


def test_no_cell_text_shows_the_target() -> None:
    """Only the live kernel knows the answer: the target is in no cell, nor in
    the active cell around the cursor, but it is in the data file."""
    assert 20 <= len(livestate.NOTEBOOKS) <= 30
    assert len({nb.name for nb in livestate.NOTEBOOKS}) == len(livestate.NOTEBOOKS)
    for nb in livestate.NOTEBOOKS:
        texts = [*nb.cells, nb.prefix + nb.suffix]
        assert nb.target.startswith(nb.hidden) and "\n" not in nb.target, nb.name
        assert not any(nb.hidden in text for text in texts), nb.name
        data = livestate.DATA / nb.data
        if nb.data.endswith(".parquet"):
            assert nb.hidden in pd.read_parquet(data).columns, nb.name
        else:
            assert nb.hidden in data.read_text(), nb.name


def test_build_tasks_makes_requests_with_and_without_the_namespace() -> None:
    tasks = livestate.build_tasks(3)
    assert [t.id for t in tasks] == [
        "livestate:sales-revenue",
        "livestate:sales-per-region",
        "livestate:sales-returned",
    ]
    first = tasks[0]
    assert (first.set, first.kind, first.target) == ("livestate", "csv", 'Unit Price (€)"]')
    assert first.suffix == "\n" and first.source["hidden"] == "Unit Price (€)"
    assert first.cells_before == (("code", "import pandas as pd"), ("code", livestate.SALES))
    assert first.namespace == ""  # attached by with_namespaces
    assert len(livestate.build_tasks(100)) == len(livestate.NOTEBOOKS)
    # The lookup sees the active cell first, then the other cells, nearest first
    assert livestate.lookup_source(first).split("\n")[:2] == [
        "# revenue of each order",
        'sales["revenue"] = sales["qty#"] * sales["',
    ]
    task = first.__class__(**{**first.__dict__, "namespace": "sales: pandas DataFrame"})
    with_ns = CompleteRequest.model_validate(task.as_request(16))
    without = CompleteRequest.model_validate(task.as_request(16, live=False))
    assert with_ns.namespace == "sales: pandas DataFrame" and without.namespace == ""
    assert "namespace" not in first.as_request(16)  # the other sets' requests are unchanged


def test_with_namespaces_runs_the_cells_and_describes_the_live_variables() -> None:
    picked = [nb.name for nb in livestate.NOTEBOOKS]
    tasks = livestate.with_namespaces(livestate.build_tasks(len(picked)))
    by_name = {t.source["notebook"]: t for t in tasks}
    for task in tasks:
        # The answer is now in the namespace, and only there
        assert task.source["hidden"] in task.namespace, task.id
    assert by_name["sales-revenue"].namespace.startswith(
        "sales: pandas DataFrame, shape (40, 6), columns {'Order ID': int64, 'Unit Price (€)':"
    )
    assert "ev: polars DataFrame, shape (40, 4)" in by_name["events-duration"].namespace
    assert "'station_meta': dict {'site_code': str" in by_name["sensors-site"].namespace
    assert "class __main__.Item, fields sku_code" in by_name["inventory-namedtuple"].namespace


def test_livestate_table_compares_with_and_without() -> None:
    rows = [
        {"set": "livestate", "kind": "csv", "live": live, "exact_match": em,
         "edit_similarity": es, "names_it": em, "latency_s": 1.0}
        for live, em, es in ((True, 1.0, 1.0), (False, 0.0, 0.5), (True, 0.0, 0.8))
    ]  # fmt: skip
    table = "\n".join(livestate_table(rows))
    assert "| without | csv | 1 | 0.0 | 0.0 | 50.0 |" in table
    assert "| with | all | 2 | 50.0 | 50.0 | 90.0 |" in table
    assert livestate_table([]) == []


def test_the_harness_runs_the_livestate_set_on_a_tiny_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    code = main(
        [
            "--model", str(tiny_model_dir), "--device", "cpu", "--dtype", "float32",
            "--humaneval-single", "0", "--humaneval-multi", "0", "--livestate", "2",
            "--notebook-line-start", "0", "--notebook-mid-line", "0", "--notebook-block", "0",
            "--early-stop-tasks", "0", "--max-tokens", "4", "--strategies", "syntax",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    result = json.loads(next(tmp_path.glob("*.json")).read_text())
    rows = result["rows"]
    assert sorted((r["task"], r["live"]) for r in rows) == [
        ("livestate:sales-per-region", False),
        ("livestate:sales-per-region", True),
        ("livestate:sales-revenue", False),
        ("livestate:sales-revenue", True),
    ]
    # With live context the prompt holds the description: it is longer
    tokens = {(r["task"], r["live"]): r["prompt_tokens"] for r in rows}
    assert tokens[("livestate:sales-revenue", True)] > tokens[("livestate:sales-revenue", False)]
    assert all(r["names_it"] in (0.0, 1.0) for r in rows)
    assert "### live state" in next(tmp_path.glob("*.md")).read_text()
