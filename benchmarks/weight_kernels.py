"""Which weight kernel pays where, on one real layer of the embedded GGUF (issue 20).

Takes a Q4_K tensor of the model file (``blk.N.ffn_up.weight`` by default,
8960 x 1536), and:

1. reads its blocks with ``engine/local/gguf_blocks.py`` and compares them
   with gguf-py's dequantization (the difference should be 0);
2. loads the same 4-bit values into torch's CPU int4 kernel
   (``_weight_int4pack_mm_for_cpu``, groups of 32: scale ``s`` and zero
   ``8 s - m`` per sub-block, in bfloat16) and measures what the kernel
   computes against the dequantized weight (bfloat16 rounding of the scales);
3. times one product of M rows for M = 1, 2, 8, 128 with each kernel: bfloat16
   ``F.linear``, our int8 layer (per-token int8 inputs, ``_int_mm``), int8
   weight-only (``_weight_int8pack_mm``) and int4 (``_weight_int4pack_mm_for_cpu``).

M = 1 is a decode step (drafting verifies a few rows), M = 128 a prompt chunk.
Run it alone: it is timed. Prints the CPU model and the medians in ms.

    python benchmarks/weight_kernels.py --gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import cpu_model  # noqa: E402
from jupyter_codegen.engine.local import gguf_blocks  # noqa: E402
from jupyter_codegen.engine.local.int4 import Int4Weight  # noqa: E402
from jupyter_codegen.engine.local.quantize import Int8Linear  # noqa: E402


def q4_k_tensor(path: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The raw Q4_K rows of tensor ``name`` and gguf-py's dequantization."""
    for tensor in GGUFReader(path).tensors:
        if tensor.name == name:
            if tensor.tensor_type != GGMLQuantizationType.Q4_K:
                raise SystemExit(f"{name} is {tensor.tensor_type.name}, not Q4_K")
            raw = np.array(tensor.data)
            return raw, dequantize(raw, GGMLQuantizationType.Q4_K).astype(np.float32)
    raise SystemExit(f"no tensor {name} in {path}")


def timed(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gguf", required=True)
    p.add_argument("--tensor", default="blk.10.ffn_up.weight")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, {args.threads} threads")
    raw_np, reference = q4_k_tensor(args.gguf, args.tensor)
    raw = torch.from_numpy(raw_np)
    ours = gguf_blocks.dequantize_q4_k(raw)
    exact = float((ours - torch.from_numpy(reference)).abs().max())
    rows, cols = ours.shape
    print(f"{args.tensor}: {rows} x {cols}, Q4_K; blocks read vs gguf-py: max |diff| {exact:g}")

    weight = ours.to(torch.bfloat16)
    int4 = Int4Weight(raw)
    kernel = int4.dequantized()
    err = (kernel - ours).abs()
    scale = ours.abs().max()
    print(
        f"int4 kernel vs the dequantized weight: max |diff| {float(err.max()):.3g} "
        f"({float(err.max() / scale):.2%} of max |w|), mean {float(err.mean()):.3g}; "
        f"bf16 rounding of the weight itself: max {float((weight.float() - ours).abs().max()):.3g}"
    )

    linear = torch.nn.Linear(cols, rows, bias=False)
    linear.weight.data = ours.clone()
    int8 = Int8Linear(linear)
    int8_scales = int8.scale.to(torch.bfloat16)
    figures: dict[str, dict[int, float]] = {}
    print("\n| M | bf16 ms | int8 (ours, dynamic) ms | int8 weight-only ms | int4 ms |")
    print("|---|---|---|---|---|")
    with torch.inference_mode():
        for m in (1, 2, 8, 128):
            x = torch.randn(m, cols)
            xb = x.to(torch.bfloat16)
            kernels = {
                "bf16": lambda x=x, xb=xb: F.linear(xb, weight),
                "int8": lambda x=x, xb=xb: int8(x),
                "int8_weight_only": lambda x=x, xb=xb: torch._weight_int8pack_mm(
                    xb, int8.qweight, int8_scales
                ),
                "int4": lambda x=x, xb=xb: int4.mm(xb),
            }
            row = {name: timed(fn, args.repeat) for name, fn in kernels.items()}
            for kernel_name, ms in row.items():
                figures.setdefault(kernel_name, {})[m] = ms
            print(
                f"| {m} | {row['bf16']:.2f} | {row['int8']:.2f} | "
                f"{row['int8_weight_only']:.2f} | {row['int4']:.2f} |"
            )
    if args.out:
        args.out.write_text(
            json.dumps({"cpu": cpu_model(), "exact": exact, "ms": figures}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
