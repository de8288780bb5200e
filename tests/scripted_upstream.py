"""A scripted OpenAI-compatible upstream on real loopback sockets, for the
remote engine's tests: every request runs the test's ``script``, which may
answer as a server should or misbehave as a hostile or broken one does
(silence, error bodies that quote the key, a reply that never ends)."""

from __future__ import annotations

import base64
import http.server
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Handler = http.server.BaseHTTPRequestHandler

# -- the API key an upstream quotes back ---------------------------------------

KEY = "sk-live-4f9b2c7d1e8a6053"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


#: The ways an upstream may quote the Authorization header it received.
QUOTED = {
    "raw": f"invalid API key {KEY}",
    "bearer": f"header was Authorization: Bearer {KEY}",
    "base64 of the header": f"auth={b64(f'Bearer {KEY}')}",
    "basic": f"Authorization: Basic {b64(f'jovyan:{KEY}')}",
    "urlsafe base64": base64.urlsafe_b64encode(f"x:{KEY}".encode()).decode(),
}


def reveals(text: str) -> bool:
    """Whether ``text`` shows any 8 characters of the key, as they are or in
    base64 (either alphabet, at any alignment)."""
    pieces = {KEY[i : i + 8] for i in range(len(KEY) - 7)}
    if any(p in text for p in pieces):
        return True
    for run in re.findall(r"[A-Za-z0-9+/_-]{8,}", text):
        run = run.replace("-", "+").replace("_", "/")
        for start in range(4):
            part = run[start:]
            part = part[: len(part) // 4 * 4]
            try:
                decoded = base64.b64decode(part).decode("latin-1")
            except ValueError:
                continue
            if any(p in decoded for p in pieces):
                return True
    return False


# -- the server -------------------------------------------------------------------
Script = Callable[[Handler], None]


class Scripted:
    """A loopback server whose every request runs ``script`` (or the script
    registered for its path in ``routes``)."""

    def __init__(self) -> None:
        self.script: Script = lambda h: None
        # Paths of other servers' APIs (llama.cpp, Ollama) are not found unless routed.
        self.routes: dict[str, Script] = {
            path: not_found for path in ("/props", "/api/show", "/tokenize", "/slots")
        }
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.disconnected = threading.Event()
        outer = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _run(self) -> None:
                outer.headers.append(dict(self.headers.items()))
                script = outer.routes.get(self.path.split("?")[0], outer.script)
                try:
                    script(self)
                except (BrokenPipeError, ConnectionResetError):
                    outer.disconnected.set()

            def do_GET(self) -> None:
                outer.requests.append({"path": self.path})
                self._run()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.body = json.loads(self.rfile.read(length))
                outer.requests.append({"path": self.path, **self.body})
                self._run()

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    outer.disconnected.set()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def posts(self, path: str = "/v1/completions") -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def scripted_upstream() -> Iterator[Scripted]:
    server = Scripted()
    try:
        yield server
    finally:
        server.close()


def not_found(handler: Handler) -> None:
    json_reply(handler, {"error": {"message": "File Not Found", "code": 404}}, status=404)


def start_chunked(handler: Handler, content_type: str = "text/event-stream") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()


def chunk(handler: Handler, data: bytes | str) -> None:
    """Write one chunk of a chunked reply (raises once the client left)."""
    raw = data.encode() if isinstance(data, str) else data
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
    handler.wfile.flush()


def sse(handler: Handler, *chunks: str) -> None:
    """Answer with a chunked event stream of ``chunks`` (raw SSE text)."""
    start_chunked(handler)
    for text in chunks:
        chunk(handler, text)
    handler.wfile.write(b"0\r\n\r\n")


def event(text: str, finish: str | None = None, **extra: Any) -> str:
    choice = {"index": 0, "text": text, "finish_reason": finish}
    return "data: " + json.dumps({"choices": [choice], **extra})


def json_reply(handler: Handler, body: Any, status: int = 200, **headers: str) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", headers.pop("content_type", "application/json"))
    handler.send_header("Content-Length", str(len(data)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def models(handler: Handler, *names: str, **fields: Any) -> None:
    """``GET /models`` as vLLM answers it (``fields`` are added to each entry)."""
    json_reply(handler, {"object": "list", "data": [{"id": n, **fields} for n in names]})


def drip(handler: Handler, data: bytes, interval: float, until: threading.Event) -> None:
    """Send ``data`` one byte at a time, ``interval`` apart, as a server that
    never stops being slow; stops once ``until`` is set or the client left."""
    for byte in data:
        if until.is_set():
            return
        try:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(interval)
