"""``POST /prefetch``: a completion's prompt computed ahead of the first
keystroke, at low priority, through a real Jupyter server on the tiny model."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from test_fix_edit_api import EDIT, FIX

from jupyter_codegen.api.schemas import EditPrefetchRequest, EditRequest, ExplainRequest
from jupyter_codegen.engine.local.prefix_cache import common_prefix

CELL = {
    "prefix": "import json\n\ndef load(path):\n    with open(path) as fh:\n        return ",
    "suffix": "\n\ndata = load('a.json')\n",
    "cells_before": [{"cell_type": "code", "source": "import os\nROOT = os.getcwd()\n" * 20}],
    "path": "prefetch.ipynb",
}


def codegen_app(serverapp: Any) -> Any:
    [app] = serverapp.extension_manager.extension_apps["jupyter_codegen"]
    return app


async def ready(jp_fetch) -> dict:
    deadline = time.monotonic() + 60
    while True:
        status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
        if status["state"] == "ready":
            return status
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def post(jp_fetch, route: str, body: dict) -> dict:
    resp = await jp_fetch("jupyter-codegen", route, method="POST", body=json.dumps(body))
    return json.loads(resp.body)


async def prefetched(jp_fetch, route: str, body: dict, at_least: int) -> dict:
    """Send a prefetch to an idle model: it ran, computed a prompt of more
    than ``at_least`` tokens and generated nothing. Its timings."""
    prefetch = await post(jp_fetch, route, body)
    assert prefetch["prefetched"] is True
    timings = prefetch["timings"]
    assert timings["generated_tokens"] == 0 and timings["prompt_tokens"] > at_least
    return timings


async def test_a_prefetch_computes_the_prompt_the_first_keystroke_reuses(jp_fetch) -> None:
    await ready(jp_fetch)
    timings = await prefetched(jp_fetch, "prefetch", CELL, 100)
    # The keystroke: one more character at the cursor
    typed = await post(
        jp_fetch, "complete", {**CELL, "prefix": CELL["prefix"] + "j", "max_tokens": 2}
    )
    # all of the prefetched prompt but its last tokens came from the cache
    assert typed["timings"]["cached_tokens"] >= timings["prompt_tokens"] - 3


async def test_a_fix_prefetch_computes_the_prompt_the_fix_reuses(jp_fetch) -> None:
    await ready(jp_fetch)
    # When the error appears, the frontend prefetches the fix the Fix button would ask
    timings = await prefetched(jp_fetch, "prefetch/fix", FIX, 100)
    # Then the click's fix finds its whole prompt computed, but for its last tokens
    fixed = await post(jp_fetch, "fix", {**FIX, "max_tokens": 2})
    assert fixed["timings"]["prompt_tokens"] == timings["prompt_tokens"]
    assert fixed["timings"]["cached_tokens"] >= timings["prompt_tokens"] - 3
    # While another error's fix shares only the system prompt and the cells
    other = {**FIX, "error": {**FIX["error"], "evalue": "'qty'"}, "max_tokens": 2}
    assert (await post(jp_fetch, "fix", other))["timings"]["cached_tokens"] < timings[
        "prompt_tokens"
    ] - 3


#: An edit whose notebook context fills the prompt, and the same before its instruction is typed.
NOTEBOOK_EDIT = {**EDIT, "cells_before": CELL["cells_before"] * 3, "path": "edit.ipynb"}
EDIT_PREFETCH = {k: v for k, v in NOTEBOOK_EDIT.items() if k != "instruction"}


async def test_an_edit_prefetch_computes_the_prompt_up_to_the_instruction(
    jp_fetch, jp_serverapp
) -> None:
    await ready(jp_fetch)
    service = codegen_app(jp_serverapp).service
    # When the dialog that asks for the instruction opens, the frontend
    # prefetches the edit it will send, without the instruction
    timings = await prefetched(jp_fetch, "prefetch/edit", EDIT_PREFETCH, 100)
    # Then the edit, with its instruction, finds its prompt computed up to the instruction
    edited = await post(jp_fetch, "edit", {**NOTEBOOK_EDIT, "max_tokens": 2})
    engine = service.host.ready_engine()
    head = engine.prompt_ids(
        service.prepare_edit_prefetch(EditPrefetchRequest.model_validate(EDIT_PREFETCH))
    )
    full, _ = service.prepare_edit(EditRequest.model_validate(NOTEBOOK_EDIT))
    full_ids = engine.prompt_ids(full)
    shared = common_prefix(head, full_ids)
    assert len(head) == timings["prompt_tokens"]
    assert edited["timings"]["prompt_tokens"] == len(full_ids)
    assert shared - 1 <= edited["timings"]["cached_tokens"] <= shared
    # which is all of it but the instruction and the few tokens that end the chat
    computed = engine.tokens.decode(full_ids[shared:])
    assert computed.lstrip(": ").startswith("use sum()")
    assert len(computed) < len(" use sum()\nReply with the new code in one ```python block.") + 40


#: What Explain Code sends for a cell whose notebook context fills the prompt.
EXPLAIN = {
    "code": "def load(path):\n    with open(path) as fh:\n        return json.load(fh)\n",
    "cells_before": CELL["cells_before"] * 3,
}


async def test_an_explain_prefetch_computes_the_prompt_of_the_explanation_and_of_a_question(
    jp_fetch, jp_serverapp
) -> None:
    await ready(jp_fetch)
    service = codegen_app(jp_serverapp).service
    engine = service.host.ready_engine()
    # Once the active cell's completion prefetch is done, the frontend
    # prefetches the explanation Explain Code would ask for it
    timings = await prefetched(jp_fetch, "prefetch/explain", EXPLAIN, 300)
    # Then Explain Code finds its whole prompt computed, but for its last tokens
    explained = await post(jp_fetch, "explain", {**EXPLAIN, "max_tokens": 2})
    assert explained["timings"]["prompt_tokens"] == timings["prompt_tokens"]
    assert explained["timings"]["cached_tokens"] >= timings["prompt_tokens"] - 3
    # And a question about the cell reuses it up to the question: the cells
    # chosen for the context do not depend on a short question
    asked = {**EXPLAIN, "question": "what does it return for an empty file?"}
    head = engine.prompt_ids(service.prepare_explain(ExplainRequest.model_validate(EXPLAIN)))
    full = engine.prompt_ids(service.prepare_explain(ExplainRequest.model_validate(asked)))
    shared = common_prefix(head, full)
    assert engine.tokens.decode(full[shared:]).lstrip().startswith("In particular: what does")
    answered = await post(jp_fetch, "explain", {**asked, "max_tokens": 2})
    assert shared - 1 <= answered["timings"]["cached_tokens"] <= shared
    assert answered["timings"]["prompt_tokens"] - shared < 40


@pytest.mark.parametrize("codegen_overrides", [{"draft_tokens": 0}])
async def test_any_request_cancels_a_running_prefetch(jp_fetch, jp_serverapp) -> None:
    await ready(jp_fetch)
    service = codegen_app(jp_serverapp).service
    # A prefetch slow enough to be caught running: one token a pass
    service.host.engine.decoder.chunk_tokens = 1
    big = {**CELL, "cells_before": [{"cell_type": "code", "source": "x = 1\n" * 400}]}
    prefetch = asyncio.ensure_future(post(jp_fetch, "prefetch", big))
    deadline = time.monotonic() + 30
    while service.host.report()["active"] == 0:
        assert time.monotonic() < deadline and not prefetch.done()
        await asyncio.sleep(0.01)
    completion = await post(jp_fetch, "complete", {**CELL, "max_tokens": 2, "path": "other"})
    done = await asyncio.wait_for(prefetch, 30)
    # The prefetch gave way (and says so); the completion ran in full
    assert done["prefetched"] is False
    assert completion["timings"]["generated_tokens"] == 2
    report = service.host.report()
    assert report["cancelled"] == 1 and report["active"] == 0


@pytest.mark.parametrize("codegen_overrides", [{"draft_tokens": 0}])
@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("prefetch", CELL),
        ("prefetch/fix", FIX),
        ("prefetch/edit", EDIT_PREFETCH),
        ("prefetch/explain", EXPLAIN),
    ],
)
async def test_a_prefetch_waits_for_nobody_and_stops_nobody(
    jp_fetch, jp_serverapp, route: str, body: dict
) -> None:
    await ready(jp_fetch)
    service = codegen_app(jp_serverapp).service
    explain = asyncio.ensure_future(
        post(jp_fetch, "explain", {"code": "x = 1", "max_tokens": 4000, "request_id": "busy"})
    )
    deadline = time.monotonic() + 30
    while service.host.report()["active"] == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    skipped = await post(jp_fetch, route, body)
    assert skipped == {"prefetched": False, "model": skipped["model"], "timings": {}}
    assert service.cancel("busy")
    assert (await asyncio.wait_for(explain, 30))["finish_reason"] == "cancelled"
    # (the explain was cancelled by us, not by the prefetch)
    assert service.host.report()["cancelled"] == 1
