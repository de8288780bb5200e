"""The live kernel's variables (``namespace``) over the HTTP API, on a real
Jupyter server running the extension on the tiny model."""

from __future__ import annotations

import pytest
from test_api import call, error_of, wait_state

NAMESPACE = (
    "sales: pandas DataFrame, shape (40, 6), columns {'Order ID': int64, "
    "'Unit Price (€)': float64, 'qty#': int64, 'région': str}\n"
    "config: dict of length 2, keys {'lr_init': float, 'n_epochs_max': int}"
)
CELLS = [
    {"cell_type": "code", "source": "import pandas as pd"},
    {"cell_type": "code", "source": "sales = pd.read_csv('sales.csv')\nsales.head()"},
]


@pytest.mark.parametrize("route", ["complete", "explain", "generate"])
async def test_every_generating_route_takes_a_namespace(jp_fetch, route: str) -> None:
    await wait_state(jp_fetch, "ready")
    body = {
        "complete": {"prefix": "total = sales['", "suffix": "'].sum()"},
        "explain": {"code": "sales['qty#'].sum()"},
        "generate": {"instruction": "sum the prices"},
    }[route]
    reply = await call(
        jp_fetch, route, {**body, "cells_before": CELLS, "namespace": NAMESPACE, "max_tokens": 4}
    )
    plain = await call(jp_fetch, route, {**body, "cells_before": CELLS, "max_tokens": 4})
    # The description went into the prompt: it is longer by it
    assert reply["timings"]["prompt_tokens"] > plain["timings"]["prompt_tokens"] + 20


@pytest.mark.parametrize("route", ["complete", "explain", "generate"])
@pytest.mark.parametrize(
    ("namespace", "message"),
    [("n" * 20_001, "at most 20000 characters"), (["df: int"], "valid string"), (3, "string")],
)
async def test_a_bad_namespace_gets_a_json_400(
    jp_fetch, route: str, namespace: object, message: str
) -> None:
    body = {
        "complete": {"prefix": "x = "},
        "explain": {"code": "x = 1"},
        "generate": {"instruction": "make x"},
    }[route]
    code, reply = await error_of(call(jp_fetch, route, {**body, "namespace": namespace}))
    assert code == 400
    assert reply["errors"][0]["field"] == "namespace" and message in reply["message"]


async def test_typing_with_the_same_namespace_reuses_the_prompt(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    body = {"cells_before": CELLS, "max_tokens": 4, "path": "live.ipynb", "namespace": NAMESPACE}
    # Given a completion, then the same cell one keystroke on, same namespace
    first = await call(jp_fetch, "complete", {**body, "prefix": "total = sales[sales['"})
    second = await call(jp_fetch, "complete", {**body, "prefix": "total = sales[sales['r"})
    # Then the second computed only the tail of its prompt
    assert first["timings"]["reuse"] == 0
    assert second["timings"]["reuse"] >= 0.8
    assert second["timings"]["cached_tokens"] >= second["timings"]["prompt_tokens"] - 8
    # And when a cell ran and the namespace changed, the prompt's head is new
    changed = NAMESPACE.replace("shape (40, 6)", "shape (41, 6)")
    third = await call(
        jp_fetch,
        "complete",
        {**body, "namespace": changed, "prefix": "total = sales[sales['ré"},
    )
    assert third["timings"]["reuse"] < 0.5
