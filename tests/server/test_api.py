"""The HTTP API over a real Jupyter server running the extension on the tiny model."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import sse_events
from tornado.httpclient import HTTPClientError

from jupyter_codegen.completion.postprocess import keeps_parsing

ROUTES = {
    "status": ["GET"],
    "complete": ["POST"],
    "explain": ["POST"],
    "generate": ["POST"],
    "fix": ["POST"],
    "edit": ["POST"],
    "prefetch": ["POST"],
    "prefetch/fix": ["POST"],
    "prefetch/edit": ["POST"],
    "prefetch/explain": ["POST"],
    "cancel": ["POST"],
}
AVERAGE = {
    "prefix": "def average(nums):\n    total = 0\n    for n in nums:\n        ",
    "suffix": "\n    return total / len(nums)\n",
    "cells_before": [{"cell_type": "markdown", "source": "# Stats"}],
}
# The cursor in a comment: a line the token limit cuts comes back up to its
# last whole word (the random model's noise, in another language than Python:
# no parse gate).
IN_COMMENT = {**AVERAGE, "prefix": AVERAGE["prefix"] + "# then ", "language": "r"}


async def call(jp_fetch, route: str, body: Any = None, **kwargs) -> Any:
    if body is None:
        resp = await jp_fetch("jupyter-codegen", route, **kwargs)
    else:
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        resp = await jp_fetch("jupyter-codegen", route, method="POST", body=raw, **kwargs)
    return json.loads(resp.body)


async def wait_state(jp_fetch, state: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await call(jp_fetch, "status")
        if status["state"] == state:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"state never became {state}: {status}")


async def error_of(coro) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await coro
    assert info.value.response is not None
    assert info.value.response.headers["Content-Type"].startswith("application/json")
    return info.value.code, json.loads(info.value.response.body)


# -- authentication --------------------------------------------------------


@pytest.mark.parametrize(("route", "method"), [(r, m) for r, ms in ROUTES.items() for m in ms])
async def test_every_verb_needs_a_token(jp_fetch, route: str, method: str) -> None:
    body = json.dumps({"prefix": "x"}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "jupyter-codegen", route, method=method, body=body, headers={"Authorization": ""}
        )
    assert info.value.code == 403


def test_no_handler_is_left_unauthenticated(jp_configurable_serverapp) -> None:
    # jupyter_server warns about every handler verb without an auth decorator.
    from jupyter_server.utils import JupyterServerAuthWarning

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        jp_configurable_serverapp(allow_unauthenticated_access=False)
    flagged = [
        line
        for r in records
        if issubclass(r.category, JupyterServerAuthWarning)
        for line in str(r.message).splitlines()
    ]
    # Other extensions' handlers may be flagged; none of ours may be.
    assert [line for line in flagged if "jupyter-codegen" in line] == []


# -- status, validation, limits --------------------------------------------


async def test_status_reaches_ready_with_model_details(jp_fetch, tiny_model_dir: Path) -> None:
    status = await wait_state(jp_fetch, "ready")
    assert status["model"] == str(tiny_model_dir)
    # quantize=auto: int8 weights on the CPU
    assert (status["device"], status["dtype"], status["family"]) == ("cpu", "int8", "qwen2.5-coder")
    assert "int8" in status["engine"]["quantization"]
    assert status["engine"]["prompt_cache"]["budget_bytes"] == 512 * 2**20
    assert status["error"] is None and status["load_seconds"] > 0
    assert status["memory"]["rss_bytes"] > 0
    assert status["limits"]["completion_max_tokens"] == 4096


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Malformed JSON"),
        (b"", "must be a JSON object"),
        ({"suffix": "x"}, "prefix: Field required"),
        ({"prefix": 3}, "prefix: Input should be a valid string"),
        (
            {"prefix": "x", "cells_before": [{"cell_type": "code", "source": 1}]},
            "cells_before.0.source",
        ),
    ],
)
async def test_bad_completion_requests_get_400_naming_the_problem(
    jp_fetch, body: Any, fragment: str
) -> None:
    await wait_state(jp_fetch, "ready")
    code, reply = await error_of(call(jp_fetch, "complete", body))
    assert code == 400
    assert fragment in reply["message"]


async def test_a_rejected_request_leaves_no_ticket_behind(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    # Too many tokens for the context budget: rejected after its ticket was made
    body = {"code": "x1 = 1\n" * 1500, "request_id": "rejected"}
    code, _ = await error_of(call(jp_fetch, "explain", body))
    assert code == 413
    assert (await call(jp_fetch, "cancel", {"request_id": "rejected"})) == {"cancelled": False}


async def test_bad_explain_request_gets_400(jp_fetch) -> None:
    code, reply = await error_of(call(jp_fetch, "explain", {"code": ""}))
    assert code == 400 and "code" in reply["message"]


async def test_oversized_body_gets_413(jp_fetch) -> None:
    code, reply = await error_of(call(jp_fetch, "complete", {"prefix": "x" * 70_000}))
    assert code == 413 and "at most 65,536" in reply["message"]


# -- loading and failure ---------------------------------------------------


@pytest.fixture
def held_conversion_lock(codegen_config: dict, tiny_model_dir: Path):
    """Another process is converting the embedded model: hold its lock, then
    put a finished conversion in place and let go."""
    import fcntl
    import shutil

    from safetensors.torch import save_file

    from jupyter_codegen.engine.local.embedded import EMBEDDED_MODELS, MARKER, converted_dir
    from jupyter_codegen.engine.local.int4 import BLOCKS_FILE

    model = EMBEDDED_MODELS["qwen2.5-coder-0.5b-instruct"]
    cache = Path(codegen_config["cache_dir"])
    codegen_config["model"] = "embedded:qwen2.5-coder-0.5b-instruct"
    (cache / "locks").mkdir(parents=True)
    fh = open(cache / "locks" / f"{model.name}.lock", "w")
    fcntl.flock(fh, fcntl.LOCK_EX)

    def finish() -> None:
        target = converted_dir(model, cache)
        shutil.copytree(tiny_model_dir, target)
        (target / MARKER).write_text(json.dumps({"sha256": model.sha256}))
        save_file({}, str(target / BLOCKS_FILE))  # (a conversion keeps them; this one has none)
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()

    yield finish
    if not fh.closed:
        fh.close()


async def test_requests_while_loading_get_503_then_succeed(held_conversion_lock, jp_fetch) -> None:
    # Given the model is still loading (waiting on another process's conversion)
    status = await call(jp_fetch, "status")
    assert status["state"] == "loading"
    await asyncio.sleep(0.3)
    status = await call(jp_fetch, "status")
    assert "waiting for another process" in (status["detail"] or ""), status
    # When a completion and an explanation arrive, they get 503 at once
    for route, body in (("complete", {"prefix": "x = "}), ("explain", {"code": "x = 1"})):
        started = time.monotonic()
        code, reply = await error_of(call(jp_fetch, route, body))
        assert code == 503 and reply["state"] == "loading"
        assert "still loading" in reply["message"]
        assert time.monotonic() - started < 2
    # Then, once the conversion is done, the same model becomes ready and answers
    held_conversion_lock()
    status = await wait_state(jp_fetch, "ready")
    assert status["model"] == "embedded:qwen2.5-coder-0.5b-instruct"
    reply = await call(jp_fetch, "complete", {"prefix": "x = ", "max_tokens": 3})
    assert reply["model"] == "embedded:qwen2.5-coder-0.5b-instruct"


@pytest.mark.parametrize(
    ("codegen_overrides", "reason"),
    [
        ({"model": "/no/such/model"}, "does not exist"),
        ({"model": "embedded:nope"}, "unknown embedded model"),
        (
            {"model": "/no/such/model", "env": {"JUPYTER_CODEGEN_MODEL": "/tmp/none.gguf"}},
            "GGUF file",
        ),
    ],
)
async def test_a_model_that_fails_to_load_reports_why(jp_fetch, reason: str) -> None:
    status = await wait_state(jp_fetch, "error")
    assert reason in status["error"]
    code, reply = await error_of(call(jp_fetch, "complete", {"prefix": "x"}))
    assert code == 503 and reason in reply["message"] and reply["state"] == "error"


@pytest.fixture
def broken_model_dir(codegen_config: dict, tmp_path: Path) -> Path:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "qwen2"}')
    codegen_config["model"] = str(broken)
    return broken


async def test_a_directory_that_is_not_loadable_reports_why(
    broken_model_dir: Path, jp_fetch
) -> None:
    status = await wait_state(jp_fetch, "error")
    assert status["model"] == str(broken_model_dir)
    assert status["error"] and status["state"] == "error"


@pytest.fixture
def model_from_env(codegen_config: dict, monkeypatch: pytest.MonkeyPatch) -> str:
    """The configured model is broken; the environment names the tiny one."""
    good = codegen_config["model"]
    codegen_config["model"] = "/no/such/model"
    monkeypatch.setenv("JUPYTER_CODEGEN_MODEL", good)
    return good


async def test_environment_variable_overrides_the_model(model_from_env: str, jp_fetch) -> None:
    status = await wait_state(jp_fetch, "ready")
    assert status["model"] == model_from_env


# -- completions and explanations -------------------------------------------


async def test_completion_reply_shape_and_timings(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    reply = await call(jp_fetch, "complete", {**IN_COMMENT, "max_tokens": 8})
    assert set(reply) == {"completions", "model", "timings"}
    [comp] = reply["completions"]
    assert comp["index"] == 0 and comp["text"] and comp["finish_reason"] == "length"
    timings = reply["timings"]
    assert timings["generated_tokens"] == 8 and timings["prompt_tokens"] > 10
    assert timings["total_ms"] >= timings["generate_ms"] > 0


async def test_several_candidates_are_distinct(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    body = {**IN_COMMENT, "max_tokens": 6, "n": 3}
    reply = await call(jp_fetch, "complete", body)
    texts = [c["text"] for c in reply["completions"]]
    assert 1 <= len(texts) <= 3 and len(set(texts)) == len(texts)
    assert [c["index"] for c in reply["completions"]] == list(range(len(texts)))
    assert sorted({c["candidate"] for c in reply["completions"]}) == sorted(
        c["candidate"] for c in reply["completions"]
    )


async def test_explain_reply(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    reply = await call(
        jp_fetch, "explain", {"code": "def f(x):\n    return x * 2\n", "max_tokens": 12}
    )
    assert reply["explanation"] and reply["finish_reason"] == "length"
    assert reply["timings"]["generated_tokens"] == 12


async def test_explain_follow_up_carries_history_within_the_budget(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    body = {"code": "x = 1\n", "question": "why 1?", "max_tokens": 1}
    alone = await call(jp_fetch, "explain", body)
    turns = [
        {"role": "user", "content": "what does it do?"},
        {"role": "assistant", "content": "It binds the name x to the integer one."},
    ]
    # A follow-up's prompt holds the earlier turns
    follow_up = await call(jp_fetch, "explain", {**body, "history": turns})
    grown = follow_up["timings"]["prompt_tokens"] - alone["timings"]["prompt_tokens"]
    assert grown >= 10
    # A long conversation keeps only its newest turns: half of the 512-token budget
    long = [
        {"role": r, "content": f"turn {i} " + "word " * 60}
        for i, r in enumerate(["user", "assistant"] * 10)
    ]
    trimmed = await call(jp_fetch, "explain", {**body, "history": long})
    # (20 turns would add over 1200 tokens; the kept ones add their chat markers too)
    assert alone["timings"]["prompt_tokens"] + 256 + 40 >= trimmed["timings"]["prompt_tokens"]
    assert trimmed["timings"]["prompt_tokens"] > alone["timings"]["prompt_tokens"] + 100


async def test_generate_reply(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    reply = await call(
        jp_fetch,
        "generate",
        {
            "instruction": "sum the amount column",
            "namespace": "df: DataFrame (3, 2) columns amount:int64, region:object",
            "cells_before": [{"cell_type": "code", "source": "import pandas as pd"}],
            "max_tokens": 10,
        },
    )
    assert set(reply) == {"code", "text", "model", "finish_reason", "timings"}
    assert reply["text"] and reply["timings"]["generated_tokens"] == 10


async def test_bad_generate_request_gets_400(jp_fetch) -> None:
    code, reply = await error_of(call(jp_fetch, "generate", {"instruction": ""}))
    assert code == 400 and "instruction" in reply["message"]


async def test_two_concurrent_requests_both_get_answers(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    a, b = await asyncio.gather(
        call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 20}),
        call(jp_fetch, "explain", {"code": "print(1)", "max_tokens": 20}),
    )
    assert a["timings"]["generated_tokens"] == 20
    assert b["timings"]["generated_tokens"] == 20
    # One slot: the second waited for the first.
    assert max(a["timings"]["queue_ms"], b["timings"]["queue_ms"]) > 0


# -- streaming and cancellation ---------------------------------------------


async def test_streamed_completion(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    resp = await jp_fetch(
        "jupyter-codegen",
        "complete",
        method="POST",
        body=json.dumps({**IN_COMMENT, "max_tokens": 16, "stream": True}),
    )
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    events = sse_events(resp.body)
    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("completion") >= 2
    texts = [data["text"] for name, data in events if name == "completion"]
    done = events[-1][1]
    # The final text is the streamed one, less what the last clean-up cuts (the
    # unfinished last word)
    [completion] = done["completions"]
    assert completion["text"] and texts[-1].startswith(completion["text"])
    assert done["timings"]["first_token_ms"] <= done["timings"]["generate_ms"]


async def test_streamed_explanation(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    resp = await jp_fetch(
        "jupyter-codegen",
        "explain",
        method="POST",
        body=json.dumps(
            {"code": "x = [i * i for i in range(10)]", "max_tokens": 16, "stream": True}
        ),
    )
    events = sse_events(resp.body)
    deltas = "".join(d["delta"] for name, d in events if name == "explanation")
    assert events[-1][0] == "done"
    assert events[-1][1]["explanation"] == deltas.strip()


async def _open_stream(port: int, base_url: str, token: str, body: dict) -> socket.socket:
    """Start a streamed request on a raw socket and return once the first event arrived."""
    payload = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        (
            f"POST {base_url}jupyter-codegen/complete HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode()
        + payload
    )
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    received = b""
    while b"event: completion" not in received:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 30)
        assert chunk, received
        received += chunk
    assert b" 200 " in received.split(b"\r\n", 1)[0]
    return sock


async def test_disconnect_cancels_the_generation(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url
) -> None:
    await wait_state(jp_fetch, "ready")
    token = jp_serverapp.identity_provider.token
    # Given a long streamed generation that has started
    sock = await _open_stream(
        jp_http_port,
        jp_base_url,
        token,
        {**AVERAGE, "max_tokens": 4000, "stream": True, "request_id": "gone"},
    )
    # When the client disconnects
    sock.close()
    # Then the model is free again almost at once, and the generation stopped early
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stats = (await call(jp_fetch, "status"))["requests"]
        if stats["active"] == 0 and stats["cancelled"] == 1:
            break
        await asyncio.sleep(0.05)
    assert stats["active"] == 0 and stats["cancelled"] == 1, stats
    [record] = [r for r in stats["recent"] if r["request_id"] == "gone"]
    assert record["outcome"] == "cancelled" and record["generated_tokens"] < 4000
    # And the next request is served straight away
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 4})
    assert reply["timings"]["queue_ms"] < 500


async def test_typing_reuses_the_prompt_and_status_reports_it(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    cells = [
        {
            "cell_type": "code",
            "source": "import json\n\ndef load(path):\n    return json.load(path)\n",
        }
    ]
    body = {"cells_before": cells, "max_tokens": 4, "path": "analysis.ipynb"}
    # Given a first request for the cell, and then the same cell one keystroke on
    first = await call(jp_fetch, "complete", {**body, "prefix": "data = lo"})
    second = await call(jp_fetch, "complete", {**body, "prefix": "data = loa"})
    # Then the second computed only the tail of its prompt
    assert first["timings"]["cached_tokens"] == 0 and first["timings"]["reuse"] == 0
    assert second["timings"]["cached_tokens"] >= 0.5 * second["timings"]["prompt_tokens"]
    assert second["timings"]["reuse"] >= 0.5
    # And the status says how much was reused, overall and per request
    status = await call(jp_fetch, "status")
    requests = status["requests"]
    assert requests["cached_tokens"] == second["timings"]["cached_tokens"]
    assert 0 < requests["reuse"] < second["timings"]["reuse"]
    assert requests["recent"][-1]["reuse"] == second["timings"]["reuse"]
    assert status["engine"]["prompt_cache"]["slots"] == 1


async def test_asked_again_the_last_suggestion_is_verified_as_a_draft(jp_fetch) -> None:
    await wait_state(jp_fetch, "ready")
    body = {**AVERAGE, "max_tokens": 12, "path": "again.ipynb"}
    first = await call(jp_fetch, "complete", body)
    again = await call(jp_fetch, "complete", body)
    # The same answer, partly taken from the pass that ran the prompt with the last one
    assert again["completions"] == first["completions"]
    assert again["timings"]["generated_tokens"] == first["timings"]["generated_tokens"]
    assert again["timings"]["drafted_tokens"] > first["timings"]["drafted_tokens"]


# Without drafting: the random model repeats itself, and drafting would make
# its 4000 tokens too quick to cancel.
@pytest.mark.parametrize("codegen_overrides", [{"draft_tokens": 0}])
async def test_cancel_endpoint_and_superseding_request_ids(jp_fetch) -> None:
    # The long generations are explanations: a completion of the random model
    # may end early by its scope.
    await wait_state(jp_fetch, "ready")
    explain = {"code": "x = 1\n", "max_tokens": 4000}
    long = asyncio.ensure_future(call(jp_fetch, "explain", {**explain, "request_id": "cell-1"}))
    await asyncio.sleep(0.5)
    assert (await call(jp_fetch, "cancel", {"request_id": "cell-1"})) == {"cancelled": True}
    reply = await asyncio.wait_for(long, 5)
    assert reply["finish_reason"] == "cancelled"
    assert reply["timings"]["generated_tokens"] < 4000
    assert (await call(jp_fetch, "cancel", {"request_id": "cell-1"})) == {"cancelled": False}
    # A new request with the same id supersedes the one in flight.
    first = asyncio.ensure_future(call(jp_fetch, "explain", {**explain, "request_id": "cell-2"}))
    await asyncio.sleep(0.5)
    second = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 5, "request_id": "cell-2"})
    assert second["timings"]["generated_tokens"] <= 5
    superseded = await asyncio.wait_for(first, 5)
    assert superseded["finish_reason"] == "cancelled"
    assert superseded["timings"]["generated_tokens"] < 4000


async def test_the_python_parse_gate_spares_other_languages(jp_fetch) -> None:
    # Given the random model's noise, which Python's parser rejects
    await wait_state(jp_fetch, "ready")
    body = {"prefix": "means <- sapply(df, ", "max_tokens": 12}
    python = await call(jp_fetch, "complete", {**body, "language": "python"})
    r = await call(jp_fetch, "complete", {**body, "language": "r"})
    # Then an R cell still gets its suggestion, and a Python cell the same one (the
    # same prompt, greedy) only if it keeps the cell parsing
    [suggestion] = r["completions"]
    kept = keeps_parsing(body["prefix"], suggestion["text"], "")
    assert python["completions"] == ([suggestion] if kept else [])
    assert not kept  # the random model's noise breaks this cell: the gate did drop it
