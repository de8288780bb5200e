"""End to end on the embedded Qwen2.5-Coder-1.5B, on the CPU, through a real server.

The first run on a machine converts the model into the user cache (about two
minutes on 2 cores); later runs load it in seconds.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from conftest import sse_events

from jupyter_codegen.engine.local.embedded import default_cache_dir

pytestmark = pytest.mark.e2e

LOAD_TIMEOUT_S = 900


@pytest.fixture
def codegen_overrides() -> dict:
    return {
        "model": "embedded",
        "dtype": "auto",
        "cache_dir": str(default_cache_dir()),
        "completion_max_tokens": 256,
    }


async def complete(jp_fetch, **body) -> dict:
    resp = await jp_fetch(
        "jupyter-codegen", "complete", method="POST", body=json.dumps(body), request_timeout=300
    )
    return json.loads(resp.body)


async def wait_ready(jp_fetch) -> dict:
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    while time.monotonic() < deadline:
        resp = await jp_fetch("jupyter-codegen", "status")
        status = json.loads(resp.body)
        if status["state"] != "loading":
            assert status["state"] == "ready", status["error"]
            return status
        await asyncio.sleep(1)
    raise AssertionError("the embedded model did not load in time")


async def test_embedded_model_completes_explains_and_streams(jp_fetch) -> None:
    status = await wait_ready(jp_fetch)
    assert status["model"] == "embedded:qwen2.5-coder-1.5b-instruct"
    # quantize=auto: int8 weights on the CPU
    assert status["family"] == "qwen2.5-coder" and status["dtype"] == "int8"

    # A block body: the loop must accumulate n.
    reply = await complete(
        jp_fetch,
        prefix="def average(nums):\n    total = 0\n    for n in nums:\n        ",
        suffix="\n    return total / len(nums)\n",
        max_tokens=32,
    )
    text = reply["completions"][0]["text"]
    assert re.search(r"total\s*(\+=\s*n\b|=\s*total\s*\+\s*n\b)", text), text
    assert "return total / len(nums)" not in text  # never repeats the suffix

    # Mid-line, with the import in an earlier cell.
    reply = await complete(
        jp_fetch,
        prefix="values = np.array([3, 1, 2])\naverage = np.",
        suffix="",
        cells_before=[{"cell_type": "code", "source": "import numpy as np"}],
        max_tokens=16,
    )
    first_line = reply["completions"][0]["text"].splitlines()[0]
    assert first_line.startswith("mean(values"), first_line

    # A function defined in an earlier cell is used.
    reply = await complete(
        jp_fetch,
        prefix="# load the sales data from sales.csv\nsales = ",
        suffix="",
        cells_before=[
            {"cell_type": "code", "source": "import pandas as pd"},
            {
                "cell_type": "code",
                "source": "def load_sales(path):\n    df = pd.read_csv(path)\n"
                "    return df.dropna()\n",
            },
        ],
        max_tokens=16,
    )
    assert reply["completions"][0]["text"].startswith("load_sales("), reply

    # An explanation names what the function does.
    resp = await jp_fetch(
        "jupyter-codegen",
        "explain",
        method="POST",
        request_timeout=300,
        body=json.dumps(
            {
                "code": "def is_palindrome(s):\n    s = s.lower()\n    return s == s[::-1]\n",
                "max_tokens": 120,
            }
        ),
    )
    explanation = json.loads(resp.body)["explanation"]
    assert "palindrome" in explanation.lower(), explanation
    assert re.search(r"revers|backward|\[::-1\]", explanation), explanation

    # Streaming: the first text arrives before the whole completion is done.
    resp = await jp_fetch(
        "jupyter-codegen",
        "complete",
        method="POST",
        request_timeout=300,
        body=json.dumps(
            {
                "prefix": "def fibonacci(n):\n    ",
                "suffix": "",
                "max_tokens": 48,
                "stream": True,
            }
        ),
    )
    events = sse_events(resp.body)
    assert events[-1][0] == "done"
    assert sum(1 for name, _ in events if name == "completion") >= 2
    timings = events[-1][1]["timings"]
    assert timings["first_token_ms"] < timings["generate_ms"]
