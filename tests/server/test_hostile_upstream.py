"""A hostile upstream behind a real Jupyter server (issue 21): the API key it
quotes reaches no reply, status field or log line; an upstream that ignores
``max_tokens`` is closed at the limit and frees the generation slot; a model
list sent a byte at a time does not keep the health probe (nor the loading)
running past its deadline."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from scripted_upstream import (
    KEY,
    QUOTED,
    Handler,
    Scripted,
    chunk,
    drip,
    event,
    json_reply,
    models,
    reveals,
    scripted_upstream,
    start_chunked,
)
from test_remote import AVERAGE, IN_COMMENT, call, error_of, ready

from jupyter_codegen.engine.remote import health as health_module

MODEL = "qwen2.5-coder-hostile"


@pytest.fixture
def hostile(codegen_config: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scripted]:
    with scripted_upstream() as server:
        server.routes["/v1/models"] = lambda h: models(h, MODEL)
        codegen_config.update(remote_url=server.url, model=MODEL)
        monkeypatch.setenv("JUPYTER_CODEGEN_API_KEY", KEY)
        yield server


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_log(jp_serverapp) -> Iterator[Lines]:
    """Every line the server logs (its own logger does not propagate)."""
    lines = Lines()
    loggers = [logging.getLogger(), jp_serverapp.log, logging.getLogger("tornado")]
    for logger in loggers:
        logger.addHandler(lines)
    yield lines
    for logger in loggers:
        logger.removeHandler(lines)


async def test_a_key_quoted_in_a_200_error_reaches_no_reply_status_or_log(
    hostile: Scripted, jp_fetch, server_log: Lines
) -> None:
    quoted = f"{QUOTED['bearer']}; {QUOTED['base64 of the header']}"
    hostile.script = lambda h: json_reply(h, {"error": {"message": quoted}})
    await ready(jp_fetch)
    code, reply = await error_of(call(jp_fetch, "complete", {**AVERAGE, "max_tokens": 4}))
    assert code == 502 and "reported an error" in reply["message"]
    assert "Bearer ***" in reply["message"]
    status = await call(jp_fetch, "status")
    assert "Bearer ***" in status["engine"]["remote"]["error"]
    assert hostile.headers[-1]["Authorization"] == f"Bearer {KEY}"  # it was sent
    logged = "\n".join(server_log.lines)
    assert "reported an error" in logged
    assert not reveals(json.dumps(reply)) and not reveals(json.dumps(status))
    assert not reveals(logged)


@pytest.fixture
def endless(hostile: Scripted, codegen_config: dict) -> Iterator[threading.Event]:
    codegen_config["generation_timeout"] = 20.0
    until = threading.Event()

    def script(h: Handler) -> None:
        start_chunked(h)
        while not until.is_set():
            chunk(h, event("x ") + "\n\n")

    hostile.script = script
    yield until
    until.set()


async def test_an_upstream_that_ignores_max_tokens_is_closed_at_the_limit(
    endless: threading.Event, hostile: Scripted, jp_fetch
) -> None:
    await ready(jp_fetch)
    started = time.monotonic()
    reply = await call(jp_fetch, "complete", {**IN_COMMENT, "max_tokens": 16})
    assert time.monotonic() - started < 5
    assert reply["timings"]["generated_tokens"] == 16
    assert [c["text"] for c in reply["completions"]] == [" ".join(["x"] * 16)]
    assert hostile.disconnected.wait(5)
    assert (await call(jp_fetch, "status"))["requests"]["active"] == 0


@pytest.fixture
def dripping_models(hostile: Scripted, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(health_module, "PROBE_TIMEOUT_S", 0.6)
    until = threading.Event()
    body = json.dumps({"object": "list", "data": [{"id": MODEL}]}).encode()

    def slow(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        drip(h, body, 0.2, until)  # a byte well within the read timeout, forever

    hostile.routes["/v1/models"] = slow
    yield
    until.set()


async def test_a_model_list_sent_a_byte_at_a_time_is_not_a_healthy_server(
    dripping_models, jp_fetch
) -> None:
    started = time.monotonic()
    status = await ready(jp_fetch, timeout=10)
    assert time.monotonic() - started < 5
    remote = status["engine"]["remote"]
    assert remote["state"] != "ok" and "within 0.6 s" in remote["error"], remote
