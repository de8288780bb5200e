"""A small synchronous client for an OpenAI-compatible inference server, over
``http.client`` (standard library only: the install without torch needs no
HTTP stack).

- Every call has a connect timeout, a read timeout (the longest silence) and a
  total deadline: a watcher thread (:class:`Closer`) shuts the socket down at
  the deadline wherever the call is blocked (a server that answers a byte a
  second included), or as soon as a stream's ``stop()`` is true, so that the
  server sees the client leave and stops generating.
- Every read is bounded (:data:`MAX_BODY`, :data:`ERROR_BODY`, :mod:`sse`).
- Every failure is made by :meth:`Upstream.fail`, which redacts the whole
  message (:mod:`redact`): no text the server sent, nor an exception quoting
  it, carries the API key into a reply, the status or a log line. Its
  ``status``: 503 unreachable or overloaded, 504 a timeout, 502 otherwise.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from jupyter_codegen.engine.remote import sse
from jupyter_codegen.engine.remote.closer import Closer
from jupyter_codegen.engine.remote.redact import Redactor, display_url, error_text
from jupyter_codegen.errors import EngineError
from jupyter_codegen.version import __version__

#: Most bytes of a JSON reply (a model list, server properties, a reply that is
#: not streamed).
MAX_BODY = 1024 * 1024
#: Most bytes read of an error status's body.
ERROR_BODY = 64 * 1024
#: How much of an upstream text is quoted in a message, and a message's length.
ERROR_BODY_CHARS, MESSAGE_CHARS = 300, 1000
#: The total deadline of a call that names none (seconds).
MAX_CALL_S = 600.0


class UpstreamError(EngineError):
    """The inference server could not be reached, failed, or timed out; made
    by :meth:`Upstream.fail` only (its message is redacted). ``upstream_status``
    is the server's own HTTP status, when it answered with one."""

    def __init__(
        self, status: int, upstream: str, message: str, upstream_status: int | None = None
    ):
        super().__init__(f"The inference server at {upstream} {message}")
        self.status = status
        self.upstream = upstream
        self.upstream_status = upstream_status

    @property
    def details(self) -> dict[str, Any]:
        return {"upstream": self.upstream}


class _Stopped(Exception):
    """The stream was closed on purpose (``stop`` was set)."""


@dataclass
class _Call:
    conn: http.client.HTTPConnection
    closer: Closer
    resp: http.client.HTTPResponse
    what: str  # "POST /completions"
    seconds: float

    def close(self) -> None:
        self.closer.finish()
        self.conn.close()


@dataclass(frozen=True)
class Upstream:
    """Where the server is and how to talk to it."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_call_s: float = MAX_CALL_S
    redactor: Redactor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"the remote URL {display_url(self.base_url)!r} is not an http(s) URL "
                "(for example http://vllm:8000/v1)"
            )
        object.__setattr__(self, "redactor", Redactor([self.api_key, parts.password]))

    @property
    def name(self) -> str:
        return display_url(self.base_url)

    # -- the choke point -----------------------------------------------------

    def quote(self, text: Any, limit: int = ERROR_BODY_CHARS) -> str:
        """Upstream text (a body, a name, a header), fit to show: see :mod:`redact`."""
        return self.redactor.clean(text, limit)

    def fail(self, status: int, message: str, upstream_status: int | None = None) -> UpstreamError:
        """The one way an :class:`UpstreamError` is made: its message redacted."""
        clean = self.redactor.clean(message, MESSAGE_CHARS)
        return UpstreamError(status, self.name, clean, upstream_status)

    # -- requests ---------------------------------------------------------------

    def get_json(self, path: str, timeout: float | None = None) -> Any:
        """GET ``path`` and parse the JSON reply, all within ``timeout`` seconds.
        ``path`` is relative to the base URL; one starting with "/" is on the
        server's root (the base URL without its trailing /v1), as llama.cpp's
        ``/props`` and Ollama's ``/api/show`` are."""
        return self._json("GET", path, None, timeout)

    def post_json(self, path: str, payload: dict[str, Any], timeout: float | None = None) -> Any:
        return self._json("POST", path, payload, timeout)

    def _json(self, method: str, path: str, payload: Any, timeout: float | None) -> Any:
        call = self._open(method, path, payload, timeout, lambda: False)
        try:
            body = self._read_body(call, MAX_BODY)
        except (OSError, http.client.HTTPException) as exc:  # the body cut off, or reset
            raise self._transport_error(exc, call.what, call.seconds, call.closer) from None
        finally:
            call.close()
        try:
            return json.loads(body)
        except ValueError:
            raise self.fail(502, f"sent a reply to {call.what} that is not JSON") from None

    def stream(
        self,
        path: str,
        payload: dict[str, Any],
        stop: Callable[[], bool],
        timeout: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """POST ``payload`` and yield each server-sent event's JSON data.

        Ends at ``data: [DONE]`` or at the end of the reply. Once ``stop()`` is
        true (it is polled from a watcher thread) the connection is closed and
        the iteration ends quietly; closing the generator closes it too. At
        the deadline (``timeout``, else :attr:`max_call_s`) it fails with 504.
        """
        try:
            call = self._open("POST", path, payload, timeout, stop)
        except _Stopped:
            return
        closer = call.closer
        try:
            kind = (call.resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
            if kind == "application/json":  # a server that does not stream
                yield self._event(self._read_body(call, MAX_BODY), call, streamed=False)
            elif kind == "text/event-stream":

                def read() -> bytes:
                    chunk = call.resp.read1(65536)
                    self._check_closer(call)
                    return chunk

                for data in sse.events(read):
                    if data.strip() == b"[DONE]":
                        return
                    yield self._event(data, call)
            else:
                raise self.fail(
                    502,
                    f"answered {call.what} with {self.quote(kind, 60) or 'no content type'}, not "
                    "an event stream (is the URL the server's OpenAI base, ending in /v1?)",
                )
        except _Stopped:
            return
        except sse.Oversized as exc:
            raise self.fail(502, f"{exc} in its reply to {call.what}") from None
        except (OSError, http.client.HTTPException) as exc:
            if closer.closed and not closer.expired:
                return
            raise self._transport_error(exc, call.what, call.seconds, closer) from None
        finally:
            call.close()

    # -- internals ----------------------------------------------------------

    def _url_path(self, path: str) -> str:
        base = urlsplit(self.base_url.strip()).path.rstrip("/")
        if path.startswith("/"):  # on the server's root
            return base.removesuffix("/v1") + path
        return f"{base}/{path}"

    def _connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base_url.strip())
        host = parts.hostname or ""
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=self.connect_timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except TimeoutError:
            conn.close()
            raise self.fail(
                504, f"did not accept a connection within {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            conn.close()
            raise self.fail(503, f"is unreachable: {_describe(exc)}") from None
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

    def _open(
        self,
        method: str,
        path: str,
        payload: Any,
        timeout: float | None,
        stop: Callable[[], bool],
    ) -> _Call:
        """Connect, send, and read the status and headers, all by the deadline."""
        seconds = min(timeout, self.max_call_s) if timeout is not None else self.max_call_s
        what = f"{method} /{path.lstrip('/')}"
        conn = self._connect()
        closer = Closer(conn, stop, time.monotonic() + seconds)
        body = None if payload is None else json.dumps(payload).encode()
        try:
            conn.request(method, self._url_path(path), body=body, headers=self._headers(body))
            resp = conn.getresponse()
            call = _Call(conn, closer, resp, what, seconds)
            # A socket shut down mid-headers reads as their end: not a reply.
            self._check_closer(call)
            if resp.status >= 400:
                detail = self._read_body(call, ERROR_BODY, truncate=True)
                raise self._status_error(resp.status, resp.reason, what, path, detail)
            return call
        except (OSError, http.client.HTTPException) as exc:
            closer.finish()
            conn.close()
            if closer.closed and not closer.expired:
                raise _Stopped from None
            raise self._transport_error(exc, what, seconds, closer) from None
        except BaseException:
            closer.finish()
            conn.close()
            raise

    def _read_body(self, call: _Call, limit: int, truncate: bool = False) -> bytes:
        """The reply's body, at most ``limit`` bytes (more: a 502, or cut if
        ``truncate``), by the call's deadline."""
        parts: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = call.resp.read1(65536)
            self._check_closer(call)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
            size += len(chunk)
        if truncate:
            return b"".join(parts)[:limit]
        raise self.fail(502, f"sent a reply to {call.what} over {limit // 1024} KiB")

    def _check_closer(self, call: _Call) -> None:
        """Raise if the call was closed: at its deadline (504), or on purpose."""
        if call.closer.stopped():
            if call.closer.expired:
                raise self._deadline_error(call.what, call.seconds)
            raise _Stopped

    def _status_error(
        self, status: int, reason: str, what: str, path: str, body: bytes
    ) -> UpstreamError:
        hint = ""
        if status in (401, 403):
            hint = " (check the API key: JUPYTER_CODEGEN_API_KEY or CodegenApp.remote_api_key)"
        elif status == 404 and path != "models":
            hint = " (check the model name and that the URL ends with /v1)"
        ours = 503 if status in (429, 503) else 502
        detail = self.quote(error_text(body)) or "(no body)"
        return self.fail(
            ours, f"answered {what} with {status} {self.quote(reason, 60)}{hint}: {detail}", status
        )

    def _deadline_error(self, what: str, seconds: float) -> UpstreamError:
        return self.fail(504, f"did not finish {what} within {seconds:g} s")

    def _transport_error(
        self, exc: BaseException, what: str, seconds: float, closer: Closer
    ) -> UpstreamError:
        if closer.expired:
            return self._deadline_error(what, seconds)
        where = f" during {what}"
        if isinstance(exc, TimeoutError):
            return self.fail(504, f"sent nothing for {self.read_timeout:g} s{where} (read timeout)")
        if isinstance(exc, http.client.IncompleteRead | ConnectionError):
            return self.fail(502, f"closed the connection mid-reply{where}")
        if isinstance(exc, http.client.RemoteDisconnected):
            return self.fail(502, f"closed the connection without a reply{where}")
        return self.fail(502, f"failed{where}: {_describe(exc)}")

    def _event(self, data: bytes, call: _Call, streamed: bool = True) -> dict[str, Any]:
        how = "streamed an event" if streamed else "sent a reply"
        try:
            event = json.loads(data)
        except ValueError:
            raise self.fail(502, f"{how} that is not JSON from {call.what}") from None
        if not isinstance(event, dict):
            raise self.fail(502, f"{how} that is not a JSON object from {call.what}")
        if "error" in event and not event.get("choices"):
            where = " mid-stream" if streamed else ""
            detail = self.quote(error_text(json.dumps(event)))
            raise self.fail(502, f"reported an error{where}: {detail}")
        return event


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"the host name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)
