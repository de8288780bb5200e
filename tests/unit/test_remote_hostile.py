"""The remote engine against a hostile or broken upstream (issue 21): a scripted
server on real loopback sockets that quotes the API key back, ignores
``max_tokens``, streams an event that never ends, or answers one byte at a time.

The key must never reach a reply, a status field or a log line, in any form
the upstream could write it; every buffer is bounded; every call ends by a
deadline."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

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
    sse,
    start_chunked,
)

from jupyter_codegen.completion.prompt import fim_segments
from jupyter_codegen.engine.base import GenerationRequest
from jupyter_codegen.engine.remote import health as health_module
from jupyter_codegen.engine.remote.engine import RemoteEngine
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError
from jupyter_codegen.families import TEMPLATES_BY_FAMILY

QWEN = TEMPLATES_BY_FAMILY["qwen2.5-coder"]


def test_the_leak_check_finds_each_form() -> None:
    assert all(reveals(text) for text in QUOTED.values())
    assert not reveals("invalid API key ***, Basic am92eWFuOn***")


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    with scripted_upstream() as server:
        yield server


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Callable[[], str]:
    caplog.set_level(logging.DEBUG)
    return lambda: "\n".join(r.getMessage() for r in caplog.records)


def engine(url: str, counter: TokenCounter | None = None, **kw: Any) -> RemoteEngine:
    return RemoteEngine(Upstream(url, api_key=KEY, **kw), "m", counter or TokenCounter())


def request(**kw: Any) -> GenerationRequest:
    return GenerationRequest(
        **{"max_new_tokens": 16, "segments": fim_segments(QWEN, "a", "b"), **kw}
    )


def failure(eng: RemoteEngine, **kw: Any) -> str:
    with pytest.raises(UpstreamError) as info:
        eng.generate(request(**kw), threading.Event())
    return str(info.value) + json.dumps(info.value.details)


def shown(eng: RemoteEngine) -> str:
    """What /status would show of the engine."""
    info = eng.info()
    return json.dumps({"model": info.model, **info.extra})


# -- the key: one choke point for every upstream text ----------------------------


@pytest.mark.parametrize("form", list(QUOTED))
def test_a_200_reply_with_an_error_does_not_show_the_key(
    scripted: Scripted, logs: Callable[[], str], form: str
) -> None:
    scripted.script = lambda h: json_reply(h, {"error": {"message": QUOTED[form]}})
    eng = engine(scripted.url)
    message = failure(eng)
    assert "reported an error" in message
    assert not reveals(message) and not reveals(shown(eng)) and not reveals(logs())


@pytest.mark.parametrize("form", list(QUOTED))
def test_an_error_event_does_not_show_the_key(
    scripted: Scripted, logs: Callable[[], str], form: str
) -> None:
    error = json.dumps({"error": {"message": QUOTED[form], "type": "auth"}})
    scripted.script = lambda h: sse(h, event("a") + "\n\n", f"data: {error}\n\n")
    eng = engine(scripted.url)
    message = failure(eng)
    assert "reported an error mid-stream" in message
    assert not reveals(message) and not reveals(shown(eng)) and not reveals(logs())


def raw_reply(status_line: str, content_type: str = "text/event-stream") -> Callable:
    def answer(h: Handler) -> None:
        head = f"{status_line}\r\nContent-Type: {content_type}\r\nContent-Length: 2\r\n\r\n"
        h.wfile.write(head.encode() + b"{}")
        h.close_connection = True

    return answer


@pytest.mark.parametrize(
    "script",
    [
        raw_reply(f"HTTP/1.1 500 Bearer {KEY}"),  # the reason phrase
        raw_reply("HTTP/1.1 200 OK", content_type=f"text/html; key={KEY}"),
        raw_reply(f"HTTP/1.1 2OO {KEY}"),  # a status line http.client rejects, quoting it
        lambda h: json_reply(h, {"detail": [{"msg": QUOTED["basic"]}]}, status=401),
        lambda h: sse(h, event("a", usage={"prompt_tokens": KEY}) + "\n\n"),
    ],
    ids=["reason phrase", "content type", "status line", "4xx body", "usage"],
)
def test_no_other_upstream_text_shows_the_key(
    scripted: Scripted, logs: Callable[[], str], script: Callable
) -> None:
    scripted.script = script
    eng = engine(scripted.url)
    try:
        result = eng.generate(request(), threading.Event())
    except UpstreamError as exc:
        text = str(exc)
    else:
        text = json.dumps([c.text for c in result.candidates] + [result.prompt_tokens])
    assert not reveals(text) and not reveals(shown(eng)) and not reveals(logs())


def test_the_model_list_and_the_health_error_do_not_show_the_key(scripted: Scripted) -> None:
    scripted.script = lambda h: models(h, f"qwen-{KEY}", "other")
    eng = RemoteEngine(Upstream(scripted.url, api_key=KEY), None, TokenCounter())
    eng.probe()
    assert eng.model == f"qwen-{KEY}"  # requests still name the model as listed
    assert not reveals(shown(eng)) and "other" in shown(eng)
    scripted.script = lambda h: json_reply(h, {"error": QUOTED["bearer"]}, status=500)
    eng.probe()
    health = eng.info().extra["remote"]
    assert health["state"] == "error" and "500" in health["error"]
    assert not reveals(shown(eng))


def test_generated_text_that_quotes_the_key_is_redacted_even_across_pieces(
    scripted: Scripted,
) -> None:
    pieces = ["x = '", KEY[:5], KEY[5:13], KEY[13:], "'\n"]
    scripted.script = lambda h: sse(h, *(event(p) + "\n\n" for p in pieces))
    deltas: list[str] = []
    result = engine(scripted.url).generate(
        request(max_new_tokens=64), threading.Event(), lambda i, d: deltas.append(d)
    )
    [cand] = result.candidates
    assert cand.text == "x = '***'\n" and "".join(deltas) == cand.text


# -- max_new_tokens: the engine counts what it delivers ----------------------------


def endless(piece: str, until: threading.Event) -> Callable[[Handler], None]:
    """A server that ignores max_tokens: ``piece`` after ``piece`` until told to stop."""

    def script(h: Handler) -> None:
        start_chunked(h)
        data = (event(piece) + "\n\n").encode()
        while not until.is_set():
            chunk(h, data)

    return script


@pytest.mark.parametrize(
    ("piece", "most_chars"),
    [("x", 16), ("total += n\n" * 80_000, 16 * 128)],
    ids=["a token per event", "a megabyte per event"],
)
def test_an_upstream_that_ignores_max_tokens_is_closed_at_the_limit(
    scripted: Scripted, piece: str, most_chars: int
) -> None:
    until = threading.Event()
    scripted.script = endless(piece, until)
    started = time.monotonic()
    try:
        [cand] = engine(scripted.url).generate(request(timeout_s=30), threading.Event()).candidates
        took = time.monotonic() - started
        assert scripted.disconnected.wait(5)  # the upstream saw us leave
    finally:
        until.set()
    assert took < 3
    assert cand.finish_reason == "length" and cand.tokens <= 16
    assert 0 < len(cand.text) <= most_chars


def test_with_a_tokenizer_the_limit_is_exact(scripted: Scripted, tiny_model_dir) -> None:
    counter = TokenCounter.from_file(str(tiny_model_dir))
    until = threading.Event()
    scripted.script = endless("def f(x):\n    return x\n" * 50, until)  # many tokens a piece
    try:
        eng = engine(scripted.url, counter)
        [cand] = eng.generate(request(timeout_s=30), threading.Event()).candidates
    finally:
        until.set()
    assert cand.finish_reason == "length" and cand.tokens == 16
    assert counter.count(cand.text) == 16


def test_a_reply_of_exactly_max_tokens_is_read_to_its_usage(scripted: Scripted) -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 16}
    last = "data: " + json.dumps({"choices": [], "usage": usage}) + "\n\n"
    scripted.script = lambda h: sse(
        h,
        *(event("ab") + "\n\n" for _ in range(15)),
        event("ab", "length") + "\n\n",
        last,
        "data: [DONE]\n\n",
    )
    result = engine(scripted.url).generate(request(), threading.Event())
    [cand] = result.candidates
    assert (cand.text, cand.finish_reason, cand.tokens) == ("ab" * 16, "length", 16)
    assert result.prompt_tokens == 40


# -- bounded buffers -------------------------------------------------------------


def test_an_event_that_never_ends_is_bounded(scripted: Scripted) -> None:
    sent: list[int] = []

    def lines_without_a_blank_one(h: Handler) -> None:
        start_chunked(h)
        line = b"data: " + b"x" * (1024 * 1024) + b"\n"
        for _ in range(40):
            chunk(h, line)
            sent.append(1)

    scripted.script = lines_without_a_blank_one
    with pytest.raises(UpstreamError) as info:
        engine(scripted.url).generate(request(), threading.Event())
    assert info.value.status == 502 and "an event over" in str(info.value)
    assert scripted.disconnected.wait(5) and len(sent) < 10


# -- deadlines ------------------------------------------------------------------


def finishes_within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a thread; fail if it has not returned after ``seconds``."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return out[0] if out else None


def test_a_model_list_sent_a_byte_a_second_hits_the_probe_deadline(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health_module, "PROBE_TIMEOUT_S", 0.6)
    until = threading.Event()
    body = json.dumps({"data": [{"id": "m"}]}).encode()

    def slow(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        drip(h, body, 0.1, until)  # each byte within the read timeout

    scripted.script = slow
    eng = engine(scripted.url)
    started = time.monotonic()
    try:
        finishes_within(4, eng.probe)
    finally:
        until.set()
    assert time.monotonic() - started < 2
    health = eng.info().extra["remote"]
    assert health["state"] != "ok" and "within 0.6 s" in health["error"]


def test_headers_sent_a_byte_at_a_time_hit_the_calls_deadline(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream without a generation timeout still has the upstream's own deadline."""
    until = threading.Event()
    status = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + b"X-Pad: y\r\n" * 500
    scripted.script = lambda h: drip(h, status, 0.05, until)
    eng = engine(scripted.url, max_call_s=0.8)
    try:
        message = finishes_within(4, lambda: failure(eng, timeout_s=None))
    finally:
        until.set()
    assert "did not finish POST /completions within 0.8 s" in message


def test_a_model_list_cut_off_by_a_reset_is_a_failed_probe(scripted: Scripted) -> None:
    """A connection reset while reading a JSON reply (as a probe's deadline
    can cause too) is a 502 in the health, not an exception out of the probe."""
    body = json.dumps({"data": [{"id": "m"}]}).encode()

    def reset(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:5])
        h.wfile.flush()
        # An abortive close: the client's next read gets a reset, not an end
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for stream in (h.rfile, h.wfile, h.connection):  # the last reference closes it
            stream.close()

    scripted.script = reset
    eng = engine(scripted.url)
    assert eng.probe() is None
    health = eng.info().extra["remote"]
    assert health["state"] != "ok" and "mid-reply" in health["error"], health["error"]
