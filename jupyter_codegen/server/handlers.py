"""Thin HTTP handlers: parse a typed request, call one service method, reply.

Streaming uses server-sent events on the same POST endpoints: send
``"stream": true`` and read ``text/event-stream``. Closing the connection
cancels the generation within one decode step. Errors found before the first
event (invalid, too large, not ready, busy) are plain JSON errors with their
HTTP status: the headers of a stream are written only once its first event is
there.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel
from tornado import web
from tornado.iostream import StreamClosedError

from jupyter_codegen.api import openapi
from jupyter_codegen.api.schemas import (
    CancelRequest,
    CompleteRequest,
    EditRequest,
    ExplainRequest,
    FixRequest,
    GenerateRequest,
    decode_json,
    parse_request,
)
from jupyter_codegen.errors import RequestError, describe, expected
from jupyter_codegen.service.core import Events
from jupyter_codegen.service.host import Ticket
from jupyter_codegen.service.service import CodegenService

AUTH_RESOURCE = "codegen"


class _APIHandler(APIHandler):
    """A 405 (a method the endpoint does not have) names those it has in
    ``Allow``, as RFC 9110 asks."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self.set_header("Allow", ", ".join(allowed_methods(type(self))))
        super().write_error(status_code, **kwargs)


def allowed_methods(handler: type[web.RequestHandler]) -> list[str]:
    """The HTTP methods that ``handler`` implements."""
    return [
        method
        for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower()) is not getattr(web.RequestHandler, method.lower())
    ]


@web.stream_request_body
class CodegenHandler(_APIHandler):
    """Base: dependencies come from the route table; errors are JSON.

    The body is read as it streams in, never more of it than the limit
    (``max_request_bytes``): a body that says (``Content-Length``) or turns out
    to be longer is refused with 413 before it is buffered, and only after
    the request is authenticated."""

    auth_resource = AUTH_RESOURCE
    service: CodegenService
    max_request_bytes: int
    #: The endpoint's name in the metrics.
    kind = "other"

    def initialize(self, service: CodegenService, max_request_bytes: int) -> None:
        self.service = service
        self.max_request_bytes = max_request_bytes
        self._ticket: Ticket | None = None
        self._body = bytearray()
        self._body_bytes = 0  # received, kept or not

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self._finished:
            return
        if not self.current_user:  # before anything is read: nothing for strangers
            raise web.HTTPError(403)
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_request_bytes:
            self.reply_error(self._too_large(int(declared)))

    def data_received(self, chunk: bytes) -> None:
        self._body_bytes += len(chunk)
        if self._body_bytes <= self.max_request_bytes:
            self._body += chunk
        elif self._body:
            self._body = bytearray()  # too long: what came is dropped, the rest too

    def _too_large(self, size: int) -> RequestError:
        return RequestError(
            f"The request body is {size:,} bytes; at most "
            f"{self.max_request_bytes:,} are accepted (CodegenApp.max_request_bytes)",
            status=413,
        )

    def read_request(self, model: type[BaseModel]) -> Any:
        if self._body_bytes > self.max_request_bytes:
            raise self._too_large(self._body_bytes)
        return parse_request(model, decode_json(bytes(self._body)))

    def reply_error(self, exc: Exception) -> None:
        """Write ``exc`` as a JSON error with the status it calls for (one
        table: :func:`jupyter_codegen.errors.describe`)."""
        reply = describe(exc)
        if reply.outcome is not None and reply.log is None:
            self.service.record_rejected(self.kind, reply.outcome)
        if reply.log == "warning":
            self.log.warning("jupyter-codegen: %s", exc)
        elif reply.log == "exception":
            self.log.exception("jupyter-codegen: %s request failed", self.kind)
            self.service.record_failure(self.kind)
        self.set_status(reply.status)
        for name, value in reply.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply.body()))

    def on_connection_close(self) -> None:
        # The client went away (or aborted its fetch): stop its generation.
        if self._ticket is not None:
            self._ticket.cancel()
        super().on_connection_close()


class StatusHandler(CodegenHandler):
    kind = "status"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(json.dumps(self.service.status()))


class GenerationHandler(CodegenHandler):
    """POST a typed request; reply with JSON, or with server-sent events when
    the request says ``"stream": true``. Subclasses name the request model and
    the two service calls."""

    request_model: type[BaseModel]

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        raise NotImplementedError

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        """Validate and prepare the request (off the event loop), then the events."""
        raise NotImplementedError

    @web.authenticated
    @authorized
    async def post(self) -> None:
        ticket: Ticket | None = None
        try:
            req = self.read_request(self.request_model)
            ticket = self._ticket = self.service.ticket(req.request_id, self.kind)
            if req.stream:
                # Errors in the request, its preparation and its admission come
                # back as HTTP errors, before any event.
                events = await self.stream(req, ticket)
                try:
                    first = await anext(events)  # admission and its errors come first
                except BaseException:
                    await events.aclose()  # type: ignore[attr-defined]
                    raise
                await self.send_events(first, events)
            else:
                reply = await self.call(req, ticket)
                self.finish(reply.model_dump_json())
        except Exception as exc:
            if ticket is not None:  # e.g. a request rejected before it ran
                self.service.release(ticket)
            self.reply_error(exc)

    async def send_events(self, first: tuple[str, dict[str, Any]], events: Events) -> None:
        """Relay service events as server-sent events until done or disconnect."""
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        try:
            name, data = first
            while True:
                self.write(f"event: {name}\ndata: {json.dumps(data)}\n\n")
                await self.flush()
                try:
                    name, data = await anext(events)
                except StopAsyncIteration:
                    break
        except StreamClosedError:
            pass  # closing the iterator below cancels the generation
        except Exception as exc:  # headers are gone: report in-band
            if not expected(exc):
                self.log.exception("jupyter-codegen: streamed %s request failed", self.kind)
                self.service.record_failure(self.kind)
            try:
                self.write(f"event: error\ndata: {json.dumps({'message': str(exc)})}\n\n")
            except StreamClosedError:
                return
        finally:
            await events.aclose()  # type: ignore[attr-defined]
        if not self._finished:
            self.finish()


class CompleteHandler(GenerationHandler):
    request_model, kind = CompleteRequest, "complete"

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        return self.service.complete(req, ticket)

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        return self.service.stream_complete(req, ticket)


class ExplainHandler(GenerationHandler):
    request_model, kind = ExplainRequest, "explain"

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        return self.service.explain(req, ticket)

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        return self.service.stream_explain(req, ticket)


class GenerateHandler(GenerationHandler):
    request_model, kind = GenerateRequest, "generate"

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        return self.service.generate(req, ticket)

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        return self.service.stream_generate(req, ticket)


class FixHandler(GenerationHandler):
    request_model, kind = FixRequest, "fix"

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        return self.service.fix(req, ticket)

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        return self.service.stream_fix(req, ticket)


class EditHandler(GenerationHandler):
    request_model, kind = EditRequest, "edit"

    def call(self, req: Any, ticket: Ticket) -> Awaitable[BaseModel]:
        return self.service.edit(req, ticket)

    def stream(self, req: Any, ticket: Ticket) -> Awaitable[Events]:
        return self.service.stream_edit(req, ticket)


class CancelHandler(CodegenHandler):
    kind = "cancel"

    @web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            req = self.read_request(CancelRequest)
            self.finish(json.dumps({"cancelled": self.service.cancel(req.request_id)}))
        except Exception as exc:
            self.reply_error(exc)


class OpenAPIHandler(_APIHandler):
    """``GET /jupyter-codegen/openapi.json``: the API's OpenAPI document, the one
    kept in the package (:mod:`jupyter_codegen.api.openapi`). Under a base URL
    other than ``/`` (JupyterHub), ``servers`` names it."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        document = dict(_openapi_document())
        base = self.base_url.rstrip("/")
        if base:
            document["servers"] = [{"url": base}]
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document))


@functools.cache
def _openapi_document() -> dict[str, Any]:
    return openapi.load()
