"""Start llama.cpp's llama-server on a GGUF for a benchmark (stdlib only)."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path


@contextlib.contextmanager
def start_llama_server(
    binary: str, gguf: str, threads: int, ctx: int, port: int, extra: Sequence[str] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``binary`` on ``gguf`` (served under a name without "coder", as ``-m``
    without ``--alias`` serves it) until the block ends; yield its base URL
    and process. ``--slot-save-path`` is set so that slots can be erased."""
    work = Path(tempfile.mkdtemp(prefix="llama-server-"))
    model = work / "qwen-1.5b-q4km.gguf"
    model.symlink_to(Path(gguf).resolve())
    command = [binary, "-m", str(model), "-t", str(threads)]
    command += ["-c", str(ctx), "--port", str(port), "--slot-save-path", str(work), *extra]
    print(f"llama-server: {' '.join(command)}", flush=True)
    log = open(work / "llama-server.log", "wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"llama-server exited with {proc.returncode}: see {log.name}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/health", timeout=2):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"llama-server did not start: see {log.name}")
            time.sleep(0.5)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
