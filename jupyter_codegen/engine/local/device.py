"""Where and how the local engine runs: the device, the weights' dtype,
int8 weights on the CPU, and the prompt budget that follows from them."""

from __future__ import annotations

import torch

from jupyter_codegen.engine.local.quantize import int8_supported

#: Prompt budgets (tokens): the whole prompt, and the part after the cursor.
#: On the CPU, 1024 was chosen from the budget curve (docs, Benchmarks)
#: measured with int8 weights; float weights prefill at less than half their
#: speed, so they keep 512.
CPU_CONTEXT, CPU_CONTEXT_INT8, CPU_SUFFIX = 512, 1024, 64
GPU_CONTEXT, GPU_SUFFIX = 4096, 512


def pick_device(requested: str) -> str:
    """``auto`` picks cuda, then mps, then cpu; anything else is checked and kept."""
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} was asked for, but torch sees no CUDA device")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise RuntimeError("device 'mps' was asked for, but torch sees no MPS device")
    torch.device(requested)  # raises on a malformed name
    return requested


def cpu_has_fast_bf16() -> bool:
    """Whether the CPU computes bfloat16 natively (AVX512-BF16, AMX, or Arm BF16).

    Without it, torch emulates bfloat16 matmuls: measured here on an AVX-512
    Xeon without BF16, a 230-token prefill of the 1.5B model took 13.9 s in
    bfloat16 against 4.0 s in float32.
    """
    try:
        with open("/proc/cpuinfo") as fh:
            flags = set(fh.read().split())
    except OSError:
        import platform

        return platform.machine() == "arm64"  # Apple silicon
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def pick_dtype(requested: str, device: str) -> torch.dtype:
    """``auto``: bfloat16 on CUDA when supported (else float16), float16 on MPS;
    on the CPU bfloat16 where the CPU has native bfloat16, else float32."""
    requested = (requested or "auto").strip().lower()
    if requested != "auto":
        return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[
            requested
        ]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def prompt_budget(device: str, quantized: bool) -> tuple[int, int]:
    """The completion prompt budget (whole prompt, after the cursor) this
    engine declares on ``device``."""
    if device == "cpu":
        return (CPU_CONTEXT_INT8 if quantized else CPU_CONTEXT), CPU_SUFFIX
    return GPU_CONTEXT, GPU_SUFFIX


def wants_int8(quantize: str, device: str) -> bool:
    quantize = (quantize or "auto").strip().lower()
    if quantize == "none":
        return False
    if quantize == "int8":
        if device != "cpu":
            raise ValueError(f"int8 weights run on the CPU only, not on {device!r}")
        if not int8_supported():
            raise RuntimeError("this torch build has no CPU int8 matmul (torch._int_mm)")
        return True
    if quantize != "auto":
        raise ValueError(f"quantize must be 'auto', 'int8' or 'none', not {quantize!r}")
    return device == "cpu" and int8_supported()
