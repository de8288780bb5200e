"""How exactly the int4 kernel holds the GGUF's Q4_K weights, tensor by tensor (issue 20).

For every Q4_K projection that the engine loads into torch's int4 kernel
(``engine/local/int4.py``), the weight as the kernel computes with it
against gguf-py's float32 dequantization (what llama.cpp computes with):
the largest difference, relative to the tensor's largest weight, and the
mean difference. The kernel's weight is ``(q - 8) * scale + zero`` with the
4-bit ``q`` of the file and each group's scale and zero as it holds them
(bfloat16): what differs is that rounding. Prints
one row per projection kind with the worst tensor of that kind, and the
worst overall. Not timed.

    python benchmarks/int4_error.py --gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType
from gguf.quants import dequantize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jupyter_codegen.engine.local import gguf_blocks  # noqa: E402
from jupyter_codegen.engine.local.int4 import Int4Weight, read_q4_k_blocks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gguf", required=True)
    args = p.parse_args(argv)
    blocks = read_q4_k_blocks(args.gguf)
    rows: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for name in blocks:
        if name.endswith("embed_tokens"):
            continue  # looked up, not multiplied: rows dequantized exactly
        raw = blocks[name]
        ref = torch.from_numpy(
            dequantize(np.asarray(raw), GGMLQuantizationType.Q4_K).astype(np.float32)
        )
        q = gguf_blocks.q4_k(raw)[0].float()
        scales_zeros = Int4Weight(raw).scales_zeros.float()  # (groups, out, 2)
        scale, zero = scales_zeros[..., 0].t(), scales_zeros[..., 1].t()
        grouped = q.reshape(q.shape[0], -1, 32)
        got = ((grouped - 8) * scale[..., None] + zero[..., None]).reshape(q.shape)
        diff = (got - ref).abs()
        top = float(ref.abs().max())
        rows[name.rsplit(".", 1)[-1]].append((float(diff.max()) / top, float(diff.mean()), name))
        print(
            f"{name}: max {float(diff.max()):.2e} ({100 * float(diff.max()) / top:.3f} % "
            f"of max |w|), mean {float(diff.mean()):.2e}",
            flush=True,
        )
    print("\n| projection | tensors | worst max difference / max abs weight | mean difference |")
    print("| --- | --- | --- | --- |")
    for kind, values in sorted(rows.items()):
        worst = max(values)
        mean = sum(v[1] for v in values) / len(values)
        print(f"| {kind} | {len(values)} | {100 * worst[0]:.3f} % ({worst[2]}) | {mean:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
