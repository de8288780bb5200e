"""Prompts without the int8 copy of the 4-bit layers (``low_memory``).

With ``int8_decode = "int4"`` a layer that the GGUF holds as Q4_K blocks is
in memory twice: its int8 weight, which prompts multiply by (torch's int8
product is the fast one for many rows), and its 4-bit blocks in torch's int4
pack, which a reply's steps read. For the embedded 1.5B the int8 copies are
1.1 GB of the 3.1 GB the server holds.

Here the int8 copy goes, and each prompt product computes that layer's int8
weight again from the 4-bit pack and the blocks' 16-byte headers (their
scales), into a buffer reused by every layer: ``q4k_int8.c``, compiled on
this machine the first time (a C compiler is needed; without one the int8
copies stay and the reason is reported). The values are the int8 copy's, bit
for bit: prompts compute what they computed with it, and every layer is
checked against its copy once, while loading, before the copy is dropped.

The price is that computation, about 2 ms per 8960 x 1536 layer on 2 cores
(benchmarks: docs/benchmarks/memory.md), once per prompt chunk; every step
after the prompt (a completion's too) then runs on the 4-bit blocks.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch

from jupyter_codegen.engine.local import gguf_blocks

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("q4k_int8.c")
#: Tried in order: with OpenMP (both cores), then without, then for any CPU
#: (a compiler without -march=native).
FLAGS = (
    ["-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC", "-fopenmp"],
    ["-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC"],
    ["-O3", "-ffp-contract=off", "-shared", "-fPIC"],
)
_SCRATCH = threading.local()


class Unavailable(RuntimeError):
    """Why prompts cannot run without the int8 copies here."""


def _kernel_dir() -> Path:
    from jupyter_codegen.engine.local.embedded import default_cache_dir

    return default_cache_dir() / "kernels"


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next((line for line in fh if line.startswith(("flags", "Features"))), "")
    except OSError:
        return platform.processor()


def _compile(compiler: list[str], out: Path) -> None:
    errors = []
    for flags in FLAGS:
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            built = Path(tmp) / out.name
            try:
                done = subprocess.run(
                    [*compiler, *flags, str(SOURCE), "-o", str(built)],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise Unavailable(f"the C compiler {compiler[0]!r} did not run: {exc}") from exc
            if done.returncode == 0:
                os.replace(built, out)  # (atomic: another process may build it too)
                return
            errors.append(done.stderr.strip().splitlines()[-1:] or [""])
    raise Unavailable(f"{compiler[0]} could not build {SOURCE.name}: {errors[-1][0]}")


@functools.cache
def kernel() -> ctypes.CDLL:
    """The compiled kernel, built on first use into the cache (one build per
    source, compiler and CPU); :class:`Unavailable` says why not."""
    compiler = shlex.split(os.environ.get("CC") or "cc") or ["cc"]  # (CC="ccache gcc")
    if shutil.which(compiler[0]) is None:
        raise Unavailable(f"no C compiler ({compiler[0]!r} is not on PATH)")
    key = hashlib.sha256(
        SOURCE.read_bytes() + str(compiler).encode() + _cpu_flags().encode() + str(FLAGS).encode()
    ).hexdigest()[:16]
    out = _kernel_dir() / f"q4k_int8-{key}.so"
    if not out.is_file():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Unavailable(f"cannot write the kernel to {out.parent}: {exc}") from exc
        _compile(compiler, out)
    lib = ctypes.CDLL(str(out))
    lib.q4k_int8.restype = ctypes.c_int
    lib.q4k_int8.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_long] * 3 + [ctypes.c_int]
    return lib


@functools.cache
def pack_block() -> int:
    """The rows per block of torch's int4 pack on this CPU (64 or 32), found
    by packing a known matrix; :class:`Unavailable` for another layout."""
    rows, columns = 128, 64
    q = torch.randint(0, 16, (rows, columns), dtype=torch.int32, generator=torch.Generator())
    packed = torch._convert_weight_to_int4pack_for_cpu(q, 1)
    for nb in (64, 32):
        blocks = packed.reshape(rows // nb, columns, nb // 2)
        want = q.reshape(rows // nb, nb, columns).transpose(1, 2)
        if torch.equal((blocks & 15).int(), want[..., : nb // 2]) and torch.equal(
            (blocks >> 4).int(), want[..., nb // 2 :]
        ):
            return nb
    raise Unavailable(f"torch packs int4 weights in a layout this kernel does not read ({q.shape})")


def unavailable() -> str | None:
    """None when prompts can run without the int8 copies here, else why not."""
    try:
        kernel()
        pack_block()
    except (Unavailable, OSError, RuntimeError, AttributeError) as exc:
        return str(exc)
    return None


def unavailable_with(options: object, *, int4: bool) -> str | None:
    """Why ``options`` (an EngineOptions) asking for ``low_memory`` cannot have
    it, or None (also when it does not ask)."""
    if not getattr(options, "low_memory", False):
        return None
    if not int4:
        return "it needs int8_decode = 'int4' (without int8_rotation) and torch's int4 kernel"
    return unavailable()


def _scratch(count: int) -> torch.Tensor:
    """This thread's int8 buffer, at least ``count`` long, reused by every layer."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.numel() < count:
        buffer = _SCRATCH.buffer = torch.empty(count, dtype=torch.int8)
    return buffer


class Int8FromBlocks:
    """A layer's int8 weight, computed when asked from its int4 pack and its
    Q4_K blocks' headers; the result lives in a buffer that the next layer's
    call overwrites (in the same thread)."""

    def __init__(self, packed: torch.Tensor, raw: torch.Tensor, scale: torch.Tensor):
        self.out_features = int(raw.shape[0])
        self.in_features = int(raw.shape[1]) // gguf_blocks.Q4_K_BYTES * gguf_blocks.QK_K
        self.block = pack_block()
        if not packed.is_contiguous() or packed.dtype != torch.uint8:
            raise Unavailable("the int4 pack is not the contiguous bytes this kernel reads")
        if self.out_features % self.block or self.in_features % gguf_blocks.QK_K:
            raise Unavailable(f"a {self.out_features} x {self.in_features} layer")
        self.packed = packed
        blocks = raw.reshape(self.out_features, -1, gguf_blocks.Q4_K_BYTES)
        self.heads = blocks[..., :16].contiguous()
        self.scale = scale.float().contiguous()

    def weight(self) -> torch.Tensor:
        """The (out, in) int8 weight, valid until this thread's next call (of
        any layer): use it at once."""
        n, k = self.out_features, self.in_features
        out = _scratch(n * k)
        failed = kernel().q4k_int8(
            self.packed.data_ptr(),
            self.heads.data_ptr(),
            self.scale.data_ptr(),
            out.data_ptr(),
            n,
            k,
            self.block,
            torch.get_num_threads(),
        )
        if failed:
            raise MemoryError("the int8 weight could not be computed from the blocks")
        return out[: n * k].view(n, k)

    def nbytes(self) -> int:
        """What it holds besides the int4 pack and the scales (the layer's)."""
        return self.heads.numel()
