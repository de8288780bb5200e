"""The magics in a real kernel launched by a real Jupyter server running the
extension: requests go through the server, and the kernel loads no model."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time


async def wait_ready(jp_fetch) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
        if status["state"] == "ready":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(status)


async def execute(client, code: str, timeout: float = 120) -> tuple[dict, str, str]:
    """Run ``code``; return the execute_reply content, stdout and stderr."""
    msg_id = client.execute(code)
    stdout, stderr = [], []
    deadline = time.monotonic() + timeout
    while True:
        msg = await client.get_iopub_msg(timeout=max(1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            (stdout if content["name"] == "stdout" else stderr).append(content["text"])
        elif kind in ("display_data", "execute_result"):
            stdout.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            stderr.append("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = await client.get_shell_msg(timeout=10)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], "".join(stdout), "".join(stderr)


@contextlib.asynccontextmanager
async def started_kernel(serverapp):
    km = serverapp.kernel_manager
    kernel_id = await km.start_kernel()
    client = km.get_kernel(kernel_id).client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)


async def test_magics_in_a_real_kernel_go_through_the_server(jp_fetch, jp_serverapp) -> None:
    await wait_ready(jp_fetch)
    async with started_kernel(jp_serverapp) as kernel:
        await _session(jp_fetch, kernel)


async def _session(jp_fetch, kernel) -> None:
    # Given a kernel with live data and the magics loaded
    reply, _, err = await execute(
        kernel,
        "import pandas as pd\n"
        "sales = pd.DataFrame({'region': ['n', 's'], 'amount': [1.0, 2.5]})\n"
        "%load_ext jupyter_codegen",
    )
    assert reply["status"] == "ok", err
    # When %%codegen runs
    reply, out, err = await execute(
        kernel, "%%codegen -t 8 --show-context\ntotal amount per region in sales\n"
    )
    # Then the code is shown and put into the next cell, and not run
    assert reply["status"] == "ok" and "Traceback" not in err, err
    # And the context was the history before this cell, and the live data it names
    assert "Context sent: 1 history cell\n" in out
    assert "\nsales: pandas DataFrame, shape (2, 2), columns {'region': " in out
    [payload] = [p for p in reply["payload"] if p["source"] == "set_next_input"]
    assert payload["text"].strip() and payload["replace"] is False
    assert "```python" in out
    # And the request went through the server
    status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
    kinds = [r["kind"] for r in status["requests"]["recent"]]
    assert kinds.count("generate") == 1
    # %explain and %codegen_status answer too
    reply, out, err = await execute(kernel, "def double(x):\n    return 2 * x\n\n%explain double")
    assert reply["status"] == "ok" and "Traceback" not in err, err
    reply, out, _ = await execute(kernel, "%codegen_status")
    assert "Answered by the Jupyter server at http" in out and "(ready)" in out
    status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
    assert [r["kind"] for r in status["requests"]["recent"]].count("explain") == 1
    # And the kernel process never loaded a model
    _, out, _ = await execute(
        kernel,
        "import sys\nprint(sorted(m for m in ('torch', 'transformers') if m in sys.modules))",
    )
    assert out.strip() == "[]"
