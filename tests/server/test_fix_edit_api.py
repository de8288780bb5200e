"""``POST /fix`` and ``POST /edit`` through a real Jupyter server: on the tiny
model (shape, streaming, errors, cancellation), and on a scripted chat server
behind the remote engine, whose reply is read back into edits."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import sse_events
from tornado.httpclient import HTTPClientError

FIX = {
    "cells_before": [
        {"cell_type": "code", "source": "import pandas as pd\norders = load()"},
        {"cell_type": "code", "source": "def revenue(df):\n    return df['Qty'] * df['price']"},
    ],
    "cell": "orders['revenue'] = revenue(orders)",
    "cells_after": [{"cell_type": "code", "source": "orders.head()"}],
    "error": {
        "ename": "KeyError",
        "evalue": "'price'",
        "traceback": [
            "\x1b[31mKeyError\x1b[39m    Traceback (most recent call last)",
            "Cell \x1b[32mIn[4], line 1\x1b[39m\n----> 1 orders['revenue'] = revenue(orders)\n",
            "Cell \x1b[32mIn[2], line 2\x1b[39m, in revenue(df)\n      1 def revenue(df):\n"
            "----> 2     return df['Qty'] * df['price']\n",
            "\x1b[31mKeyError\x1b[39m: 'price'",
        ],
    },
    "namespace": "orders: pandas DataFrame, shape (14, 2), columns {'Qty': int64, "
    "'Price_USD': float64}",
}
EDIT = {"cell": "total = 0\nfor x in xs:\n    total += x\n", "instruction": "use sum()"}


async def ready(jp_fetch) -> None:
    deadline = time.monotonic() + 60
    while json.loads((await jp_fetch("jupyter-codegen", "status")).body)["state"] != "ready":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def post(jp_fetch, route: str, body: dict) -> Any:
    resp = await jp_fetch("jupyter-codegen", route, method="POST", body=json.dumps(body))
    if body.get("stream"):
        return sse_events(resp.body)
    return json.loads(resp.body)


# -- on the tiny model ----------------------------------------------------------


async def test_fix_and_edit_answer_with_their_reply_shapes(jp_fetch) -> None:
    await ready(jp_fetch)
    fix = await post(jp_fetch, "fix", {**FIX, "max_tokens": 6})
    assert set(fix) == {"edits", "explanation", "model", "finish_reason", "timings"}
    assert fix["finish_reason"] == "length" and fix["timings"]["generated_tokens"] == 6
    edit = await post(jp_fetch, "edit", {**EDIT, "max_tokens": 6})
    assert set(edit) == {"text", "parses", "model", "finish_reason", "timings"}
    assert edit["timings"]["generated_tokens"] == 6 and isinstance(edit["parses"], bool)


async def test_fix_and_edit_stream_their_proposal_then_the_reply(jp_fetch) -> None:
    await ready(jp_fetch)
    events = await post(jp_fetch, "fix", {**FIX, "max_tokens": 8, "stream": True})
    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("fix") >= 2
    assert all(set(data) == {"explanation", "edits"} for name, data in events if name == "fix")
    events = await post(jp_fetch, "edit", {**EDIT, "max_tokens": 8, "stream": True})
    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("edit") >= 2
    texts = [data["text"] for name, data in events if name == "edit"]
    assert texts[-1].strip().startswith(texts[0].strip()[:1])  # it grows


@pytest.mark.parametrize(
    ("route", "body", "status", "fragment"),
    [
        ("edit", {**EDIT, "selection": {"start": -1, "end": 3}}, 400, "selection.start"),
        ("edit", {**EDIT, "instruction": ""}, 400, "instruction"),
        ("fix", {k: v for k, v in FIX.items() if k != "error"}, 400, "error"),
        (
            "fix",
            {**FIX, "error": {"ename": "E", "evalue": "x", "traceback": "no"}},
            400,
            "traceback",
        ),
        ("fix", {**FIX, "error": {"ename": "E" * 300, "evalue": "x"}}, 400, "ename"),
    ],
)
async def test_bad_fix_and_edit_requests_get_a_clear_400(
    jp_fetch, route: str, body: dict, status: int, fragment: str
) -> None:
    await ready(jp_fetch)
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, route, body)
    reply = json.loads(info.value.response.body)
    assert info.value.code == status and fragment in reply["message"], reply


# Without drafting: the random model repeats itself and would finish too soon.
@pytest.mark.parametrize("codegen_overrides", [{"draft_tokens": 0}])
async def test_a_fix_is_cancelled_on_the_server(jp_fetch) -> None:
    await ready(jp_fetch)
    long = asyncio.ensure_future(
        post(jp_fetch, "fix", {**FIX, "max_tokens": 4000, "request_id": "fix-1"})
    )
    await asyncio.sleep(0.5)
    assert await post(jp_fetch, "cancel", {"request_id": "fix-1"}) == {"cancelled": True}
    reply = await asyncio.wait_for(long, 10)
    assert reply["finish_reason"] == "cancelled" and reply["timings"]["generated_tokens"] < 4000


# -- on a scripted chat server (the remote engine) --------------------------------

REPLY = (
    "Cause: the data has Price_USD, not price.\n"
    "```python\n# Cell 1\ndef revenue(df):\n    return df['Qty'] * df['Price_USD']\n```"
)


class ChatServer:
    """An OpenAI-compatible chat server on loopback that answers every chat
    with ``REPLY`` in small streamed pieces, and records the requests."""

    def __init__(self, reply: str) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._json({"data": [{"id": "scripted-chat"}]})

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.requests.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for start in range(0, len(reply), 7):
                    chunk = {
                        "choices": [{"index": 0, "delta": {"content": reply[start : start + 7]}}]
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    server = ChatServer(REPLY)
    yield server
    server.server.shutdown()


class TestOnAScriptedChatServer:
    @pytest.fixture
    def codegen_overrides(self, chat_server: ChatServer) -> dict:
        return {"remote_url": chat_server.url, "model": "scripted-chat"}

    async def test_a_fix_reply_becomes_edits_of_the_cell_that_caused_it(
        self, jp_fetch, chat_server: ChatServer
    ) -> None:
        await ready(jp_fetch)
        fix = await post(jp_fetch, "fix", FIX)
        assert fix["explanation"] == "the data has Price_USD, not price."
        assert fix["edits"] == [
            {"cell": 1, "source": "def revenue(df):\n    return df['Qty'] * df['Price_USD']"}
        ]
        # The model was shown the helper's cell and the failing one, labelled, the
        # live columns, and the error placed in the cells
        prompt = chat_server.requests[-1]["messages"][-1]["content"]
        assert "# Cell 1\ndef revenue(df):" in prompt
        assert "# Cell 2 (the failing cell)\norders['revenue'] = revenue(orders)" in prompt
        assert "'Price_USD': float64" in prompt and "Cell 1, line 2, in revenue" in prompt
        # streamed, the proposal grows into the same reply
        events = await post(jp_fetch, "fix", {**FIX, "stream": True})
        proposals = [data for name, data in events if name == "fix"]
        assert proposals[-1]["edits"] == fix["edits"] and events[-1][1]["edits"] == fix["edits"]
        assert any(not p["edits"] for p in proposals)  # the cause came first


class TestAModelThatCopiesGuardedMarkers:
    """The remote engine breaks marker-like strings in the user's code with a
    zero-width space; a model that copies the code back copies them too."""

    @pytest.fixture
    def chat_server(self) -> Iterator[ChatServer]:
        server = ChatServer(
            "Cause: the closing tag.\n```python\n# Cell 1\ndef revenue(df):\n"
            "    return df['Qty'] * df['Price_USD']  # not '<\u200b/s>'\n```"
        )
        yield server
        server.server.shutdown()

    @pytest.fixture
    def codegen_overrides(self, chat_server: ChatServer) -> dict:
        return {"remote_url": chat_server.url, "model": "scripted-chat"}

    async def test_the_proposed_cell_has_the_users_text_back(self, jp_fetch) -> None:
        await ready(jp_fetch)
        fix = await post(jp_fetch, "fix", FIX)
        assert fix["edits"] == [
            {
                "cell": 1,
                "source": "def revenue(df):\n    return df['Qty'] * df['Price_USD']  # not '</s>'",
            }
        ]
