"""A burst of concurrent requests against a running jupyter-codegen: how many
are admitted (run or queued) and how many are turned away with 429.

Starts a Jupyter server with the extension on the chosen model (the tiny
test model by default: admission does not depend on the model), waits for it
to load, then sends N completion requests at the same moment, plain or
streamed, and prints what came back:

    python benchmarks/burst.py                 # 30 plain, then 30 streamed
    python benchmarks/burst.py --n 50 --model DIR
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

from tornado.simple_httpclient import SimpleAsyncHTTPClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import start_server

BODY = {
    "prefix": "def average(nums):\n    total = 0\n    for n in nums:\n        ",
    "suffix": "\n    return total / len(nums)\n",
    "max_tokens": 32,
}


async def status(client: SimpleAsyncHTTPClient, url: str, headers: dict) -> dict:
    resp = await client.fetch(url + "status", headers=headers, raise_error=False)
    return json.loads(resp.body) if resp.code == 200 else {}


async def burst(url: str, token: str, n: int, stream: bool) -> dict:
    client = SimpleAsyncHTTPClient(force_instance=True, max_clients=n + 8)
    headers = {"Authorization": f"token {token}"}
    before = (await status(client, url, headers))["requests"]
    body = json.dumps({**BODY, "stream": stream})

    async def one() -> tuple[int, str, bool]:
        resp = await client.fetch(
            url + "complete",
            method="POST",
            body=body,
            headers=headers,
            raise_error=False,
            request_timeout=600,
        )
        kind = resp.headers.get("Content-Type", "").split(";")[0]
        in_band_error = b"event: error" in (resp.body or b"")
        return resp.code, kind, in_band_error

    peak_queued = 0

    async def watch() -> None:
        nonlocal peak_queued
        while True:
            queued = (await status(client, url, headers))["requests"]["queued"]
            peak_queued = max(peak_queued, queued)
            await asyncio.sleep(0.02)

    watcher = asyncio.ensure_future(watch())
    results = await asyncio.gather(*(one() for _ in range(n)))
    watcher.cancel()
    after = (await status(client, url, headers))["requests"]
    client.close()
    codes = collections.Counter(f"{code} {kind}" for code, kind, _ in results)
    return {
        "stream": stream,
        "replies": dict(codes),
        "in_band_errors": sum(err for *_, err in results),
        "peak_queued_seen": peak_queued,
        "rejected_busy": after["rejected_busy"] - before["rejected_busy"],
        "completed": after["completed"] - before["completed"],
    }


async def run(url: str, token: str, n: int) -> None:
    for stream in (False, True):
        print(json.dumps(await burst(url, token, n, stream)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--model", help="model spec (default: a tiny random test model)")
    args = parser.parse_args()
    model = args.model
    if model is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from tiny_model import build_tiny_model

        model = str(build_tiny_model(Path(tempfile.mkdtemp(prefix="tiny-"))))
    token = secrets.token_hex(16)
    proc, base = start_server(model, token)
    url = base + "/jupyter-codegen/"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                client = SimpleAsyncHTTPClient(force_instance=True)
                got = asyncio.run(status(client, url, {"Authorization": f"token {token}"}))
            except OSError:
                got = {}
            if got.get("state") == "ready":
                break
            if got.get("state") == "error" or time.monotonic() > deadline:
                sys.exit(f"the model did not load: {got}")
            time.sleep(0.5)
        asyncio.run(run(url, token, args.n))
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
