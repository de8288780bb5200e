"""``completion_timeout``: the deadline of a suggestion, through a real Jupyter
server on the tiny model. It stops completions only: explanations and a
prefetch (background work) keep ``generation_timeout``. What a candidate cut
by it becomes is table-tested in ``tests/unit/test_pipeline.py``."""

from __future__ import annotations

import pytest
from test_prefetch import post, ready

CELL = {
    "prefix": "import json\n\ndef load(path):\n    with open(path) as fh:\n        return ",
    "suffix": "\n\ndata = load('a.json')\n",
    "path": "deadline.ipynb",
    "max_tokens": 32,
}


async def requests(jp_fetch) -> dict:
    return (await ready(jp_fetch))["requests"]


# A deadline that has passed before the first layer ran.
@pytest.mark.parametrize("codegen_overrides", [{"completion_timeout": 1e-6}])
async def test_a_completion_past_its_deadline_answers_nothing_rather_than_a_cut_line(
    jp_fetch,
) -> None:
    await ready(jp_fetch)
    # When a completion cannot finish in time
    reply = await post(jp_fetch, "complete", CELL)
    # Then it answers (200) with no suggestion at all
    assert reply["completions"] == []
    # And the status counts it, and says why it ended
    counts = await requests(jp_fetch)
    assert counts["timed_out"] == 1
    assert counts["recent"][-1]["kind"] == "complete"
    assert counts["recent"][-1]["finish_reason"] == "timeout"
    # And an explanation on the same server is not held to the completion deadline
    explained = await post(jp_fetch, "explain", {"code": "x = 1\n", "max_tokens": 8})
    assert explained["finish_reason"] != "timeout"
    assert explained["timings"]["generated_tokens"] > 0
    # Nor is a prefetch, which computes the prompt in full
    prefetch = await post(jp_fetch, "prefetch", {**CELL, "path": "other.ipynb"})
    assert prefetch["prefetched"] is True
    assert (await requests(jp_fetch))["timed_out"] == 1


async def test_the_default_deadline_leaves_an_ordinary_completion_alone(jp_fetch) -> None:
    status = await ready(jp_fetch)
    assert status["limits"]["completion_timeout"] == 15.0
    await post(jp_fetch, "complete", CELL)
    counts = await requests(jp_fetch)
    assert counts["timed_out"] == 0
    assert counts["recent"][-1]["finish_reason"] in {"stop", "scope", "length"}


@pytest.mark.parametrize(
    ("codegen_overrides", "seconds"),
    [
        ({"completion_timeout": 5.0}, 5.0),
        ({"completion_timeout": 0.0}, 120.0),  # 0: generation_timeout
        ({"completion_timeout": 30.0, "generation_timeout": 10.0}, 10.0),
        ({"completion_timeout": 0.0, "generation_timeout": 0.0}, 0.0),  # no limit
    ],
)
async def test_the_deadline_is_the_shorter_of_the_two_timeouts(jp_fetch, seconds: float) -> None:
    assert (await ready(jp_fetch))["limits"]["completion_timeout"] == seconds
