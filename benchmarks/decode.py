"""Prefill and decode speed of our local engine against llama.cpp on the same
model file, in one run on one machine (issue 20).

llama.cpp's ``llama-server`` serves the embedded model's own GGUF (Q4_K_M);
our engine loads the same model with its defaults (int8 on the CPU). Both get
the same prompt, token for token: a chat asking to explain about ``--prompt``
tokens of real code, rendered by our tokenizer and sent to llama.cpp's
``/completion`` as token ids. llama.cpp generates ``--generate`` tokens
(``ignore_eos``) without its prompt cache and reports its own timings; ours
generates at most as many (it stops at the end of its answer), its prompt
cache cleared before each run. Decode speed is the tokens after the first
over the time after the first. It prints the CPU model, both engines' RSS and
the ratios. Run it alone: it is timed.

Our engine runs once per ``--variant`` (``KERNEL/DRAFT``: how the int8 layers
compute a reply's tokens, ``int4`` (the GGUF's Q4_K blocks where it has them,
weight-only elsewhere), ``weight-only`` or ``per-token``, and the most tokens
drafted per step), on the same loaded model, so the variants compare in one
run: by default int4 and weight-only with drafting, and int4 without.

    python benchmarks/decode.py --llama-server "$(which llama-server)" \\
        --gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf [--llama-args=--no-repack]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.llama import start_llama_server  # noqa: E402
from benchmarks.machine import cpu_model  # noqa: E402
from jupyter_codegen.config import CodegenConfig  # noqa: E402
from jupyter_codegen.engine.base import ChatMessage, GenerationRequest  # noqa: E402


def rss_mib(pid: int | str = "self") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def code_of(tokens: int, count: Any) -> str:
    """About ``tokens`` tokens of this package's own code, whole lines."""
    lines: list[str] = []
    for path in sorted((ROOT / "jupyter_codegen" / "context").glob("*.py")):
        for line in path.read_text().splitlines():
            lines.append(line)
            if len(lines) % 20 == 0 and count("\n".join(lines)) >= tokens:
                return "\n".join(lines)
    return "\n".join(lines)


def llama_run(base: str, ids: list[int], generate: int) -> dict[str, float]:
    body = {
        "prompt": ids,
        "n_predict": generate,
        "temperature": 0,
        "ignore_eos": True,
        "cache_prompt": False,
    }
    req = urllib.request.Request(
        f"{base}/completion", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=900) as resp:
        t = json.loads(resp.read())["timings"]
    return {
        "prompt_tokens": t["prompt_n"],
        "prefill_tps": t["prompt_per_second"],
        "generated": t["predicted_n"],
        "decode_tps": t["predicted_per_second"],
    }


def ours_run(engine: Any, req: GenerationRequest) -> dict[str, float]:
    engine.prompt_cache.clear()
    first: list[float] = []
    start = time.perf_counter()

    def on_delta(_index: int, _delta: str) -> None:
        if not first:
            first.append(time.perf_counter())

    result = engine.generate(req, threading.Event(), on_delta)
    total = time.perf_counter() - start
    tokens = result.candidates[0].tokens
    prefill = first[0] - start
    return {
        "prompt_tokens": result.prompt_tokens,
        "prefill_tps": result.prompt_tokens / prefill,
        "generated": tokens,
        "decode_tps": (tokens - 1) / (total - prefill) if tokens > 1 else 0.0,
    }


def summary(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--llama-server", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_SERVER"))
    p.add_argument("--gguf", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_GGUF"))
    p.add_argument("--llama-args", default=os.environ.get("JUPYTER_CODEGEN_LLAMA_ARGS", ""))
    p.add_argument("--model", default="embedded:qwen2.5-coder-1.5b-instruct")
    p.add_argument("--quantize", default="auto")
    p.add_argument("--prompt", type=int, default=512, help="prompt tokens (about)")
    p.add_argument("--generate", type=int, default=256)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--variant",
        action="append",
        help="KERNEL/DRAFT, e.g. weight-only/6 (repeatable; "
        "default: int4/6, weight-only/6, int4/0)",
    )
    p.add_argument(
        "--low-memory",
        action="store_true",
        help="no int8 copy of the 4-bit layers (low_memory = True); give --variant int4/6",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--port", type=int, default=18490)
    p.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = p.parse_args(argv)
    if not (args.llama_server and args.gguf):
        p.error("give --llama-server and --gguf")
    if args.low_memory and any(not v.startswith("int4/") for v in args.variant or ["-"]):
        p.error("--low-memory runs only int4 variants: give --variant int4/6 (and int4/0)")
    import torch

    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_model()}; {args.threads} threads each", flush=True)
    config = CodegenConfig(
        model=args.model, quantize=args.quantize, int8_decode="int4", low_memory=args.low_memory
    )
    service = config.build_service()
    service.host.start_loading()
    service.host.wait_loaded()
    engine = service.host.ready_engine()
    info = engine.info()
    print(f"ours: {info.model} on {info.device}, {info.extra.get('quantization')}", flush=True)
    code = code_of(args.prompt - 40, engine.count_tokens)
    message = f"Explain this code in detail, function by function:\n```python\n{code}\n```"
    req = GenerationRequest(max_new_tokens=args.generate, messages=[ChatMessage("user", message)])
    ids = engine.prompt_ids(req)
    ours: dict[str, list[dict[str, float]]] = {}
    # The layers' 4-bit copies, taken away for the other kernels' runs
    int4 = {m: m.int4 for m in engine.model.modules() if getattr(m, "int4", None) is not None}
    weights = info.extra["weight_bytes"]
    print(f"ours: {len(int4)} layers with 4-bit blocks, {weights:,} weight bytes", flush=True)
    for variant in args.variant or ["int4/6", "weight-only/6", "int4/0"]:
        kernel, draft = variant.split("/")
        for module, weight in int4.items():
            module.int4 = weight if kernel == "int4" else None
        engine.weight_only_replies = kernel in ("int4", "weight-only")
        engine.decoder.max_draft = int(draft)
        ours[variant] = [ours_run(engine, req) for _ in range(args.runs)]
        print(variant, summary(ours[variant]), flush=True)
    ours_rss = rss_mib()
    extra = args.llama_args.split()
    with start_llama_server(args.llama_server, args.gguf, args.threads, 4096, args.port, extra) as (
        base,
        proc,
    ):
        llama_run(base, ids[:16], 4)  # warm up
        llama = [llama_run(base, ids, args.generate) for _ in range(args.runs)]
        llama_rss = rss_mib(proc.pid)
    service.host.shutdown()
    l_ = summary(llama)
    print(f"\nprompt {len(ids)} tokens, up to {args.generate} generated, median of {args.runs}\n")
    print("| engine | prefill tokens/s | decode tokens/s | generated | RSS MiB | decode ratio |")
    print("|---|---|---|---|---|---|")
    print(
        f"| llama.cpp (Q4_K_M GGUF) | {l_['prefill_tps']:.0f} | {l_['decode_tps']:.1f} | "
        f"{l_['generated']:.0f} | {llama_rss:.0f} | 1 |"
    )
    for variant, runs in ours.items():
        o = summary(runs)
        print(
            f"| ours, int8, reply {variant} | {o['prefill_tps']:.0f} | {o['decode_tps']:.1f} | "
            f"{o['generated']:.0f} | {ours_rss:.0f} | {o['decode_tps'] / l_['decode_tps']:.2f} |"
        )
    if args.out:
        figures = {"cpu": cpu_model(), "prompt_tokens": len(ids), "ours": ours, "llama": llama}
        figures |= {"ours_rss_mib": ours_rss, "llama_rss_mib": llama_rss, "argv": argv}
        args.out.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
