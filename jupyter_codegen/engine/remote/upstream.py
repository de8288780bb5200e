"""A small synchronous client for an OpenAI-compatible inference server.

It streams server-sent events over ``http.client`` (standard library only), so
that the install without torch needs no extra HTTP stack. Every request has a
connect and a read timeout. A stream can be closed from another thread
(:meth:`Upstream.stream` takes a ``stop`` predicate): the socket is shut down,
the blocked read returns at once, and the server sees the client leave and
stops generating.

Errors become :class:`UpstreamError` with the HTTP status this extension should
answer with (502, 503 or 504). Messages name the server by its URL without any
credentials, and the API key is never part of a message.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jupyter_codegen.engine.remote.closer import Closer
from jupyter_codegen.errors import EngineError
from jupyter_codegen.version import __version__

#: Longest SSE line accepted (a whole streamed reply may come as one event).
MAX_LINE = 4 * 1024 * 1024
#: How much of an upstream error body is quoted in a message.
ERROR_BODY_CHARS = 300


class UpstreamError(EngineError):
    """The inference server could not be reached, failed, or timed out.

    ``status`` is what this extension answers: 503 when the server is
    unreachable or says it is overloaded, 504 on a timeout, 502 otherwise
    (an error status, a malformed reply, a stream cut short).
    """

    def __init__(self, status: int, upstream: str, message: str):
        super().__init__(f"The inference server at {upstream} {message}")
        self.status = status
        self.upstream = upstream

    @property
    def details(self) -> dict[str, Any]:
        return {"upstream": self.upstream}


class _Stopped(Exception):
    """The stream was closed on purpose (``stop`` was set)."""


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to show and to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: shown as written; connecting says what is wrong
        port = ":" + parts.netloc.rpartition(":")[2]
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Upstream:
    """Where the server is and how to talk to it."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"the remote URL {display_url(self.base_url)!r} is not an http(s) URL "
                "(for example http://vllm:8000/v1)"
            )

    @property
    def name(self) -> str:
        return display_url(self.base_url)

    # -- requests -----------------------------------------------------------

    def get_json(self, path: str, timeout: float | None = None) -> Any:
        """GET ``path`` (relative to the base URL) and parse the JSON reply;
        ``timeout`` (seconds) may shorten the read timeout."""
        conn = self._connect()
        waited = min(timeout, self.read_timeout) if timeout is not None else self.read_timeout
        if conn.sock is not None:
            conn.sock.settimeout(waited)
        try:
            resp = self._send(conn, "GET", path, None)
            body = resp.read(MAX_LINE)
        except (OSError, http.client.HTTPException) as exc:
            raise self._transport_error(exc, waited=waited) from None
        finally:
            conn.close()
        try:
            return json.loads(body)
        except ValueError:
            raise UpstreamError(
                502, self.name, f"sent a reply to GET {path} that is not JSON"
            ) from None

    def stream(
        self, path: str, payload: dict[str, Any], stop: Callable[[], bool]
    ) -> Iterator[dict[str, Any]]:
        """POST ``payload`` and yield each server-sent event's JSON data.

        Ends at ``data: [DONE]`` or at the end of the reply. Once ``stop()`` is
        true (it is polled from a watcher thread) the connection is closed and
        the iteration ends quietly; closing the generator closes it too.
        """
        conn = self._connect()
        closer = Closer(conn, stop)
        try:
            try:
                resp = self._send(conn, "POST", path, json.dumps(payload).encode())
                kind = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
                if kind == "application/json":  # a server that does not stream
                    body = resp.read(MAX_LINE).decode("utf-8", "replace")
                    if closer.stopped():
                        return
                    yield from self._dispatch([body], path)
                elif kind == "text/event-stream":
                    yield from self._events(resp, path, closer)
                else:
                    raise UpstreamError(
                        502,
                        self.name,
                        f"answered POST /{path} with {kind or 'no content type'}, not an event "
                        "stream (is the URL the server's OpenAI base, ending in /v1?)",
                    )
            except _Stopped:
                return
            except (OSError, http.client.HTTPException) as exc:
                if closer.closed:
                    return
                raise self._transport_error(exc, path) from None
        finally:
            closer.finish()
            conn.close()

    # -- internals ----------------------------------------------------------

    def _url_path(self, path: str) -> str:
        base = urlsplit(self.base_url.strip()).path.rstrip("/")
        return f"{base}/{path.lstrip('/')}"

    def _connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base_url.strip())
        host = parts.hostname or ""
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                host,
                parts.port,
                timeout=self.connect_timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise UpstreamError(
                504, self.name, f"did not accept a connection within {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            conn.close()
            raise UpstreamError(503, self.name, f"is unreachable: {_describe(exc)}") from None
        assert conn.sock is not None
        conn.sock.settimeout(self.read_timeout)
        return conn

    def _headers(self, body: bytes | None) -> dict[str, str]:
        headers = {
            "Accept": "application/json, text/event-stream",
            "User-Agent": f"jupyter-codegen/{__version__}",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _send(
        self, conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None
    ) -> http.client.HTTPResponse:
        conn.request(method, self._url_path(path), body=body, headers=self._headers(body))
        resp = conn.getresponse()
        if resp.status >= 400:
            detail = resp.read(64 * 1024).decode("utf-8", "replace")
            raise self._status_error(resp.status, resp.reason, method, path, detail)
        return resp

    def _status_error(
        self, status: int, reason: str, method: str, path: str, detail: str
    ) -> UpstreamError:
        detail = _error_text(detail)
        if self.api_key:
            detail = detail.replace(self.api_key, "***")
        if len(detail) > ERROR_BODY_CHARS:
            detail = detail[:ERROR_BODY_CHARS] + "…"
        hint = ""
        if status in (401, 403):
            hint = " (check the API key: JUPYTER_CODEGEN_API_KEY or CodegenApp.remote_api_key)"
        elif status == 404 and path != "models":
            hint = " (check the model name and that the URL ends with /v1)"
        ours = 503 if status in (429, 503) else 502
        return UpstreamError(
            ours,
            self.name,
            f"answered {method} /{path} with {status} {reason}{hint}: {detail or '(no body)'}",
        )

    def _transport_error(
        self, exc: BaseException, path: str | None = None, waited: float | None = None
    ) -> UpstreamError:
        where = f" during POST /{path}" if path else ""
        if isinstance(exc, TimeoutError):
            waited = self.read_timeout if waited is None else waited
            return UpstreamError(
                504, self.name, f"sent nothing for {waited:g} s{where} (read timeout)"
            )
        if isinstance(exc, http.client.IncompleteRead | ConnectionError):
            return UpstreamError(502, self.name, f"closed the connection mid-reply{where}")
        if isinstance(exc, http.client.RemoteDisconnected):
            return UpstreamError(502, self.name, f"closed the connection without a reply{where}")
        return UpstreamError(502, self.name, f"failed{where}: {_describe(exc)}")

    def _events(
        self, resp: http.client.HTTPResponse, path: str, closer: Closer
    ) -> Iterator[dict[str, Any]]:
        # read1, not readline: on a chunked reply cut short, readline returns
        # b"" as at a clean end, while read1 raises IncompleteRead.
        data: list[str] = []
        buffer = b""
        while True:
            if closer.stopped():
                raise _Stopped
            chunk = resp.read1(65536)
            if closer.stopped():
                raise _Stopped
            if not chunk:  # the end of the reply
                lines, buffer = ([buffer] if buffer else []), b""
            else:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                if len(buffer) > MAX_LINE:
                    raise UpstreamError(502, self.name, f"streamed a line over {MAX_LINE} bytes")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                if not line:
                    if data == ["[DONE]"]:
                        return
                    if data:
                        yield from self._dispatch(data, path)
                    data = []
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                # "event:", "id:", "retry:" and ":" comments carry nothing we need.
            if not chunk:
                if data:
                    yield from self._dispatch(data, path)
                return

    def _dispatch(self, data: list[str], path: str) -> Iterator[dict[str, Any]]:
        text = "\n".join(data)
        if text == "[DONE]":
            return
        try:
            event = json.loads(text)
        except ValueError:
            raise UpstreamError(
                502, self.name, f"streamed an event that is not JSON from POST /{path}"
            ) from None
        if not isinstance(event, dict):
            raise UpstreamError(502, self.name, f"streamed a non-object event from POST /{path}")
        if "error" in event and not event.get("choices"):
            detail = _error_text(json.dumps(event))
            raise UpstreamError(502, self.name, f"reported an error mid-stream: {detail}")
        yield event


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the host name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def _error_text(body: str) -> str:
    """The message of an OpenAI-style error body, else the body itself."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return " ".join(body.split())
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed.get("detail", parsed))
        if isinstance(err, dict):
            err = err.get("message", err)
        return " ".join(str(err).split())
    return " ".join(str(parsed).split())
