"""Ghost text against llama.cpp: the typing replay of ``keystrokes.py`` sent to
our engine and to ``llama-server`` on the same GGUF, in one run.

llama.cpp is prompted as the best notebook peer: every cell before the cursor
as the FIM prefix and every cell after it as the suffix (markdown as comments,
cells joined by a blank line), sent to ``/infill`` with ``cache_prompt``.
llama-server keeps the last 3/4 of a batch of the prefix and 1/4 of the
suffix: 1,536 + 512 tokens with its default batch of 2,048. Ours is the
server's code path with its defaults (``CodegenService.stream_complete``).

Task by task, interleaved so that any load on the machine falls on both
alike: the cell's first request is "cold" (ours: the prompt cache cleared;
llama.cpp: its slot erased), then one request per typed character of the
target line. Both stop where our server stops (the same scope rule, applied
to llama.cpp's stream, which is then closed) or at ``--max-tokens``, greedy,
and both answers get our post-processing. First-line exact match and edit
similarity are scored on the cold requests (the completion at the task's
cursor), as ``python -m evals`` scores them.

    python benchmarks/llama_keystrokes.py --llama-server "$(which llama-server)" \\
        --gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf [--llama-args=--no-repack]
    python benchmarks/llama_keystrokes.py ... --tasks 100 --max-chars 0   # quality only

It prints the CPU model, the latency table of both (p50/p90 of the first
text and the whole suggestion, prompt reuse, the deadline hits of ours), the
ratios of ours to llama.cpp, and the scores.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import statistics
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # evals/ is not installed

from benchmarks.keystrokes import (  # noqa: E402
    frontend_sends,
    load,
    ours,
    pct,
    rss_mib,
    table,
    typed_requests,
)
from benchmarks.llama import start_llama_server  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from evals import notebooks  # noqa: E402
from evals.metrics import score  # noqa: E402
from jupyter_codegen.api.schemas import Cell  # noqa: E402
from jupyter_codegen.completion.postprocess import clean_completion  # noqa: E402
from jupyter_codegen.completion.scope import completion_scope  # noqa: E402
from jupyter_codegen.completion.stopping import should_stop  # noqa: E402
from jupyter_codegen.context.cells import SEPARATOR, cell_chunks  # noqa: E402
from jupyter_codegen.server.app import CodegenApp  # noqa: E402


def peer_prompt(task: Any, prefix: str, suffix: str) -> tuple[str, str]:
    """The notebook peer's FIM prefix and suffix: every cell before and after,
    whole; llama-server clips them to its share of the batch."""
    before = cell_chunks([Cell(cell_type=t, source=s) for t, s in task.cells_before], "python")
    after = cell_chunks([Cell(cell_type=t, source=s) for t, s in task.cells_after], "python")
    return (
        "".join(chunk + SEPARATOR for chunk in before) + prefix,
        suffix + "".join(SEPARATOR + chunk for chunk in after),
    )


class LlamaPeer:
    """llama-server's ``/infill``, streamed, stopped where ours stops."""

    def __init__(self, base: str, max_tokens: int):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.max_tokens = max_tokens

    def _post(
        self, path: str, body: dict[str, Any]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            raise SystemExit(f"llama-server {path}: {resp.status} {resp.read()[:500]!r}")
        return conn, resp

    def erase(self) -> None:
        """Nothing of the last notebook stays in the (one) slot's cache."""
        conn, resp = self._post("/slots/0?action=erase", {})
        resp.read()
        conn.close()

    def complete(self, task: Any, prefix: str, suffix: str) -> dict[str, Any]:
        scope = completion_scope(prefix, suffix)
        input_prefix, input_suffix = peer_prompt(task, prefix, suffix)
        body = {
            "input_prefix": input_prefix,
            "input_suffix": input_suffix,
            "prompt": "",
            "n_predict": self.max_tokens,
            "temperature": 0,
            "cache_prompt": True,
            "stream": True,
            "timings_per_token": True,
        }
        started = time.perf_counter()
        first = None
        raw = ""
        timings: dict[str, Any] = {}
        conn, resp = self._post("/infill", body)
        try:
            for line in resp:
                if line.startswith(b"error: "):
                    raise SystemExit(f"llama-server /infill: {line.decode()}")
                if not line.startswith(b"data: "):
                    continue
                chunk = json.loads(line[6:])
                timings = chunk.get("timings") or timings
                raw += chunk.get("content", "")
                # The first text as ours counts it: what the cleaning keeps.
                if first is None and clean_completion(raw, prefix, suffix, scope=scope):
                    first = time.perf_counter() - started
                if chunk.get("stop") or should_stop(raw, prefix, suffix, scope):
                    break
        finally:
            conn.close()  # a closed stream stops llama-server's generation
        total = time.perf_counter() - started
        cached = timings.get("cache_n", 0)
        return {
            "first_s": first if first is not None else total,
            "total_s": total,
            "prompt_tokens": timings.get("prompt_n", 0) + cached,
            "cached_tokens": cached,
            "generated_tokens": timings.get("predicted_n", 0),
            "text": clean_completion(raw, prefix, suffix, scope=scope),
        }


def scores(rows: list[dict[str, Any]]) -> str:
    em = statistics.fmean(r["score"]["exact_match"] for r in rows)
    es = statistics.fmean(r["score"]["edit_similarity"] for r in rows)
    empty = statistics.fmean(r["score"]["empty"] for r in rows)
    return f"exact match {100 * em:.1f}, edit similarity {100 * es:.1f}, empty {100 * empty:.1f}"


def proc_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


async def replay(args: argparse.Namespace, service: Any, peer: LlamaPeer) -> dict[str, Any]:
    nbs = notebooks.load_notebooks(args.cache / "wheels")
    kinds = {"line-start": args.tasks - args.tasks // 2, "mid-line": args.tasks // 2, "block": 0}
    tasks = notebooks.build_tasks(nbs, kinds, args.seed)
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {
        (who, phase): []
        for who in ("ours", "llama.cpp")
        for phase in ("cold", "typing", "typing, sent by the frontend")
    }
    for t, task in enumerate(tasks):
        service.host.ready_engine().prompt_cache.clear()
        peer.erase()
        steps = typed_requests(task, args.max_chars)
        for who in ("ours", "llama.cpp"):
            shown: tuple[str, str] | None = None
            for k, (prefix, suffix) in enumerate(steps):
                if who == "ours":
                    body = task.as_request(args.max_tokens) | {"prefix": prefix, "suffix": suffix}
                    row = await ours(service, body | {"path": task.id})
                else:
                    row = peer.complete(task, prefix, suffix)
                if k == 0:
                    row["score"] = score(row["text"], task.target, task.prefix, task.suffix)
                    row["task"] = task.id
                    rows[(who, "cold")].append(row)
                    shown = (prefix, row["text"])
                    continue
                rows[(who, "typing")].append(row)
                if frontend_sends(shown, prefix):
                    rows[(who, "typing, sent by the frontend")].append(row)
                    shown = (prefix, row["text"])
        line = f"[{t + 1}/{len(tasks)}] {task.kind:10} {len(steps) - 1:2} keys; cold"
        for who in ("ours", "llama.cpp"):
            cold = rows[(who, "cold")][-1]
            line += (
                f" {who} {cold['total_s']:.2f} s ({cold['prompt_tokens']:.0f} tokens, "
                f"EM {cold['score']['exact_match']:.0f})"
            )
        print(f"{line}; {task.id}", flush=True)
    return {"tasks": len(tasks), "rows": rows}


async def run(args: argparse.Namespace) -> int:
    print(f"CPU: {cpu_model()} ({platform.machine()}), {args.threads} threads", flush=True)
    import torch

    torch.set_num_threads(args.threads)
    app = CodegenApp(
        model=args.model,
        context_tokens=args.context_tokens,
        draft_tokens=args.draft_tokens,
        completion_timeout=args.completion_timeout,
    )
    service, load_s = load(app)
    budget = service.prompt_budget()
    print(
        f"ours: {args.model}, loaded in {load_s:.1f} s, budget {budget.total} tokens "
        f"(suffix {budget.suffix}), RSS {rss_mib()[0]:.0f} MiB",
        flush=True,
    )
    # One slot and no prompt cache in host memory: erasing the slot makes a request cold.
    extra = ["-b", str(args.batch), "-np", "1", "--cache-ram", "0", *args.llama_args.split()]
    if args.cache_reuse:
        extra += ["--cache-reuse", str(args.cache_reuse)]
    with start_llama_server(
        args.llama_server, args.gguf, args.threads, args.ctx, args.port, extra
    ) as (base, proc):
        peer = LlamaPeer(base, args.max_tokens)
        result = await replay(args, service, peer)
        llama_rss = proc_rss_mib(proc.pid)
    ours_rss = rss_mib()[0]
    rows = result["rows"]
    print()
    print(table(rows))
    print()
    for who in ("ours", "llama.cpp"):
        print(
            f"{who}, the completion at each task's cursor ({result['tasks']}): "
            + scores(rows[(who, "cold")])
        )
    ratios: dict[str, float] = {}
    for phase in ("cold", "typing", "typing, sent by the frontend"):
        a, b = rows[("ours", phase)], rows[("llama.cpp", phase)]
        if a and b:
            ratios[phase] = statistics.median(r["total_s"] for r in a) / statistics.median(
                r["total_s"] for r in b
            )
    print(
        "ours / llama.cpp, medians of the whole suggestion: "
        + ", ".join(f"{phase} {ratio:.2f}" for phase, ratio in ratios.items())
    )
    every = [r for phase in ("cold", "typing") for r in rows[("ours", phase)]]
    hits = sum(r["deadline"] for r in every)
    print(f"ours: {hits} of {len(every)} requests hit the completion deadline")
    print(f"RSS: ours {ours_rss:.0f} MiB, llama-server {llama_rss:.0f} MiB")
    p90 = {
        who: pct([r["total_s"] for r in rows[(who, "typing")]], 0.9)
        for who in ("ours", "llama.cpp")
    }
    print(f"typing p90: ours {p90['ours']:.2f} s, llama.cpp {p90['llama.cpp']:.2f} s")
    if args.json:
        figures = {
            "cpu": cpu_model(),
            "argv": sys.argv[1:],
            "load_s": load_s,
            "rss_mib": {"ours": ours_rss, "llama.cpp": llama_rss},
            "ratios": ratios,
            "rows": {f"{w}/{p}": v for (w, p), v in rows.items()},
        }
        args.json.write_text(json.dumps(figures, indent=1))
    service.host.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llama-server", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_SERVER"))
    p.add_argument("--gguf", default=os.environ.get("JUPYTER_CODEGEN_GGUF"))
    p.add_argument("--llama-args", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_ARGS", ""))
    p.add_argument("--batch", type=int, default=2048, help="llama-server's batch (-b)")
    p.add_argument(
        "--cache-reuse",
        type=int,
        default=256,
        help="llama-server's --cache-reuse (llama.vscode's presets use 256; 0: off)",
    )
    p.add_argument("--ctx", type=int, default=4096)
    p.add_argument("--port", type=int, default=8091)
    p.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    p.add_argument("--context-tokens", type=int, default=0, help="0: the server's default")
    p.add_argument("--draft-tokens", type=int, default=6)
    p.add_argument("--completion-timeout", type=float, default=15.0)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--tasks", type=int, default=12)
    p.add_argument("--max-chars", type=int, default=12, help="typed characters per task")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--cache", type=Path, default=Path("~/.cache/jupyter-codegen/evals").expanduser()
    )
    p.add_argument("--json", type=Path, help="write every measurement here")
    args = p.parse_args(argv)
    if not (args.llama_server and args.gguf):
        p.error("give --llama-server and --gguf")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
