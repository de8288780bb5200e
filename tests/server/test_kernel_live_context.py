"""Contract A through a real IPython kernel (jupyter_client): the frontend's
silent ``user_expressions`` lookup returns one line of JSON, stores no history,
and a kernel that cannot import the package answers with a non-ok status."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

MODULE = "jupyter_codegen.kernel.live"


def expression(source: str, module: str = MODULE) -> str:
    """The user expression the frontend sends (JSON string syntax is Python's)."""
    return f"__import__('{module}', fromlist=['live_context']).live_context({json.dumps(source)})"


def run(client: Any, code: str, **kwargs: Any) -> dict:
    msg_id = client.execute(code, **kwargs)
    deadline = time.monotonic() + 60
    while True:
        reply = client.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def lookup(client: Any, source: str, module: str = MODULE) -> dict:
    return run(
        client,
        "",
        silent=True,
        store_history=False,
        user_expressions={"codegen": expression(source, module)},
    )["user_expressions"]["codegen"]


@pytest.fixture(scope="module")
def kernel() -> Any:
    km, client = start_new_kernel(kernel_name="python3", startup_timeout=120)
    try:
        yield client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_lookup_describes_live_variables_and_stores_no_history(kernel: Any) -> None:
    # Given a kernel with a frame whose columns no code shows, and a trap object
    reply = run(
        kernel,
        "import pandas as pd\n"
        "sales = pd.DataFrame({'Unit Price (€)': [1.5], 'qty#': [2]})\n"
        "config = {'lr_init': 0.1}\n"
        "calls = []\n"
        "class Trap:\n"
        "    def __repr__(self):\n"
        "        calls.append('repr')\n"
        "        return 'trap'\n"
        "    def __getattr__(self, name):\n"
        "        calls.append(name)\n"
        "        raise AttributeError(name)\n"
        "trap = Trap()\n",
    )
    assert reply["status"] == "ok", reply
    count = run(kernel, "")["execution_count"]
    history = run(kernel, "", user_expressions={"n": "len(In)"})["user_expressions"]["n"]
    # When the frontend looks up the active cell's names, silently, twice
    found = lookup(kernel, "sales[''].sum()\ntrap\nconfig")
    again = lookup(kernel, "sales[''].sum()\ntrap\nconfig")
    # Then the answer is one line of JSON naming the real columns
    assert found["status"] == "ok", found
    text_plain = found["data"]["text/plain"]
    assert "\n" not in text_plain and again == found
    result = json.loads(text_plain)
    assert found["data"]["application/json"] == result  # what the frontend reads first
    assert result["names"][:3] == ["sales", "trap", "config"]
    lines = result["text"].splitlines()
    assert lines[0] == (
        "sales: pandas DataFrame, shape (1, 2), columns {'Unit Price (€)': float64, 'qty#': int64}"
    )
    assert lines[1] == "trap: __main__.Trap"
    assert lines[2] == "config: dict of length 1, keys {'lr_init': float}"
    # And no user code ran, and no history was stored
    after = run(kernel, "", user_expressions={"calls": "calls", "n": "len(In)"})
    assert after["user_expressions"]["calls"]["data"]["text/plain"] == "[]"
    assert after["user_expressions"]["n"] == history
    assert run(kernel, "")["execution_count"] == count  # the lookups did not count
    # And the count it reports moves when a cell runs: the frontend's cache key
    run(kernel, "x = 1")
    assert json.loads(lookup(kernel, "x")["data"]["text/plain"])["execution_count"] == (
        result["execution_count"] + 1
    )


def test_the_output_is_bounded(kernel: Any) -> None:
    run(kernel, "wide = {f'key_{i}': {'x' * 90: i} for i in range(150)}\n"
        "many = {f'v{i}': list(range(i)) for i in range(300)}\n"
        "globals().update(many)")  # fmt: skip
    result = json.loads(lookup(kernel, " ".join(f"v{i}" for i in range(300)))["data"]["text/plain"])
    assert 0 < len(result["text"]) <= 3000 and len(result["names"]) <= 20


def test_a_kernel_without_the_package_answers_with_an_error_status(kernel: Any) -> None:
    found = lookup(kernel, "x", module="jupyter_codegen_not_installed.kernel_context")
    assert found["status"] == "error" and found["ename"] == "ModuleNotFoundError"
    assert "data" not in found
