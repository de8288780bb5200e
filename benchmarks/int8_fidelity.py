"""How close int8 comes to float32, token by token: ``python -m benchmarks.int8_fidelity``.

Teacher-forced over the first tokens of a few Python standard library modules
(none of them the calibration text, nor in the evaluation sets), it compares
each position's next-token distribution with float32's: how often the top
token agrees, how often it differs where float32's top two logits are more
than 1 apart (a clear choice, not a near-tie), and the mean KL divergence.
Rows: bfloat16, int8 without outlier handling, the int8 engine as the
server loads it, the same weights with bfloat16 inputs as a chat reply's
steps run them (``int8_decode``: on the GGUF's 4-bit blocks where the model
has them, or on the int8 weights alone), and int8 on rotated inputs
(``int8_rotation``). Also the time of one pass over one token and of a
1,024-token prefill for the int8 rows, in the same process.

The evaluation (``python -m evals``) scores whole completions, where one task
weighs 3-11 points at the sizes that fit in a session; this measures the
same difference on thousands of positions.
"""

from __future__ import annotations

import argparse
import gc
import sysconfig
import threading
import time
from pathlib import Path

import torch

from jupyter_codegen.engine.base import EngineOptions
from jupyter_codegen.engine.local.decode import RunLimits
from jupyter_codegen.engine.local.embedded import (
    DEFAULT_EMBEDDED,
    EMBEDDED_MODELS,
    converted_dir,
    default_cache_dir,
)
from jupyter_codegen.engine.local.engine import TransformersEngine, load_pretrained
from jupyter_codegen.engine.local.kernels import weight_only_products
from jupyter_codegen.engine.local.quantize import Int8Linear

from .machine import cpu_model

MODULES = [
    "csv.py",
    "json/decoder.py",
    "textwrap.py",
    "fractions.py",
    "statistics.py",
    "heapq.py",
    "bisect.py",
    "shlex.py",
    "string.py",
    "graphlib.py",
    "dataclasses.py",
    "pprint.py",
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        default=DEFAULT_EMBEDDED,
        help="an embedded model's name (converted already: the server's first start does it)",
    )
    p.add_argument("--tokens", type=int, default=384, help="tokens per module")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    path = str(converted_dir(EMBEDDED_MODELS[args.model], default_cache_dir()))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    print(f"CPU: {cpu_model()}, {args.threads} threads; model {args.model}")

    reference = load_pretrained(path, dtype=torch.float32)
    tokenizer = reference[1]
    seqs = [
        tokenizer((stdlib / m).read_text(), return_tensors="pt").input_ids[:, : args.tokens]
        for m in MODULES
    ]
    print(f"{sum(s.shape[1] for s in seqs)} positions from {len(seqs)} modules of {stdlib}")
    ref = logits_of(reference[0], seqs)
    del reference
    gc.collect()
    ref_logp = [torch.log_softmax(r, -1) for r in ref]
    top2 = [r.topk(2, -1).values for r in ref]
    margins = [v[:, 0] - v[:, 1] for v in top2]
    del ref

    def report(label: str, model: torch.nn.Module, extra: str = "") -> None:
        out = logits_of(model, seqs)
        agree = total = clear = 0
        kl = 0.0
        for o, lp, margin in zip(out, ref_logp, margins, strict=True):
            differ = o.argmax(-1) != lp.argmax(-1)
            agree += int((~differ).sum())
            total += len(differ)
            clear += int((differ & (margin > 1.0)).sum())
            kl += float((lp.exp() * (lp - torch.log_softmax(o, -1))).sum())
        print(
            f"| {label} | {100 * agree / total:.2f} % | {clear} | {kl / total:.4f} |{extra}",
            flush=True,
        )

    print("\n| weights | top token as float32's | differs on a clear choice | mean KL |")
    print("| --- | --- | --- | --- |")
    bf16 = load_pretrained(path, dtype=torch.bfloat16)[0]
    report("bfloat16", bf16)
    del bf16
    gc.collect()
    engine = TransformersEngine.load(
        path,
        name=args.model,
        device="cpu",
        options=EngineOptions(quantize="int8", int8_decode="int4"),
    )
    layers = [m for m in engine.model.modules() if isinstance(m, Int8Linear)]
    chosen = [(m.token_outliers, m.static_columns, m.static_weight) for m in layers]

    def outliers(on: bool) -> None:
        for m, (k, columns, weight) in zip(layers, chosen, strict=True):
            m.token_outliers, m.static_columns, m.static_weight = (
                (k, columns, weight) if on else (0, None, None)
            )

    for label, on in (("int8, no outlier inputs", False), ("int8 (the server's)", True)):
        outliers(on)
        report(label, engine.model, " " + speed(engine, seqs[0][0].tolist()))
    with weight_only_products():  # every position, as a chat reply's steps run
        report("the GGUF's 4-bit blocks where it has them (`int8_decode=int4`)", engine.model)
        for m in layers:
            m.int4 = None
        report("int8 weights alone (`int8_decode=weight-only`)", engine.model)
    del engine
    gc.collect()
    rotated = TransformersEngine.load(
        path,
        name=args.model,
        device="cpu",
        options=EngineOptions(quantize="int8", int8_rotation=True),
    )
    report("int8, rotated inputs", rotated.model, " " + speed(rotated, seqs[0][0].tolist()))


def logits_of(model: torch.nn.Module, seqs: list[torch.Tensor]) -> list[torch.Tensor]:
    with torch.inference_mode():
        return [model(input_ids=s).logits[0].float() for s in seqs]


def speed(engine: TransformersEngine, ids: list[int]) -> str:
    """Median of 3: a prefill of ``ids`` padded to 1,024 tokens, and a pass over one token."""
    decoder = engine.decoder
    prompt = (ids * (1024 // len(ids) + 1))[:1024]
    prefill, one = [], []
    with torch.inference_mode():
        for _ in range(3):
            state, limits = decoder.new_state(), RunLimits(64, threading.Event())
            started = time.perf_counter()
            decoder.prefill(state, prompt, limits)
            prefill.append(time.perf_counter() - started)
            started = time.perf_counter()
            for token in prompt[:16]:
                decoder._forward(state, [token], 1, limits)
            one.append((time.perf_counter() - started) / 16)
    return f"prefill 1,024: {sorted(prefill)[1]:.2f} s, one token: {1000 * sorted(one)[1]:.0f} ms"


if __name__ == "__main__":
    main()
