"""Concurrent notebook sessions through the remote engine, against one inference server.

Each simulated session is what one user's Jupyter server does on a JupyterHub: its own
service and model host (one generation at a time, as by default) over the remote engine,
sending streamed completions with a notebook's context (tree-sitter context selection,
FIM prompt, early stopping and clean-up included), with a pause between requests. All
sessions run in this one process.

First, with one session, it measures what the remote engine adds over a direct call to
the same server: the same prompt, streamed, with early stopping off so that both generate
the same tokens. Then it runs the sessions at once and prints p50/p95 per request.

    python benchmarks/remote_sessions.py --url http://127.0.0.1:8000/v1            # 32
    python benchmarks/remote_sessions.py --url http://vllm:8000/v1 --sessions 32 \\
        --model Qwen/Qwen2.5-Coder-7B-Instruct --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import CURSORS, SETUP_CELLS, percentile
from machine import cpu_model

from jupyter_codegen.api.schemas import CompleteRequest
from jupyter_codegen.completion.pipeline import CompletionOptions
from jupyter_codegen.engine.remote.engine import RemoteEngine, RemoteSettings, load_remote
from jupyter_codegen.service.host import ModelHost
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.service import CodegenService


@dataclass
class Sample:
    total_ms: float
    first_ms: float | None
    prompt_tokens: int = 0
    generated_tokens: int = 0


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


def completion_body(i: int, max_tokens: int) -> dict[str, Any]:
    prefix, suffix = CURSORS[i % len(CURSORS)]
    cells = [{"cell_type": t, "source": s} for t, s in SETUP_CELLS]
    return {"prefix": prefix, "suffix": suffix, "cells_before": cells, "max_tokens": max_tokens}


def session(settings: RemoteSettings, *, early_stop: bool = True) -> CodegenService:
    return session_over(load_remote(settings, lambda message: None), early_stop=early_stop)


def session_over(engine: Any, *, early_stop: bool = True) -> CodegenService:
    """One user's service and host (one generation at a time) over ``engine``."""
    host = ModelHost(engine.info().model, lambda progress: engine)
    host.start_loading()
    host.wait_loaded()
    return CodegenService(
        host, ServiceLimits(completion_max_tokens=4096), CompletionOptions(early_stop=early_stop)
    )


async def through_engine(service: CodegenService, body: dict[str, Any]) -> Sample:
    req = CompleteRequest.model_validate(body)
    t0 = time.monotonic()
    first = None
    done: dict[str, Any] = {}
    events = await service.stream_complete(req, service.ticket(None, "complete"))
    async for name, data in events:
        if name == "completion" and first is None and data["text"]:
            first = time.monotonic()
        elif name == "done":
            done = data
    total = time.monotonic() - t0
    timings = done.get("timings", {})
    return Sample(
        total * 1000,
        (first - t0) * 1000 if first else None,
        int(timings.get("prompt_tokens", 0)),
        int(timings.get("generated_tokens", 0)),
    )


def direct(service: CodegenService, settings: RemoteSettings, body: dict[str, Any]) -> Sample:
    """The request the remote engine would send, sent with urllib and read to the end."""
    req = CompleteRequest.model_validate(body)
    gen = service.prepare(req).generation  # the engine's own prompt
    engine = service.host.ready_engine()
    assert isinstance(engine, RemoteEngine)
    payload = {
        "model": engine.model,
        "prompt": engine.guard.render(gen.segments),
        "max_tokens": gen.max_new_tokens,
        "temperature": gen.temperature,
        "stop": list(gen.stop_tokens[:4]),
        "stream": True,
    }
    headers = {"Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    request = urllib.request.Request(
        settings.url.rstrip("/") + "/completions", json.dumps(payload).encode(), headers
    )
    t0 = time.monotonic()
    first = None
    pieces = tokens = 0
    with urllib.request.urlopen(request, timeout=600) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[5:])
            usage = chunk.get("usage") or {}
            tokens = usage.get("completion_tokens") or tokens
            choices = chunk.get("choices") or [{}]
            if choices[0].get("text"):
                pieces += 1
                if first is None:
                    first = time.monotonic()
    total = time.monotonic() - t0
    return Sample(total * 1000, (first - t0) * 1000 if first else None, 0, tokens or pieces)


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<22} (none)"
    return (
        f"{name:<22} p50 {percentile(values, 0.5):7.0f}  p95 {percentile(values, 0.95):7.0f}"
        f"  max {max(values):7.0f}  (n={len(values)})"
    )


async def overhead(settings: RemoteSettings, n: int, max_tokens: int) -> None:
    service = session(settings, early_stop=False)
    engine_s, direct_s = [], []
    for i in range(n):
        body = completion_body(i, max_tokens)
        direct_s.append(await asyncio.to_thread(direct, service, settings, body))
        engine_s.append(await through_engine(service, body))
    print(f"\n-- added latency, one session, {n} requests each way, early stop off --")
    for label, samples in (("direct", direct_s), ("remote engine", engine_s)):
        print(summary(f"{label} total ms", [s.total_ms for s in samples]))
        firsts = [s.first_ms for s in samples if s.first_ms is not None]
        print(summary(f"{label} first ms", firsts))
    added = [e.total_ms - d.total_ms for e, d in zip(engine_s, direct_s, strict=True)]
    p50 = percentile([s.total_ms for s in engine_s], 0.5) - percentile(
        [s.total_ms for s in direct_s], 0.5
    )
    print(f"added by the engine    {statistics.median(added):+.1f} ms (median of differences)")
    print(f"                       {p50:+.1f} ms (p50 engine - p50 direct)")
    same = sum(
        e.generated_tokens == d.generated_tokens for e, d in zip(engine_s, direct_s, strict=True)
    )
    print(f"same token count       {same} of {n} (from the server's usage, else chunks)")


async def load(
    make_session: Any, sessions: int, requests: int, max_tokens: int, think: float
) -> Results:
    services = await asyncio.gather(*(asyncio.to_thread(make_session) for _ in range(sessions)))
    results = Results()

    async def user(k: int, service: CodegenService) -> None:
        await asyncio.sleep(think * k / sessions)  # stagger the starts
        for i in range(requests):
            try:
                results.samples.append(
                    await through_engine(service, completion_body(k + i, max_tokens))
                )
            except Exception as exc:  # counted and shown, the session goes on
                key = f"{type(exc).__name__}: {str(exc)[:120]}"
                results.errors[key] = results.errors.get(key, 0) + 1
            await asyncio.sleep(think)

    t0 = time.monotonic()
    await asyncio.gather(*(user(k, s) for k, s in enumerate(services)))
    wall = time.monotonic() - t0
    samples = results.samples
    print(f"\n-- {sessions} concurrent sessions x {requests} completions, think {think} s --")
    print(summary("per request total ms", [s.total_ms for s in samples]))
    print(summary("first text ms", [s.first_ms for s in samples if s.first_ms is not None]))
    if samples:
        print(
            f"prompt tokens          median {statistics.median(s.prompt_tokens for s in samples)}"
        )
        gen = statistics.mean(s.generated_tokens for s in samples)
        print(f"generated tokens       mean {gen:.1f} (early stop on)")
    print(f"throughput             {len(samples) / wall:.2f} requests/s over {wall:.1f} s")
    print(f"errors                 {sum(results.errors.values())}")
    for key, count in sorted(results.errors.items()):
        print(f"  {count} x {key}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="the server's OpenAI base URL (…/v1)")
    parser.add_argument(
        "--local",
        metavar="MODEL",
        help="instead of a server: one local engine (e.g. 'embedded') shared by the sessions, "
        "each with its own host, as users of one Jupyter server would share it",
    )
    parser.add_argument("--device", default="auto", help="with --local: the torch device")
    parser.add_argument("--model", help="the served model's name (default: the first listed)")
    parser.add_argument("--api-key", default=os.environ.get("JUPYTER_CODEGEN_API_KEY"))
    parser.add_argument("--tokenizer", help="the family's tokenizer.json, for exact counts")
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5, help="completions per session")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--think", type=float, default=0.5, help="pause between requests (s)")
    parser.add_argument(
        "--overhead", type=int, default=20, help="requests each way for the added latency (0: skip)"
    )
    parser.add_argument("--read-timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.local:
        from jupyter_codegen.server.app import CodegenApp

        host = CodegenApp(model=args.local, device=args.device).build_service().host
        host.start_loading()
        host.wait_loaded()
        engine = host.ready_engine()
        info = engine.info()
        print(f"cpu                    {cpu_model()} ({os.cpu_count()} cores)")
        print(f"local engine           {info.model} on {info.device} ({info.dtype})")
        results = asyncio.run(
            load(
                lambda: session_over(engine),
                args.sessions,
                args.requests,
                args.max_tokens,
                args.think,
            )
        )
        sys.exit(1 if results.errors and not results.samples else 0)
    if not args.url:
        parser.error("give --url (an inference server) or --local (a local engine)")
    settings = RemoteSettings(
        url=args.url,
        model=args.model,
        api_key=args.api_key,
        read_timeout=args.read_timeout,
        tokenizer_file=args.tokenizer,
    )
    probe = session(settings).host.ready_engine().info()
    print(f"cpu                    {cpu_model()} ({os.cpu_count()} cores)")
    print(f"server                 {probe.extra['remote']}")
    print(f"model                  {probe.model}; tokens: {probe.extra['token_count']}")
    if args.overhead:
        asyncio.run(overhead(settings, args.overhead, args.max_tokens))
    results = asyncio.run(
        load(lambda: session(settings), args.sessions, args.requests, args.max_tokens, args.think)
    )
    sys.exit(1 if results.errors and not results.samples else 0)


if __name__ == "__main__":
    main()
