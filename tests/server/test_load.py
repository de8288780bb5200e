"""The server under load and faults: atomic admission, real cancellation on
every path, a failing engine, the metrics series and auth on every route.

The real tiny model runs everywhere; :class:`Watched` wraps it (as the host
wraps any engine) to see how many decode steps ran after a cancel, and to
raise on demand."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
from typing import Any

import pytest
from conftest import sse_events
from prometheus_client.parser import text_string_to_metric_families
from tornado.httpclient import HTTPClientError, HTTPResponse
from tornado.simple_httpclient import SimpleAsyncHTTPClient

AVERAGE = {
    "prefix": "def average(nums):\n    total = 0\n    for n in nums:\n        ",
    "suffix": "\n    return total / len(nums)\n",
}
LONG = 4000  # tokens: a generation that runs until something stops it


class Watched:
    """Wraps the real engine: records each generation, counts the text
    deliveries made after its cancel flag was set, and fails on demand."""

    def __init__(self, engine: Any):
        self.engine = engine
        self.calls: list[dict[str, Any]] = []
        self.fail_with_tokens: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def generate(self, request: Any, cancel: threading.Event, on_delta: Any = None) -> Any:
        call: dict[str, Any] = {"max": request.max_new_tokens, "after_cancel": 0, "done": False}
        self.calls.append(call)
        if request.max_new_tokens == self.fail_with_tokens:
            raise RuntimeError("simulated engine fault")

        def deliver(index: int, text: str) -> None:
            if cancel.is_set():
                call["after_cancel"] += 1
            if on_delta is not None:
                on_delta(index, text)

        try:
            return self.engine.generate(request, cancel, deliver)
        finally:
            call["cancelled"] = cancel.is_set()
            call["done"] = True


def codegen_app(serverapp: Any) -> Any:
    [app] = serverapp.extension_manager.extension_apps["jupyter_codegen"]
    return app


async def call(jp_fetch, route: str, body: Any = None) -> Any:
    if body is None:
        resp = await jp_fetch("jupyter-codegen", route)
    else:
        resp = await jp_fetch("jupyter-codegen", route, method="POST", body=json.dumps(body))
    return json.loads(resp.body)


async def watched(jp_fetch, jp_serverapp) -> Watched:
    """Wait for the model, then wrap its engine."""
    deadline = time.monotonic() + 60
    while (await call(jp_fetch, "status"))["state"] != "ready":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    host = codegen_app(jp_serverapp).host
    host.engine = Watched(host.engine)
    return host.engine


def start_hog(jp_fetch, request_id: str = "hog") -> asyncio.Future:
    """A generation that holds the slot until cancelled (a chat ends only on a
    stop token, which the random model almost never draws)."""
    body = {"code": "x = 1", "max_tokens": LONG, "request_id": request_id}
    return asyncio.ensure_future(call(jp_fetch, "explain", body))


async def until(jp_fetch, check, timeout: float = 30) -> dict:
    """Poll /status until ``check(requests)`` holds; return the requests stats."""
    deadline = time.monotonic() + timeout
    while True:
        stats = (await call(jp_fetch, "status"))["requests"]
        if check(stats):
            return stats
        assert time.monotonic() < deadline, stats
        await asyncio.sleep(0.05)


class Raw:
    """Many concurrent requests at once (the shared client allows only 10)."""

    def __init__(self, port: int, base_url: str, token: str):
        self.url = f"http://127.0.0.1:{port}{base_url}jupyter-codegen/"
        self.token = token
        self.client = SimpleAsyncHTTPClient(force_instance=True, max_clients=64)

    async def post(self, route: str, body: Any, token: bool = True) -> HTTPResponse:
        headers = {"Authorization": f"token {self.token}"} if token else {}
        return await self.client.fetch(
            self.url + route,
            method="POST",
            body=json.dumps(body),
            headers=headers,
            raise_error=False,
            request_timeout=120,
        )


@pytest.fixture
def raw(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    client = Raw(jp_http_port, jp_base_url, jp_serverapp.identity_provider.token)
    yield client
    client.client.close()


# -- admission -----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_a_burst_of_30_queues_at_most_max_queued_and_the_rest_get_429(
    jp_fetch, jp_serverapp, raw, stream: bool
) -> None:
    await watched(jp_fetch, jp_serverapp)
    # Given the only slot is busy with a long generation
    hog = start_hog(jp_fetch)
    await until(jp_fetch, lambda s: s["active"] == 1)
    # When 30 requests arrive together
    burst = [
        asyncio.ensure_future(raw.post("complete", {**AVERAGE, "max_tokens": 3, "stream": stream}))
        for _ in range(30)
    ]
    stats = await until(jp_fetch, lambda s: s["queued"] + s["rejected_busy"] == 30)
    # Then 8 (max_queued) wait and 22 were turned away at once, with Retry-After
    assert (stats["queued"], stats["rejected_busy"]) == (8, 22)
    rejected = [f.result() for f in burst if f.done()]
    assert len(rejected) == 22
    for resp in rejected:
        assert resp.code == 429 and resp.headers["Retry-After"] == "1"
        assert resp.headers["Content-Type"].startswith("application/json")
        assert "busy" in json.loads(resp.body)["message"]
    # And once the slot is free, all 8 that waited are served
    assert codegen_app(jp_serverapp).service.cancel("hog")
    served = [r for r in await asyncio.gather(*burst) if r.code == 200]
    await hog
    assert len(served) == 8
    if stream:
        assert all(sse_events(r.body)[-1][0] == "done" for r in served)
    print(f"\nburst of 30 (stream={stream}): {len(served)} queued and served, 22 got 429")


@pytest.mark.parametrize("codegen_overrides", [{"load_on_start": False}])
@pytest.mark.parametrize("route", ["complete", "explain", "generate"])
async def test_streamed_requests_that_cannot_start_get_a_plain_http_error(raw, route: str) -> None:
    body = {"complete": AVERAGE, "explain": {"code": "x = 1"}, "generate": {"instruction": "x"}}
    # Not ready: the first request starts loading and gets 503 with Retry-After
    resp = await raw.post(route, {**body[route], "stream": True})
    assert resp.code == 503 and resp.headers["Retry-After"] == "5"
    assert resp.headers["Content-Type"].startswith("application/json")
    assert json.loads(resp.body)["state"] == "loading"
    # Invalid: 400 JSON, not a 200 with an error event
    resp = await raw.post(route, {**body[route], "stream": True, "language": 3})
    assert resp.code == 400 and "language" in json.loads(resp.body)["message"]
    # Too large: 413 JSON
    resp = await raw.post(route, {**body[route], "stream": True, "pad": "x" * 70_000})
    assert resp.code == 413 and "at most" in json.loads(resp.body)["message"]


# -- cancellation --------------------------------------------------------------


async def test_a_client_that_goes_away_stops_its_generation(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url
) -> None:
    engine = await watched(jp_fetch, jp_serverapp)
    token = jp_serverapp.identity_provider.token
    payload = json.dumps({"code": "x = 1", "max_tokens": LONG, "request_id": "gone"}).encode()
    sock = socket.create_connection(("127.0.0.1", jp_http_port))
    sock.sendall(
        (
            f"POST {jp_base_url}jupyter-codegen/explain HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{jp_http_port}\r\n"
            f"Authorization: token {token}\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        + payload
    )
    await until(jp_fetch, lambda s: s["active"] == 1)
    sock.close()  # a plain (not streamed) request whose client left
    stats = await until(jp_fetch, lambda s: s["active"] == 0)
    [record] = [r for r in stats["recent"] if r["request_id"] == "gone"]
    assert record["outcome"] == "cancelled" and record["generated_tokens"] < LONG
    [gen] = engine.calls
    assert gen["done"] and gen["cancelled"] and gen["after_cancel"] <= 1


async def test_cancel_and_a_superseding_request_stop_within_one_step(
    jp_fetch, jp_serverapp
) -> None:
    engine = await watched(jp_fetch, jp_serverapp)
    # POST /cancel
    first = start_hog(jp_fetch, "a")
    await until(jp_fetch, lambda s: s["active"] == 1)
    assert await call(jp_fetch, "cancel", {"request_id": "a"}) == {"cancelled": True}
    assert (await first)["finish_reason"] == "cancelled"
    # A new request with the same id
    second = start_hog(jp_fetch, "b")
    await until(jp_fetch, lambda s: s["active"] == 1)
    third = await call(jp_fetch, "explain", {"code": "y", "max_tokens": 2, "request_id": "b"})
    assert third["timings"]["generated_tokens"] == 2
    assert (await second)["finish_reason"] == "cancelled"
    assert [c["cancelled"] for c in engine.calls] == [True, True, False]
    assert all(c["done"] and c["after_cancel"] <= 1 for c in engine.calls)


@pytest.mark.parametrize("codegen_overrides", [{"queue_timeout": 0.5}])
async def test_a_request_that_waits_too_long_gets_429_and_never_runs(
    jp_fetch, jp_serverapp, raw
) -> None:
    engine = await watched(jp_fetch, jp_serverapp)
    hog = start_hog(jp_fetch)
    await until(jp_fetch, lambda s: s["active"] == 1)
    for stream in (False, True):
        resp = await raw.post("complete", {**AVERAGE, "max_tokens": 2, "stream": stream})
        assert resp.code == 429 and resp.headers["Retry-After"] == "1"
        assert "waited 0.5 s" in json.loads(resp.body)["message"]
    assert await call(jp_fetch, "cancel", {"request_id": "hog"}) == {"cancelled": True}
    await hog
    stats = await until(jp_fetch, lambda s: s["active"] == 0)
    assert stats["queue_timeouts"] == 2 and stats["queued"] == 0
    assert len(engine.calls) == 1  # only the hog ever reached the engine


async def test_the_slot_is_held_until_the_cancelled_thread_returns(jp_fetch, jp_serverapp) -> None:
    # Given an engine that, once cancelled, does not return until let go
    engine = await watched(jp_fetch, jp_serverapp)
    gate = threading.Event()
    real = engine.generate

    def slow_to_stop(request: Any, cancel: threading.Event, on_delta: Any = None) -> Any:
        result = real(request, cancel, on_delta)
        if cancel.is_set():
            gate.wait(30)
        return result

    engine.generate = slow_to_stop  # type: ignore[method-assign]
    host = codegen_app(jp_serverapp).host
    service = codegen_app(jp_serverapp).service
    from jupyter_codegen.engine.base import GenerationRequest, Segment

    ticket = service.ticket("held", "complete")
    task = asyncio.ensure_future(
        host.run(GenerationRequest(LONG, segments=[Segment("x = ")]), ticket)
    )
    await until(jp_fetch, lambda s: s["active"] == 1)
    # When the task awaiting it is cancelled (a client gone, Ctrl-C)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Then the generation was told to stop, but its slot stays held meanwhile
    await until(jp_fetch, lambda s: s["cancelled"] == 1)
    assert host.report()["active"] == 1
    waiting = asyncio.ensure_future(
        call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 2, "request_id": "next"})
    )
    stats = await until(jp_fetch, lambda s: s["queued"] == 1)
    assert stats["active"] == 1
    # And once the thread returns, the next request runs
    gate.set()
    assert (await waiting)["timings"]["generated_tokens"] == 2
    assert engine.calls[0]["cancelled"] and engine.calls[0]["after_cancel"] <= 1


# -- faults --------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_an_engine_that_fails_fails_that_request_alone(
    jp_fetch, jp_serverapp, raw, stream: bool
) -> None:
    engine = await watched(jp_fetch, jp_serverapp)
    engine.fail_with_tokens = 13
    resp = await raw.post("complete", {**AVERAGE, "max_tokens": 13, "stream": stream})
    assert resp.code == 500
    assert "simulated engine fault" in json.loads(resp.body)["message"]
    resp = await raw.post("explain", {"code": "x = 1", "max_tokens": 3, "stream": stream})
    assert resp.code == 200
    stats = (await call(jp_fetch, "status"))["requests"]
    assert (stats["failed"], stats["completed"], stats["active"]) == (1, 1, 0)


# -- metrics -------------------------------------------------------------------


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("jupyter_codegen_")
    }


async def test_metrics_series_after_a_short_session(jp_fetch, jp_serverapp, raw) -> None:
    await watched(jp_fetch, jp_serverapp)
    before = scrape((await jp_fetch("metrics")).body.decode())
    await call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 5})
    await raw.post("complete", {**AVERAGE, "max_tokens": 4, "stream": True})
    await call(jp_fetch, "explain", {"code": "x = 1", "max_tokens": 3})
    assert (await raw.post("complete", {"prefix": 3})).code == 400
    text = (await jp_fetch("metrics")).body.decode()
    after = scrape(text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    ok = {"endpoint": "complete", "outcome": "ok"}
    assert delta("jupyter_codegen_requests_total", **ok) == 2
    assert delta("jupyter_codegen_requests_total", endpoint="explain", outcome="ok") == 1
    assert delta("jupyter_codegen_requests_total", endpoint="complete", outcome="invalid") == 1
    assert delta("jupyter_codegen_generated_tokens_total", endpoint="complete") == 9
    assert delta("jupyter_codegen_generated_tokens_total", endpoint="explain") == 3
    assert delta("jupyter_codegen_prompt_tokens_total", endpoint="complete") > 20
    for hist in ("queue_wait", "first_token", "request"):
        name = f"jupyter_codegen_{hist}_seconds_count"
        assert delta(name, endpoint="complete") == 2, hist
    assert after[("jupyter_codegen_model_state", (("state", "ready"),))] == 1
    assert after[("jupyter_codegen_model_state", (("state", "loading"),))] == 0
    assert after[("jupyter_codegen_queue_depth", ())] == 0
    assert after[("jupyter_codegen_generations_active", ())] == 0
    assert "# TYPE jupyter_codegen_prompt_cached_tokens_total counter" in text
    # Authenticated like the rest of the server
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("metrics", headers={"Authorization": ""})
    assert info.value.code == 403


# -- auth on every route ---------------------------------------------------------

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


async def test_every_registered_route_and_verb_needs_a_token(jp_serverapp, raw) -> None:
    from tornado.web import RequestHandler

    handlers = codegen_app(jp_serverapp).handlers
    assert len(handlers) >= 5
    checked = 0
    for pattern, cls, *_ in handlers:
        url = f"{raw.url.rsplit('jupyter-codegen/', 1)[0]}{pattern.lstrip('/')}"
        for verb in VERBS:
            body = json.dumps({"prefix": "x"}) if verb in ("POST", "PUT", "PATCH") else None
            resp = await raw.client.fetch(
                url, method=verb, body=body, raise_error=False, allow_nonstandard_methods=True
            )
            implemented = getattr(cls, verb.lower()) is not getattr(RequestHandler, verb.lower())
            # A verb the route serves refuses without a token; any other serves nothing.
            assert resp.code in ((403,) if implemented else (403, 405)), (pattern, verb, resp.code)
            checked += implemented
    assert checked >= 5  # every route's own verbs were among them


async def test_the_server_freezes_its_heap_once_the_model_has_loaded(
    jp_fetch, jp_serverapp
) -> None:
    await watched(jp_fetch, jp_serverapp)
    # What loading left lives as long as the server: out of the collector's way.
    assert codegen_app(jp_serverapp).host.freeze_heap and gc.get_freeze_count() > 1000
