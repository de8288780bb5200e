"""A scripted OpenAI-compatible chat server for the ui-tests' "scripted" server
kind: jupyter-codegen's remote engine talks to it (--CodegenApp.remote_url),
and it answers each chat with a canned reply chosen from the request's
content, streamed in small pieces, so that Fix and Edit get proposals the
tests can predict (the tiny model's words are noise).

    python scripted_chat.py --port-file PATH [--watch-pid PID]

It listens on a free loopback port, writes the port to PATH, and exits when
the process PID (the Jupyter server) is gone. GET /v1/models lists the one
model, "scripted-chat"; POST /v1/chat/completions streams the reply as SSE
chunks, then a chunk with finish_reason "stop" and `data: [DONE]`.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import threading
import time

MODEL = "scripted-chat"

# (substrings that must all be in the last user message, reply, seconds per piece)
# The first rule that matches answers; the fix prompt holds the cells and the
# error, the edit prompt the cell and the instruction.
RULES: list[tuple[tuple[str, ...], str, float]] = [
    # Stop tests: a long reply, slowly (about a minute), to be cancelled.
    (
        ("slow_fix_please",),
        "Cause: the name is not defined.\n```python\n"
        + "".join(f"value_{i} = {i}\n" for i in range(200))
        + "```",
        0.25,
    ),
    (
        ("rewrite it slowly",),
        "```python\n" + "".join(f"step_{i} = {i}\n" for i in range(200)) + "```",
        0.25,
    ),
    # An explanation to stop: long and slow (about a minute).
    (
        ("def slowly_explained(",),
        "".join(f"Step {i} of the explanation.\n" for i in range(60)),
        0.25,
    ),
    # An explanation streamed slowly enough (about 3 s) to watch it grow.
    (
        ("def paced_total(",),
        "`paced_total` adds up the numbers in `xs`.\n\n"
        "It starts from zero and adds each item in turn, "
        "so an empty list gives 0.",
        0.1,
    ),
    # Generated code: a few lines at a pace to watch them come, and a long
    # slow one to stop.
    (
        ("Task: add up xs at a steady pace",),
        "```python\ntotal = 0\nfor x in xs:\n    total += x\nprint(total)\n```",
        0.1,
    ),
    (
        ("Task: generate it slowly",),
        "```python\n" + "".join(f"row_{i} = {i}\n" for i in range(200)) + "```",
        0.25,
    ),
    # A fix of an earlier cell: the helper reads a column the data lacks.
    (
        ("KeyError", "def revenue(df):"),
        "Cause: the data has a Price_USD key, not price.\n"
        "```python\n# Cell 0\ndef revenue(df):\n    return df['qty'] * df['Price_USD']\n```",
        0.03,
    ),
    # A fix of the failing cell itself (no label: the failing cell).
    (
        ("NameError", "valuez"),
        "Cause: `valuez` is a typo of `values`.\n"
        "```python\nresult = sum(values)\nprint(result)\n```",
        0.03,
    ),
    # Edits.
    (("use sum()",), "```python\ntotal = sum(xs)\n```", 0.03),
    (
        ("add type hints",),
        "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```",
        0.03,
    ),
    (("break it",), "```python\ndef broken(:\n    return\n```", 0.03),
    # Two separate changes (the first and the last line).
    (
        ("rename a and e",),
        "```python\nfirst = 1\nb = 2\nc = 3\nd = 4\nlast = 5\n```",
        0.03,
    ),
]

FALLBACK_FIX = "Cause: the scripted server has no reply for this error."
FALLBACK_EDIT = "```python\npass\n```"
PIECE = 4  # characters per streamed piece


def reply_for(messages: list[dict]) -> tuple[str, float]:
    """The canned reply for a chat, and the pause between its pieces."""
    user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = str(user.get("content", ""))
    for needles, reply, pause in RULES:
        if all(n in content for n in needles):
            return reply, pause
    system = str(messages[0].get("content", "")) if messages else ""
    return (FALLBACK_FIX if "fix errors" in system else FALLBACK_EDIT), 0.03


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, payload: dict, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json({"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json({"error": {"message": "not found"}}, 404)
            return
        reply, pause = reply_for(body.get("messages") or [])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for start in range(0, len(reply), PIECE):
                chunk = {
                    "id": "scripted",
                    "object": "chat.completion.chunk",
                    "model": MODEL,
                    "choices": [{"index": 0, "delta": {"content": reply[start : start + PIECE]}}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(pause)
            done = {
                "id": "scripted",
                "object": "chat.completion.chunk",
                "model": MODEL,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (a cancelled request)
        self.close_connection = True


def watch(pid: int, server: http.server.ThreadingHTTPServer) -> None:
    """Shut the server down once process ``pid`` is gone."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:
            pass
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--watch-pid", type=int, default=0)
    args = parser.parse_args()
    http.server.ThreadingHTTPServer.daemon_threads = True
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    if args.watch_pid:
        threading.Thread(target=watch, args=(args.watch_pid, server), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
