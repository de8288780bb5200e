"""The remote engine against a real OpenAI-compatible server: ``transformers
serve`` on loopback with the tiny model, behind a real Jupyter server.

``transformers serve``'s quirks are not part of the contract: it sends no
``data: [DONE]``, ignores ``n`` and appends ``suffix`` to the output.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import sse_events
from openai_upstream import Proxy, Serve, recording_proxy, transformers_serve
from tornado.httpclient import HTTPClientError

AVERAGE = {
    "prefix": "def average(nums):\n    total = 0\n    for n in nums:\n        ",
    "suffix": "\n    return total / len(nums)\n",
}
# The cursor in a comment: a line the token limit cuts comes back up to its
# last whole word (the tiny model's noise, in another language than Python: no
# parse gate).
IN_COMMENT = {**AVERAGE, "prefix": AVERAGE["prefix"] + "# then ", "language": "r"}
EXPLAIN = {"code": "def f(x):\n    return x * 2\n"}
KEY = "sk-test-7f3a9c"


@pytest.fixture(scope="module")
def upstream(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    with transformers_serve(tiny_model_dir, tmp_path_factory.mktemp("serve")) as serve:
        yield serve


@pytest.fixture
def codegen_overrides(upstream: Serve, tiny_model_dir: Path) -> dict:
    # The tiny model's served name is its directory, which `model` already names.
    return {"remote_url": upstream.url, "tokenizer_file": str(tiny_model_dir)}


async def call(jp_fetch, route: str, body: Any = None) -> Any:
    if body is None:
        resp = await jp_fetch("jupyter-codegen", route)
    else:
        resp = await jp_fetch("jupyter-codegen", route, method="POST", body=json.dumps(body))
    return json.loads(resp.body)


async def stream(jp_fetch, route: str, body: dict) -> list[tuple[str, dict]]:
    resp = await jp_fetch(
        "jupyter-codegen", route, method="POST", body=json.dumps({**body, "stream": True})
    )
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    return sse_events(resp.body)


async def error_of(coro) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await coro
    assert info.value.response is not None
    assert info.value.response.headers["Content-Type"].startswith("application/json")
    return info.value.code, json.loads(info.value.response.body)


async def ready(jp_fetch, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await call(jp_fetch, "status")
        if status["state"] != "loading":
            assert status["state"] == "ready", status
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"never ready: {status}")


async def until_active(jp_fetch, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (await call(jp_fetch, "status"))["requests"]["active"] == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


# -- status ------------------------------------------------------------------


async def test_status_shows_the_remote_server_and_its_health(jp_fetch, upstream: Serve) -> None:
    status = await ready(jp_fetch)
    assert (status["model"], status["device"], status["family"]) == (
        upstream.model,
        "remote",
        "qwen2.5-coder",
    )
    remote = status["engine"]["remote"]
    assert remote["url"] == upstream.url and remote["state"] == "ok"
    assert remote["models"] == [upstream.model] and remote["model_listed"] is True
    assert 0 < remote["latency_ms"] < 5000
    assert status["engine"]["token_count"].startswith("tokenizer ")
    # transformers serve says nothing of its context or vocabulary: the family
    # comes from the tokenizer file, the context from the fallback setting.
    assert status["family_source"] == "vocabulary"
    assert status["engine"]["family_from"].startswith("the tokenizer file ")
    server = status["engine"]["server"]
    assert (server["kind"], server["cache_prompt"], server["problems"]) == ("unknown", False, [])
    assert server["prefill_tokens_per_s"] > 0  # timed once while loading
    budget = status["engine"]["budget"]
    assert budget["context"] == 4096
    assert budget["context_from"].startswith("CodegenApp.remote_context_fallback")


@pytest.fixture
def no_model_named(codegen_config: dict) -> None:
    codegen_config["model"] = "embedded:qwen2.5-coder-1.5b-instruct"  # the default


async def test_the_served_model_is_used_when_none_is_named(
    no_model_named, jp_fetch, upstream: Serve
) -> None:
    status = await ready(jp_fetch)
    assert status["model"] == upstream.model
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 3})
    assert reply["model"] == upstream.model and reply["timings"]["generated_tokens"] == 3


# -- completions and explanations -------------------------------------------


async def test_completion_not_streamed(jp_fetch) -> None:
    await ready(jp_fetch)
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 8})
    assert set(reply) == {"completions", "model", "timings"}
    for comp in reply["completions"]:  # the random model's noise may all be dropped
        assert comp["text"] and comp["finish_reason"] == "length"
    # The tiny model never stops by itself: the server generated all 8 tokens.
    assert reply["timings"]["generated_tokens"] == 8
    assert reply["timings"]["prompt_tokens"] > 10
    assert reply["timings"]["cached_tokens"] == 0  # transformers serve has no prefix cache


async def test_completion_streamed(jp_fetch) -> None:
    await ready(jp_fetch)
    events = await stream(jp_fetch, "complete", {**IN_COMMENT, "max_tokens": 16})
    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("completion") >= 2, names
    texts = [data["text"] for name, data in events if name == "completion"]
    done = events[-1][1]
    [completion] = done["completions"]
    assert texts[-1].startswith(completion["text"]) and completion["text"]
    assert done["timings"]["generated_tokens"] == 16
    assert done["timings"]["first_token_ms"] <= done["timings"]["generate_ms"]


async def test_explanation_streams(jp_fetch) -> None:
    await ready(jp_fetch)
    events = await stream(jp_fetch, "explain", {**EXPLAIN, "max_tokens": 24})
    deltas = [d["delta"] for name, d in events if name == "explanation"]
    assert len(deltas) >= 3 and events[-1][0] == "done"
    done = events[-1][1]
    assert done["explanation"] == "".join(deltas).strip()
    assert done["finish_reason"] == "length" and done["timings"]["generated_tokens"] == 24


async def test_explanation_and_generation_not_streamed(jp_fetch) -> None:
    await ready(jp_fetch)
    reply = await call(jp_fetch, "explain", {**EXPLAIN, "max_tokens": 6})
    assert reply["explanation"] and reply["timings"]["generated_tokens"] == 6
    reply = await call(jp_fetch, "generate", {"instruction": "sum a list", "max_tokens": 6})
    assert reply["text"] and reply["timings"]["generated_tokens"] == 6


# -- cancellation --------------------------------------------------------------


async def assert_upstream_is_free(jp_fetch) -> None:
    """The server runs one generation at a time: a short request that is served
    at once shows that the cancelled one stopped there too (1000 tokens take
    the tiny model over 10 s)."""
    started = time.monotonic()
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 4, "language": "r"})
    assert reply["timings"]["generated_tokens"] == 4
    assert time.monotonic() - started < 4


async def test_cancel_mid_stream_stops_the_upstream(jp_fetch) -> None:
    await ready(jp_fetch)
    body = {**EXPLAIN, "max_tokens": 1000, "request_id": "long"}
    long = asyncio.ensure_future(stream(jp_fetch, "explain", body))
    await until_active(jp_fetch)
    await asyncio.sleep(0.5)  # streaming by now
    started = time.monotonic()
    assert await call(jp_fetch, "cancel", {"request_id": "long"}) == {"cancelled": True}
    events = await asyncio.wait_for(long, 5)
    assert time.monotonic() - started < 2
    done = events[-1][1]
    assert events[-1][0] == "done" and done["finish_reason"] == "cancelled"
    assert 0 < done["timings"]["generated_tokens"] < 1000
    await assert_upstream_is_free(jp_fetch)


async def test_a_client_that_leaves_stops_the_upstream(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url
) -> None:
    await ready(jp_fetch)
    payload = json.dumps({**EXPLAIN, "max_tokens": 1000, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", jp_http_port))
    sock.sendall(
        (
            f"POST {jp_base_url}jupyter-codegen/explain HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: token {jp_serverapp.identity_provider.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        + payload
    )
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    received = b""
    while b"event: explanation" not in received:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 30)
        assert chunk, received
        received += chunk
    sock.close()
    deadline = time.monotonic() + 5
    while (stats := (await call(jp_fetch, "status"))["requests"])["cancelled"] < 1:
        assert time.monotonic() < deadline, stats
        await asyncio.sleep(0.05)
    await assert_upstream_is_free(jp_fetch)


# -- the upstream fails ----------------------------------------------------------


@pytest.fixture
def own_upstream(codegen_config: dict, tiny_model_dir: Path, tmp_path: Path) -> Iterator[Serve]:
    """A server of this test's own, to stop or kill."""
    with transformers_serve(tiny_model_dir, tmp_path) as serve:
        codegen_config["remote_url"] = serve.url
        yield serve


async def test_a_stopped_upstream_gives_a_clear_error_and_status(
    own_upstream: Serve, jp_fetch
) -> None:
    await ready(jp_fetch)
    assert (await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 2}))["timings"]
    own_upstream.stop()
    for route, body in (("complete", {**AVERAGE, "max_tokens": 2}), ("explain", EXPLAIN)):
        started = time.monotonic()
        code, reply = await error_of(call(jp_fetch, route, body))
        assert time.monotonic() - started < 3
        assert code == 503 and reply["upstream"] == own_upstream.url, reply
        assert reply["message"] == (
            f"The inference server at {own_upstream.url} is unreachable: connection refused"
        )
    status = await call(jp_fetch, "status")
    assert status["state"] == "ready"  # the extension is fine; its server is not
    remote = status["engine"]["remote"]
    assert remote["state"] == "unreachable" and own_upstream.url in remote["error"]
    # A streamed request that fails before its first event gets the same JSON error.
    code, streamed = await error_of(stream(jp_fetch, "explain", EXPLAIN))
    assert (code, streamed) == (503, reply)


async def test_an_upstream_killed_mid_stream_ends_the_stream_with_an_error(
    own_upstream: Serve, jp_fetch
) -> None:
    await ready(jp_fetch)
    long = asyncio.ensure_future(stream(jp_fetch, "explain", {**EXPLAIN, "max_tokens": 1000}))
    await until_active(jp_fetch)
    await asyncio.sleep(0.5)
    own_upstream.kill()
    killed = time.monotonic()
    events = await asyncio.wait_for(long, 10)
    took = time.monotonic() - killed
    assert [name for name, _ in events][-1] == "error" and "explanation" in dict(events)
    message = events[-1][1]["message"]
    assert message.startswith(f"The inference server at {own_upstream.url} closed the connection")
    assert took < 2, took
    status = await call(jp_fetch, "status")
    assert status["requests"]["failed"] == 1 and status["requests"]["active"] == 0


# -- the API key, and candidates -----------------------------------------------


@pytest.fixture
def proxy(codegen_config: dict, upstream: Serve, monkeypatch) -> Iterator[Proxy]:
    with recording_proxy(f"127.0.0.1:{upstream.port}", require_key=KEY) as proxy:
        codegen_config["remote_url"] = proxy.url
        monkeypatch.setenv("JUPYTER_CODEGEN_API_KEY", KEY)
        yield proxy


async def test_the_key_is_sent_as_a_bearer_token_and_never_shown(proxy: Proxy, jp_fetch) -> None:
    status = await ready(jp_fetch)
    assert status["engine"]["remote"]["state"] == "ok"
    reply = await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 4})
    assert reply["timings"]["generated_tokens"] == 4
    assert proxy.authorizations and set(proxy.authorizations) == {f"Bearer {KEY}"}
    assert KEY not in json.dumps(await call(jp_fetch, "status"))


@pytest.fixture
def wrong_key(proxy: Proxy, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_CODEGEN_API_KEY", "sk-wrong-51d2")


async def test_a_refused_key_gives_502_without_the_key(wrong_key, proxy: Proxy, jp_fetch) -> None:
    await ready(jp_fetch)
    code, reply = await error_of(call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 4}))
    assert code == 502 and reply["upstream"] == proxy.url
    assert "401 Unauthorized" in reply["message"] and "API key" in reply["message"]
    # The server quoted the key it got; the message shows it masked.
    assert "invalid API key: Bearer ***" in reply["message"]
    status = await call(jp_fetch, "status")
    assert status["engine"]["remote"]["state"] == "error"
    assert "sk-wrong-51d2" not in reply["message"] + json.dumps(status)


async def test_several_candidates_are_several_requests(proxy: Proxy, jp_fetch) -> None:
    await ready(jp_fetch)
    proxy.authorizations.clear()
    reply = await call(jp_fetch, "complete", {**IN_COMMENT, "max_tokens": 5, "n": 3})
    # transformers serve ignores n: each candidate had its own request.
    assert len(proxy.authorizations) == 3
    # (a sampled candidate with no whole word in its five tokens is dropped)
    assert len(reply["completions"]) <= 3
    assert reply["timings"]["generated_tokens"] == 15


async def test_asked_again_the_last_suggestion_is_continued_not_written_again(jp_fetch) -> None:
    await ready(jp_fetch)
    body = {**IN_COMMENT, "max_tokens": 12, "path": "again.ipynb"}
    first = await call(jp_fetch, "complete", body)
    assert first["completions"] and first["timings"]["drafted_tokens"] == 0
    again = await call(jp_fetch, "complete", body)
    # The same suggestion, taken from the last one (the server is asked at
    # most for what follows it, with what is left of max_tokens: unit-tested)
    assert again["completions"] == first["completions"]
    assert again["timings"]["drafted_tokens"] > 0
    assert again["timings"]["generated_tokens"] == first["timings"]["generated_tokens"]


# -- configuration errors --------------------------------------------------------


@pytest.fixture
def bad_remote(codegen_config: dict, request: pytest.FixtureRequest) -> None:
    codegen_config.update(request.param)


@pytest.mark.parametrize(
    ("bad_remote", "reason"),
    [
        ({"remote_url": "vllm:8000/v1"}, "is not an http(s) URL (for example http://vllm:8000/v1)"),
        ({"tokenizer_file": "/no/tokenizer.json"}, "the tokenizer file '/no/tokenizer.json'"),
    ],
    indirect=["bad_remote"],
)
async def test_a_bad_remote_configuration_reports_why(bad_remote, jp_fetch, reason: str) -> None:
    deadline = time.monotonic() + 30
    while (status := await call(jp_fetch, "status"))["state"] == "loading":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert status["state"] == "error" and reason in status["error"]
    code, reply = await error_of(call(jp_fetch, "complete", {"prefix": "x"}))
    assert code == 503 and reason in reply["message"]


# -- the magics ------------------------------------------------------------------


async def test_the_magics_reach_the_remote_server_through_jupyter(jp_fetch, jp_serverapp) -> None:
    from test_kernel_magics import _session, started_kernel

    await ready(jp_fetch)
    async with started_kernel(jp_serverapp) as kernel:
        await _session(jp_fetch, kernel)  # %%codegen, %explain, %codegen_status; no torch
    status = await call(jp_fetch, "status")
    assert status["device"] == "remote" and status["requests"]["failed"] == 0
