"""Clients of the model service for code that runs in a kernel (the magics).

:class:`ServerClient` talks to the Jupyter server that launched the kernel,
so the kernel never loads a model of its own. :class:`InProcessClient` loads
the engine in this process when there is no such server (plain IPython,
nbconvert, papermill, a kernel on another host). Neither module imports torch
at import time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
import urllib.error
import urllib.request
from typing import Any, Protocol

from jupyter_codegen.env import HUB_TOKEN_ENV, TOKEN_ENV, URL_ENV
from jupyter_codegen.errors import describe, expected, user_message


class CodegenError(RuntimeError):
    """A request that did not produce a result; the message is for the user."""


class Client(Protocol):
    where: str

    def status(self) -> dict[str, Any]: ...

    def generate(self, body: dict[str, Any]) -> dict[str, Any]: ...

    def explain(self, body: dict[str, Any]) -> dict[str, Any]: ...


class ServerClient:
    """HTTP client of a running jupyter-codegen server extension."""

    def __init__(self, url: str, token: str | None, timeout: float = 600.0):
        self.url = url.rstrip("/") + "/"
        self.token = token
        self.timeout = timeout
        self.where = f"the Jupyter server at {self.url}"

    def _call(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        req = urllib.request.Request(
            self.url + "jupyter-codegen/" + route,
            data=json.dumps(body).encode() if body is not None else None,
            headers=headers,
            method="POST" if body is not None else "GET",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            raise CodegenError(_http_message(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            raise CodegenError(f"Could not reach {self.where}: {exc}") from None

    def status(self) -> dict[str, Any]:
        return self._call("status")

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("generate", body)

    def explain(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("explain", body)


def _http_message(exc: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(exc.read()).get("message") or exc.reason
    except (ValueError, OSError):
        message = exc.reason
    return user_message(exc.code, str(message))


class InProcessClient:
    """Loads the engine in this process, configured like the server extension
    (the same jupyter_server config files and JUPYTER_CODEGEN_MODEL)."""

    where = "a model loaded in this process"

    def __init__(self) -> None:
        from jupyter_codegen.config import from_config_files

        self.service = from_config_files().build_service()
        self.service.host.start_loading()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="codegen-inproc", daemon=True).start()

    def _run(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        from jupyter_codegen.api.schemas import ExplainRequest, GenerateRequest, parse_request

        service = self.service
        service.host.wait_loaded()
        try:
            model = GenerateRequest if kind == "generate" else ExplainRequest
            req = parse_request(model, body)
            tickets: list[Any] = []

            async def call() -> Any:
                # On the service's loop: the host's bookkeeping has one thread.
                ticket = service.ticket(None, kind)
                tickets.append(ticket)
                run = service.generate if kind == "generate" else service.explain
                return await run(req, ticket)

            future = asyncio.run_coroutine_threadsafe(call(), self._loop)
            try:
                reply = _wait(future)
            except BaseException:  # Ctrl-C in the kernel: stop the generation too
                for ticket in tickets:
                    ticket.cancel()
                future.cancel()
                raise
        except Exception as exc:
            if not expected(exc):
                raise
            reply = describe(exc)
            raise CodegenError(user_message(reply.status, reply.message)) from None
        return dict(reply.model_dump())

    def status(self) -> dict[str, Any]:
        return self.service.status()

    def generate(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._run("generate", body)

    def explain(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._run("explain", body)


def _wait(future: concurrent.futures.Future[Any]) -> Any:
    """The future's result, waited for in short steps so that Ctrl-C (SIGINT,
    whichever thread the signal lands on) interrupts the wait promptly."""
    while True:
        try:
            return future.result(timeout=0.1)
        except concurrent.futures.TimeoutError:
            continue


def connect() -> Client | None:
    """A client of the Jupyter server that launched this kernel, if there is one."""
    url = os.environ.get(URL_ENV)
    if not url:
        return None
    token = os.environ.get(TOKEN_ENV) or os.environ.get(HUB_TOKEN_ENV)
    return ServerClient(url, token)
