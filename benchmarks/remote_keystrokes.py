"""Typing through the remote engine on llama-server, against the local engine,
on the same tasks (issue 24).

The keystroke replay of ``benchmarks/keystrokes.py`` (a masked line in a real
notebook: a cold request, then one per typed character) goes to two services
in this process, task by task, one after the other, through
``CodegenService.stream_complete`` (the server's code path):

- **local**: the local engine (the embedded 1.5B by default, its CPU defaults);
- **remote**: the remote engine on llama.cpp's llama-server serving the same
  model as a GGUF (Q4_K_M), ``-c 4096``: started here (``--llama-server``,
  ``--gguf``; under a name without "coder", as ``-m`` without ``--alias``
  serves it) or already running (``--url``).

Before each task both start cold: the local prompt cache is cleared and
llama-server's slots are erased. It prints the CPU model, what the remote
engine read from the server (context, family, prefill speed, its budget),
each engine's budget, a p50/p90 table per engine and phase with the prompt
reuse each reports, the errors, and the ratios remote / local, for every
keystroke and for those the frontend sends (it answers a keystroke that types
the start of the suggestion on screen itself). On the other keystrokes the
local engine verifies the rest of its previous suggestion as a draft, and the
remote engine, which cannot, continues it (``--baseline`` adds the remote
engine that has the server write every reply whole). Timings need the machine
to themselves: run it alone.

    python benchmarks/remote_keystrokes.py --llama-server "$(which llama-server)" \\
        --gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
    python benchmarks/remote_keystrokes.py --url http://127.0.0.1:8080/v1   # a running one
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # evals/ is not installed

from benchmarks.keystrokes import (  # noqa: E402
    frontend_sends,
    load,
    ours,
    pct,
    table,
    typed_requests,
)
from benchmarks.llama import start_llama_server  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from evals import notebooks  # noqa: E402
from jupyter_codegen.server.app import CodegenApp  # noqa: E402

#: The typing requests that the frontend sends (the others it answers itself).
SENT = "typing, sent by the frontend"


@contextlib.contextmanager
def llama_server(args: argparse.Namespace) -> Iterator[str]:
    """Start llama-server (or take ``--url``) and yield its OpenAI base URL."""
    if args.url:
        yield args.url
        return
    extra = args.llama_args.split()
    with start_llama_server(
        args.llama_server, args.gguf, args.threads, args.ctx, args.port, extra
    ) as (base, _):
        yield f"{base}/v1"


def erase_slots(url: str, slots: int) -> bool:
    """Empty llama-server's prompt caches (POST /slots/N?action=erase)."""
    root = url.removesuffix("/").removesuffix("/v1")
    ok = True
    for slot in range(slots):
        req = urllib.request.Request(f"{root}/slots/{slot}?action=erase", b"{}", method="POST")
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except OSError:
            ok = False
    return ok


def service(**traits: Any) -> tuple[Any, float]:
    """A loaded service, and its loading time (s)."""
    return load(CodegenApp(**traits))


async def replay(args: argparse.Namespace, url: str) -> int:
    import torch

    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); {args.threads} threads each", flush=True)
    nbs = notebooks.load_notebooks(args.cache / "wheels")
    kinds = {"line-start": args.tasks - args.tasks // 2, "mid-line": args.tasks // 2, "block": 0}
    tasks = notebooks.build_tasks(nbs, kinds, args.seed)
    budget = {"context_tokens": args.context_tokens} if args.context_tokens else {}
    loaded = {
        "local": service(model=args.model, device="cpu", **budget),
        "remote": service(remote_url=url, **budget),
    }
    if args.baseline:  # the remote engine that writes every reply whole (as before)
        loaded["remote, not continuing"] = service(remote_url=url, draft_tokens=0, **budget)
    services = {who: svc for who, (svc, _) in loaded.items()}
    for who, (svc, load_s) in loaded.items():
        info = svc.host.ready_engine().info()
        used = svc.prompt_budget()
        print(
            f"{who}: {info.model} ({info.device}, {info.dtype}), family {info.family} from "
            f"{info.family_source}; loaded in {load_s:.1f} s; budget {used.total} tokens, "
            f"{used.suffix} after the cursor",
            flush=True,
        )
    remote = services["remote"].host.ready_engine().info().extra
    remotes = [who for who in services if who != "local"]
    print(f"remote engine read: {json.dumps(remote['server'])}")
    print(f"remote budget: {json.dumps(remote['budget'])}", flush=True)
    slots = int(remote["server"].get("slots") or 1)
    phases = ("cold", "typing", SENT)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {
        (who, phase): [] for who in services for phase in phases
    }
    errors: dict[str, list[str]] = {who: [] for who in services}
    erased = True
    for t, task in enumerate(tasks):
        steps = typed_requests(task, args.max_chars)
        for who, svc in services.items():
            if who == "local":
                svc.host.ready_engine().prompt_cache.clear()
            else:
                erased = erase_slots(url, slots) and erased
            shown: tuple[str, str] | None = None
            for k, (prefix, suffix) in enumerate(steps):
                body = task.as_request(args.max_tokens) | {"prefix": prefix, "suffix": suffix}
                body["path"] = task.id
                try:
                    row = await ours(svc, body)
                except Exception as exc:  # counted and shown; the replay goes on
                    errors[who].append(f"{type(exc).__name__}: {str(exc)[:160]}")
                    continue
                rows[(who, "cold" if k == 0 else "typing")].append(row)
                # The frontend sends only the keystrokes that its suggestion on
                # screen does not answer (keystrokes.py, frontend_sends).
                if k == 0 or frontend_sends(shown, prefix):
                    if k > 0:
                        rows[(who, SENT)].append(row)
                    shown = (prefix, row["text"])
        line = []
        for who in services:
            typing = rows[(who, "typing")][-(len(steps) - 1) :]
            line.append(f"{who} typing p50 {pct([r['total_s'] for r in typing], 0.5):.2f} s")
        print(f"[{t + 1}/{len(tasks)}] {len(steps) - 1:2} keys; {'; '.join(line)}; {task.id}")
    print()
    print(table(rows))
    if not erased:
        print("(llama-server's slots could not be erased: its cold requests may be warm)")
    for who, errs in errors.items():
        print(f"{who} errors: {len(errs)}" + "".join(f"\n  {e}" for e in errs[:5]))
    for who in remotes:
        for phase in ("typing", SENT, "cold"):
            local = [r["total_s"] for r in rows[("local", phase)]]
            remote_s = [r["total_s"] for r in rows[(who, phase)]]
            if local and remote_s:
                ratio = statistics.median(remote_s) / statistics.median(local)
                target = " (target <= 1.5)" if phase.startswith("typing") else ""
                print(f"{phase} p50 {who} / local: {ratio:.2f}{target}")
    for who in services:
        typing = rows[(who, "typing")]
        drafted = sum(r.get("drafted_tokens", 0) for r in typing)
        generated = sum(r["generated_tokens"] for r in typing)
        how = "verified as drafts" if who == "local" else "continued, not generated again"
        print(
            f"{who}: {100 * drafted / max(1, generated):.0f}% of the typing tokens came from "
            f"the last suggestion ({how}); the frontend would have sent "
            f"{len(rows[(who, SENT)])} of {len(typing)} typing requests"
        )
    for svc in services.values():
        svc.host.shutdown()
    return 1 if any(errors.values()) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running llama-server's OpenAI base URL (…/v1)")
    p.add_argument("--llama-server", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_SERVER"))
    p.add_argument("--gguf", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_GGUF"))
    p.add_argument(
        "--llama-args",
        default=os.environ.get("JUPYTER_CODEGEN_LLAMA_ARGS", ""),
        help="more llama-server arguments (e.g. --no-repack where AMX is not allowed)",
    )
    p.add_argument("--ctx", type=int, default=4096, help="llama-server's -c")
    p.add_argument("--port", type=int, default=18480)
    p.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct", help="local engine")
    p.add_argument("--threads", type=int, default=2, help="torch's and llama-server's")
    p.add_argument("--context-tokens", type=int, default=0, help="0: each engine's own budget")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--tasks", type=int, default=12)
    p.add_argument("--max-chars", type=int, default=24, help="typed characters per task")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--baseline",
        action="store_true",
        help="also the remote engine with draft_tokens 0: every reply written whole by the server",
    )
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/jupyter-codegen/evals").expanduser()
    )
    args = p.parse_args(argv)
    if not args.url and not (args.llama_server and args.gguf):
        p.error("give --url, or --llama-server and --gguf")
    with llama_server(args) as url:
        return asyncio.run(replay(args, url))


if __name__ == "__main__":
    raise SystemExit(main())
