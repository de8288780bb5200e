"""The server extension: the route table over a service built from the
configuration (:mod:`jupyter_codegen.config`), and its lifecycle."""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop

from jupyter_codegen.config import CodegenConfig
from jupyter_codegen.env import TOKEN_ENV, URL_ENV
from jupyter_codegen.server.handlers import (
    CancelHandler,
    CompleteHandler,
    EditHandler,
    ExplainHandler,
    FixHandler,
    GenerateHandler,
    OpenAPIHandler,
    StatusHandler,
)
from jupyter_codegen.server.prefetch_handlers import (
    EditPrefetchHandler,
    ExplainPrefetchHandler,
    FixPrefetchHandler,
    PrefetchHandler,
)

NAMESPACE = "jupyter-codegen"


class CodegenApp(CodegenConfig, ExtensionApp):
    """Hosts one code model in the Jupyter server for completions and
    explanations. Its settings are :class:`~jupyter_codegen.config.CodegenConfig`'s,
    set as ``c.CodegenApp.<name>``."""

    name = "jupyter_codegen"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        self.service = self.build_service(freeze_heap=True)
        self.host = self.service.host
        if self.load_on_start:
            self.host.start_loading()
        # The server binds its port (which may differ from the one configured)
        # after the extensions load: export its address once the loop runs.
        IOLoop.current().add_callback(self._export_for_kernels)

    def _export_for_kernels(self) -> None:
        """Kernels inherit the server's environment: tell them where this server
        is, so that the magics use its loaded model instead of loading another."""
        server = self.serverapp
        assert server is not None
        self._exported: dict[str, str] = {URL_ENV: server.connection_url}
        token = getattr(server.identity_provider, "token", "")
        if token:
            self._exported[TOKEN_ENV] = token
        os.environ.update(self._exported)

    def initialize_handlers(self) -> None:
        deps = {"service": self.service, "max_request_bytes": self.max_request_bytes}
        self.handlers.extend(
            [
                (f"/{NAMESPACE}/status", StatusHandler, deps),
                (f"/{NAMESPACE}/complete", CompleteHandler, deps),
                (f"/{NAMESPACE}/explain", ExplainHandler, deps),
                (f"/{NAMESPACE}/generate", GenerateHandler, deps),
                (f"/{NAMESPACE}/fix", FixHandler, deps),
                (f"/{NAMESPACE}/edit", EditHandler, deps),
                (f"/{NAMESPACE}/prefetch", PrefetchHandler, deps),
                (f"/{NAMESPACE}/prefetch/fix", FixPrefetchHandler, deps),
                (f"/{NAMESPACE}/prefetch/edit", EditPrefetchHandler, deps),
                (f"/{NAMESPACE}/prefetch/explain", ExplainPrefetchHandler, deps),
                (f"/{NAMESPACE}/cancel", CancelHandler, deps),
            ]
        )
        self.handlers.append((f"/{NAMESPACE}/openapi.json", OpenAPIHandler))

    async def stop_extension(self) -> None:
        self.service.shutdown()
        for key, value in getattr(self, "_exported", {}).items():
            if os.environ.get(key) == value:
                del os.environ[key]
