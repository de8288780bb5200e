"""Requests an adversarial user would send (issue 21's second round): code
strange enough to break a compiler, bodies far over the limit, a megabyte to
explain. Each gets a clear answer with its documented status, nothing stalls
and nothing is read or tokenized that did not need to be."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import pytest
from conftest import sse_events
from tornado.httpclient import HTTPClientError

LIMIT = 256 * 1024

#: Code that a cell may legitimately hold and that CPython's compiler (or a
#: recursive walk of its tree) cannot take: it must mean "does not parse".
STRANGE = {
    "a long sum": "x = " + "+".join(["1"] * 3000) + "\n",
    "a long unary chain": "y = " + "- " * 10_000 + "1\n",
    "deep brackets": "z = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
    "a long assignment chain": " = ".join(f"a{i}" for i in range(3000)) + " = 1\n",
    "deep tuple targets": "(" * 2000 + "p, q" + ")" * 2000 + " = 1, 2\n",
}


def codegen_app(serverapp: Any) -> Any:
    [app] = serverapp.extension_manager.extension_apps["jupyter_codegen"]
    return app


async def ready(jp_fetch) -> None:
    deadline = time.monotonic() + 60
    while json.loads((await jp_fetch("jupyter-codegen", "status")).body)["state"] == "loading":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def post(jp_fetch, route: str, body: dict) -> Any:
    return await jp_fetch("jupyter-codegen", route, method="POST", body=json.dumps(body))


@pytest.mark.parametrize(
    "codegen_overrides", [{"max_request_bytes": LIMIT, "context_tokens": 8192}]
)
@pytest.mark.parametrize("name", list(STRANGE))
async def test_strange_code_does_not_parse_it_never_fails(jp_fetch, name: str) -> None:
    await ready(jp_fetch)
    code = STRANGE[name]
    body = {"prefix": code + "print(", "suffix": ")\n", "max_tokens": 2}
    reply = json.loads((await post(jp_fetch, "complete", body)).body)
    assert set(reply) == {"completions", "model", "timings"}
    events = sse_events((await post(jp_fetch, "complete", {**body, "stream": True})).body)
    assert events[-1][0] == "done" and not [e for e, _ in events if e == "error"]
    # in another cell too, and to explain
    other = {"prefix": "w = ", "cells_before": [{"cell_type": "code", "source": code}]}
    assert (await post(jp_fetch, "complete", {**other, "max_tokens": 2})).code == 200
    assert (await post(jp_fetch, "explain", {"code": code, "max_tokens": 2})).code == 200
    status = json.loads((await jp_fetch("jupyter-codegen", "status")).body)
    assert status["requests"]["failed"] == 0


def raw_request(port: int, head: str, body_part: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send ``head`` and ``body_part`` (a body may be promised longer) on a raw
    socket; the status and the body of the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + body_part)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_part, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head_part.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(head_part.split(b" ")[1]), rest


@pytest.mark.parametrize("codegen_overrides", [{"max_request_bytes": LIMIT}])
async def test_a_body_too_long_is_refused_before_it_is_read(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url
) -> None:
    await ready(jp_fetch)
    token = jp_serverapp.identity_provider.token
    path = f"{jp_base_url}jupyter-codegen/complete"
    promised = 400 * 1024 * 1024

    def head(auth: bool) -> str:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{jp_http_port}",
            "Content-Type: application/json",
            f"Content-Length: {promised}",
        ]
        if auth:
            lines.append(f"Authorization: token {token}")
        return "\r\n".join(lines) + "\r\n\r\n"

    # 400 MB promised, 1 KB sent: the answer comes without the rest being sent
    loop = asyncio.get_running_loop()
    code, body = await loop.run_in_executor(
        None, raw_request, jp_http_port, head(True), b"{" + b" " * 1023
    )
    reply = json.loads(body)
    assert code == 413 and "at most 262,144" in reply["message"], reply
    # a stranger learns nothing, and gets nothing read either
    code, _ = await loop.run_in_executor(None, raw_request, jp_http_port, head(False), b"{")
    assert code == 403
    # the server goes on serving
    assert (await post(jp_fetch, "complete", {"prefix": "x = ", "max_tokens": 1})).code == 200


@pytest.mark.parametrize("codegen_overrides", [{"max_request_bytes": LIMIT}])
async def test_a_body_that_turns_out_too_long_is_refused(jp_fetch) -> None:
    await ready(jp_fetch)
    # no Content-Length to go by: a chunked body, four times the limit
    body = json.dumps({"prefix": "x" * (4 * LIMIT)}).encode()

    async def chunks(write: Any) -> None:
        for start in range(0, len(body), 65536):
            await write(body[start : start + 65536])

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-codegen", "complete", method="POST", body_producer=chunks)
    assert info.value.code == 413
    assert "at most 262,144" in json.loads(info.value.response.body)["message"]


@pytest.mark.parametrize(
    "codegen_overrides", [{"max_request_bytes": 4 * 1024 * 1024, "context_tokens": 256}]
)
async def test_a_megabyte_to_explain_is_never_tokenized_whole(jp_fetch, jp_serverapp) -> None:
    await ready(jp_fetch)
    engine = codegen_app(jp_serverapp).service.host.ready_engine()
    counted: list[int] = []
    count = engine.count_tokens

    def recording(text: str) -> int:
        counted.append(len(text))
        return count(text)

    engine.count_tokens = recording
    try:
        big = "total = total + values[i] * weights[i]\n" * 48_000  # about 1.9 MB
        # as the code to explain: too long by its length alone
        with pytest.raises(HTTPClientError) as info:
            await post(jp_fetch, "explain", {"code": big, "max_tokens": 2})
        assert (
            info.value.code == 413
            and "characters" in json.loads(info.value.response.body)["message"]
        )
        # as a cell before the code: left out, not tokenized
        reply = await post(
            jp_fetch,
            "explain",
            {"code": "x = 1", "cells_before": [{"cell_type": "code", "source": big}]},
        )
        assert reply.code == 200
        # and as a cell around a completion
        cells = {"cells_before": [{"cell_type": "code", "source": big}]}
        assert (await post(jp_fetch, "complete", {"prefix": "y = ", **cells})).code == 200
    finally:
        engine.count_tokens = count
    assert counted and max(counted) <= 4 * 256 * 32  # the chat's bound, in characters
