"""The prefetch handlers: a request's prompt computed ahead of time, as
background work (a ticket only while the model is idle; any other request
stops it). Thin, as the others in :mod:`handlers`."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.decorator import authorized
from pydantic import BaseModel
from tornado import web

from jupyter_codegen.api.schemas import (
    CompleteRequest,
    EditPrefetchRequest,
    ExplainRequest,
    FixRequest,
    PrefetchReply,
)
from jupyter_codegen.server.handlers import CodegenHandler
from jupyter_codegen.service.host import Ticket


class PrefetchHandler(CodegenHandler):
    """``POST /prefetch``: a completion request's prompt, computed ahead of the
    first keystroke at low priority; ``{"prefetched": false}`` when busy."""

    request_model: type[BaseModel] = CompleteRequest
    kind = "prefetch"

    def prefetch(self, req: Any, ticket: Ticket | None) -> Awaitable[PrefetchReply]:
        return self.service.prefetch(req, ticket)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Parse the request, take a background ticket (None while the model
        is busy) and run the prefetch."""
        try:
            req = self.read_request(self.request_model)
            self._ticket = self.service.background_ticket(req.request_id, self.kind)
            self.finish((await self.prefetch(req, self._ticket)).model_dump_json())
        except Exception as exc:
            if self._ticket is not None:
                self.service.release(self._ticket)
            self.reply_error(exc)


class FixPrefetchHandler(PrefetchHandler):
    """``POST /prefetch/fix``: a fix request's prompt, computed when the error
    appears, before the Fix button is clicked; as ``/prefetch``."""

    request_model, kind = FixRequest, "prefetch_fix"

    def prefetch(self, req: Any, ticket: Ticket | None) -> Awaitable[PrefetchReply]:
        return self.service.prefetch_fix(req, ticket)


class EditPrefetchHandler(PrefetchHandler):
    """``POST /prefetch/edit``: an edit request's prompt, computed while its
    instruction is typed; as ``/prefetch``."""

    request_model, kind = EditPrefetchRequest, "prefetch_edit"

    def prefetch(self, req: Any, ticket: Ticket | None) -> Awaitable[PrefetchReply]:
        return self.service.prefetch_edit(req, ticket)


class ExplainPrefetchHandler(PrefetchHandler):
    """``POST /prefetch/explain``: an explanation's prompt, computed for the
    active cell once its completion prefetch is done; as ``/prefetch``."""

    request_model, kind = ExplainRequest, "prefetch_explain"

    def prefetch(self, req: Any, ticket: Ticket | None) -> Awaitable[PrefetchReply]:
        return self.service.prefetch_explain(req, ticket)
