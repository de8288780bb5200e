"""Does a heavy request stall the Jupyter server's event loop, or swell it?

Starts a server on a model, waits until it is ready, then for each case sends
one request (``max_tokens`` 1) while a poller calls ``GET /api/status`` every
20 ms, and prints the slowest status answer seen while the request was in
flight, and the server's peak RSS after it. Everything a request costs before
the model runs (reading the body, parsing, context selection, tokenization,
the parse gate) shows here when it runs on the event loop. The last case
promises and sends a 400 MB body, which must be refused before it is read.

    python benchmarks/stall.py                       # embedded 1.5B
    PYTHONPATH=/path/to/older/checkout python benchmarks/stall.py   # to compare
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import start_server
from machine import cpu_model


def call(url: str, token: str, path: str, body: dict | None = None, timeout: float = 600) -> dict:
    req = urllib.request.Request(
        f"{url}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return dict(json.loads(resp.read()))


def big_cell(chars: int) -> str:
    line = "result_{i} = transform(data[{i}], scale={i} * 0.5, name='column_{i}')\n"
    out, i = [], 0
    while sum(map(len, out)) < chars:
        out.append(line.format(i=i))
        i += 1
    return "".join(out)


CELL_900 = big_cell(900)
CELL_1_9_MB = big_cell(1_900_000)
#: name -> (endpoint, body)
CASES: dict[str, tuple[str, dict]] = {
    "1 MB active cell": ("complete", {"prefix": big_cell(1_000_000) + "total = ", "suffix": "\n"}),
    "2,000 cells of 900 B": (
        "complete",
        {
            "prefix": "summary = ",
            "cells_before": [
                {"cell_type": "code", "source": CELL_900.replace("result_", f"r{k}_")}
                for k in range(2000)
            ],
        },
    ),
    "explain a 1.9 MB cell": ("explain", {"code": CELL_1_9_MB}),
    "explain beside a 1.9 MB cell": (
        "explain",
        {
            "code": "total = sum(values)",
            "cells_before": [{"cell_type": "code", "source": CELL_1_9_MB}],
        },
    ),
    "10,000 cells": (
        "complete",
        {
            "prefix": "x = ",
            "cells_before": [{"cell_type": "code", "source": f"v{k} = {k}"} for k in range(10_000)],
        },
    ),
}
#: The body the last case promises and sends.
HUGE_BODY = 400 * 1024 * 1024


def send_huge(url: str, token: str) -> int:
    """POST a 400 MB body, in 1 MB pieces as the server takes them; its status."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    conn.putrequest("POST", f"{parts.path}/jupyter-codegen/complete")
    conn.putheader("Authorization", f"token {token}")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(HUGE_BODY))
    conn.endheaders()
    piece = b'{"prefix": "' + b"x" * (1024 * 1024 - 12)
    try:
        for _ in range(HUGE_BODY // len(piece)):
            conn.send(piece)
    except OSError:
        pass  # the server answered and closed: the rest was never read
    try:
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def measure(url: str, token: str, route: str, body: dict | None) -> tuple[float, float, int]:
    """(slowest /api/status answer in s, the request's time in s, its HTTP status);
    ``body`` None: the 400 MB body."""
    worst = [0.0]
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            started = time.perf_counter()
            call(url, token, "api/status", timeout=120)
            worst[0] = max(worst[0], time.perf_counter() - started)
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    started = time.perf_counter()
    status = 200
    try:
        if body is None:
            status = send_huge(url, token)
        else:
            call(url, token, f"jupyter-codegen/{route}", {**body, "max_tokens": 1})
    except urllib.error.HTTPError as exc:
        status = exc.code
    elapsed = time.perf_counter() - started
    time.sleep(0.2)
    done.set()
    poller.join()
    return worst[0], elapsed, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    token = secrets.token_hex(16)
    proc, url = start_server(args.model, token)
    try:
        deadline = time.monotonic() + 900
        while True:
            try:
                if call(url, token, "jupyter-codegen/status")["state"] == "ready":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the server did not become ready")
            time.sleep(1)
        import jupyter_codegen

        print(f"jupyter_codegen from {Path(jupyter_codegen.__file__).parent}")
        print(f"CPU: {cpu_model()}")
        cases: list[tuple[str, str, dict | None]] = [(n, r, b) for n, (r, b) in CASES.items()]
        cases.append(("a 400 MB body", "complete", None))
        for name, route, body in cases:
            size = HUGE_BODY if body is None else len(json.dumps(body))
            for attempt in range(args.repeat):
                worst, elapsed, status = measure(url, token, route, body)
                memory = call(url, token, "jupyter-codegen/status").get("memory", {})
                print(
                    f"{name} ({size / 1e6:.1f} MB body), try {attempt + 1}: HTTP {status} in "
                    f"{elapsed:.2f} s; slowest GET /api/status meanwhile {1000 * worst:.0f} ms; "
                    f"server RSS {memory.get('rss_bytes', 0) / 2**20:.0f} MiB, "
                    f"peak {memory.get('peak_rss_bytes', 0) / 2**20:.0f} MiB",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
