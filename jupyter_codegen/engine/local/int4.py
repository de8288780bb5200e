"""A reply's tokens on the GGUF's own 4-bit weights (issue 20).

The embedded model is a Q4_K_M GGUF. Most of its projections are Q4_K:
groups of 32 values, each ``scale * q - minimum`` with ``q`` in 0..15
(:mod:`.gguf_blocks`). torch's CPU int4 kernel
(``_weight_int4pack_mm_for_cpu``) takes exactly that form, as
``(q - 8) * scale + zero`` with ``zero = 8 * scale - minimum``, so those
layers can be multiplied as the file holds them: half the bytes of int8
read per token, and no second rounding. Only the scales are rounded (to
bfloat16, what the kernel takes).

A decode step reads every weight once, so its time is bytes: int8 layers
read 1.54 GB per token. The kernel is fast for a row or two and slow for
many (0.35 ms for one row of an 8960 x 1536 layer, 21.7 ms for 128,
against 1.78 ms for the int8 product: docs/benchmarks/decode.md), so
prompts and completions keep the int8 layers, and the int4 weights are a
second copy that only a chat reply's steps read
(:func:`.kernels.weight_only_products`). Each row of the product depends on
that row alone, as the int8 weight-only kernel's does (tested), so drafting
and the prompt cache keep their exactness rules.

With ``low_memory`` the int8 copy of those layers goes: prompts get their
int8 weight computed from the blocks, the same values bit for bit
(:mod:`.requant`), and every step after a prompt runs on the blocks.

The blocks come from the GGUF: read from a ``.gguf`` file, or kept at the
embedded model's one-time conversion (:data:`BLOCKS_FILE`, beside the
converted weights). Only architectures whose projections the GGUF stores in
the transformers layout (no q/k permutation) are read.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from jupyter_codegen.engine.local import gguf_blocks
from jupyter_codegen.engine.local.pages import FilePages
from jupyter_codegen.engine.local.quantize import Int8Linear
from jupyter_codegen.engine.local.requant import Int8FromBlocks, Unavailable

#: The Q4_K blocks of the projections, kept beside a converted model.
BLOCKS_FILE = "q4_k-blocks.safetensors"
#: The kernel's group size: Q4_K's sub-blocks.
GROUP = 32
#: Architectures whose GGUF projections are stored as transformers has them.
ARCHITECTURES = frozenset({"qwen2"})
#: A GGUF projection's name within a block, and the transformers module's.
PROJECTIONS = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
#: The token embeddings' module.
EMBEDDINGS = "model.embed_tokens"
log = logging.getLogger(__name__)
_BLOCK = re.compile(r"^blk\.(\d+)\.(\w+)\.weight$")


@functools.cache
def int4_supported() -> bool:
    """Whether this torch has the CPU int4 kernel and its packing op, and they
    compute what this module expects of them (one random block, against its
    dequantization)."""
    try:
        generator = torch.Generator().manual_seed(0)
        raw = torch.randint(
            0, 256, (16, gguf_blocks.Q4_K_BYTES), dtype=torch.uint8, generator=generator
        )
        raw[:, 0:4] = torch.tensor([0x66, 0x1A, 0x66, 0x16], dtype=torch.uint8)  # d, dmin: small
        x = torch.randn(2, gguf_blocks.QK_K, generator=generator).to(torch.bfloat16)
        want = x.double() @ gguf_blocks.dequantize_q4_k(raw).double().t()
        got = Int4Weight(raw).mm(x).double()
        return bool(got.shape == want.shape and (got - want).norm() <= 0.02 * want.norm())
    except Exception:
        return False


def module_name(gguf_name: str) -> str | None:
    """The transformers module of a GGUF projection (``blk.3.attn_q.weight``:
    ``model.layers.3.self_attn.q_proj``) or of the token embeddings, or None."""
    if gguf_name == "token_embd.weight":
        return EMBEDDINGS
    match = _BLOCK.match(gguf_name)
    if match is None or match.group(2) not in PROJECTIONS:
        return None
    return f"model.layers.{match.group(1)}.{PROJECTIONS[match.group(2)]}"


class Blocks(Mapping[str, torch.Tensor]):
    """Raw Q4_K rows (uint8, ``(out, in / 256 * 144)``) by transformers module
    name, each read when asked for: the loader turns one layer at a time into
    its kernel's form, so the whole file is never held at once."""

    def __init__(self, read: dict[str, Callable[[], torch.Tensor]]):
        self._read = read

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._read[name]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._read)

    def __len__(self) -> int:
        return len(self._read)

    def __contains__(self, name: object) -> bool:
        return name in self._read  # (without reading the tensor)


def read_q4_k_blocks(gguf_path: str | Path) -> Blocks:
    """The Q4_K projections and embeddings of a GGUF file, as views of the
    mapped file (copy-on-write); none for an architecture not in
    :data:`ARCHITECTURES`. Other quantizations (Q6_K, ...) are left out."""
    from gguf import GGMLQuantizationType, GGUFReader

    reader = GGUFReader(str(gguf_path), "c")
    field = reader.fields.get("general.architecture")
    arch = bytes(field.parts[-1]).decode() if field is not None else ""
    if arch not in ARCHITECTURES:
        return Blocks({})
    read: dict[str, Callable[[], torch.Tensor]] = {}
    for tensor in reader.tensors:
        name = module_name(tensor.name)
        if name is not None and tensor.tensor_type == GGMLQuantizationType.Q4_K:
            read[name] = functools.partial(torch.from_numpy, tensor.data)
    return Blocks(read)


def write_blocks(gguf_path: Path, out: Path) -> None:
    """Keep a GGUF file's Q4_K projections and embeddings in ``out`` (an empty
    file when it has none that this module reads, so that nobody looks again)."""
    from safetensors.torch import save_file

    blocks = read_q4_k_blocks(gguf_path)
    save_file({name: blocks[name].contiguous() for name in blocks}, str(out))


def blocks_for(path: str, gguf_file: str | None = None) -> Blocks:
    """The Q4_K blocks of the model at ``path``: read from its GGUF file, or
    kept beside its weights (:data:`BLOCKS_FILE`); none when there are none
    (a hub model, a float checkpoint)."""
    directory = Path(path)
    if gguf_file:
        return read_q4_k_blocks(directory / gguf_file)
    if (directory / BLOCKS_FILE).is_file():
        from safetensors import safe_open

        handle = safe_open(str(directory / BLOCKS_FILE), "pt")
        return Blocks({name: functools.partial(handle.get_tensor, name) for name in handle.keys()})
    return Blocks({})


class Int4Weight:
    """One Q4_K weight as torch's packed int4 CPU weight with its bfloat16
    scales and zeros."""

    def __init__(self, raw: torch.Tensor):
        q, scale, minimum = gguf_blocks.q4_k(raw)
        self.out_features, self.in_features = (int(n) for n in q.shape)
        self.packed = torch._convert_weight_to_int4pack_for_cpu(q.to(torch.int32), 1)
        zero = scale.mul(8).sub_(minimum)
        # (groups, out, 2): what the kernel takes
        self.scales_zeros = (
            torch.stack([scale, zero], dim=-1).transpose(0, 1).contiguous().to(torch.bfloat16)
        )

    def mm(self, rows: torch.Tensor) -> torch.Tensor:
        """``rows`` (bfloat16, ``(m, in)``) times the weight: bfloat16 ``(m, out)``."""
        return torch._weight_int4pack_mm_for_cpu(rows, self.packed, GROUP, self.scales_zeros)

    def dequantized(self) -> torch.Tensor:
        """The weight as the kernel computes with it (float32, ``(out, in)``)."""
        eye = torch.eye(self.in_features, dtype=torch.bfloat16)
        return self.mm(eye).float().t().contiguous()

    def nbytes(self) -> int:
        return self.packed.numel() * self.packed.element_size() + (
            self.scales_zeros.numel() * self.scales_zeros.element_size()
        )


class Q4KEmbedding(nn.Module):
    """Token embeddings kept as the GGUF's Q4_K blocks (144 bytes for 256
    values, against 512 in bfloat16): 131 MB instead of 467 for the embedded
    model. The looked-up rows are dequantized and rounded to bfloat16, the
    values the converted checkpoint holds (the same, bit for bit, on the
    embedded model), so the model computes what it computed from there."""

    def __init__(self, raw: torch.Tensor, dtype: torch.dtype, padding_idx: int | None = None):
        super().__init__()
        # A copy: the rows may view a mapped file.
        self.register_buffer("blocks", raw.clone(), persistent=False)
        self.dtype_out = dtype
        self.padding_idx = padding_idx
        self.num_embeddings = int(raw.shape[0])
        self.embedding_dim = int(raw.shape[1]) // gguf_blocks.Q4_K_BYTES * gguf_blocks.QK_K

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = gguf_blocks.dequantize_q4_k(self.blocks.index_select(0, ids.reshape(-1)))
        rows = rows.to(torch.bfloat16).to(self.dtype_out)
        return rows.reshape(*ids.shape, self.embedding_dim)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, Q4_K blocks"


def use_blocks(
    model: nn.Module, blocks: Mapping[str, torch.Tensor], *, int4: bool, low_memory: bool = False
) -> int:
    """Use the model's Q4_K blocks: its token embeddings as blocks, and with
    ``int4`` each int8 layer's 4-bit copy for a reply's steps. With
    ``low_memory`` too, a layer whose int8 weight the blocks give back bit for
    bit (:mod:`.requant`, checked on the whole weight) drops it; returns how
    many did. Blocks that do not hold the values the model was loaded with
    (another checkpoint's, a fine-tuned copy's) raise ValueError before
    anything changes."""
    embeddings = _embeddings(model, blocks)
    layers: dict[str, Int8Linear] = {}
    for name, module in model.named_modules() if int4 else ():
        if name not in blocks or not isinstance(module, Int8Linear) or module.out_features % 16:
            continue  # (the kernel packs output channels by 16)
        _check_layer(name, module, blocks[name])
        layers[name] = module
    # The bfloat16 embeddings go before the 4-bit copies are built, and each
    # block's pages of a mapped blocks file once it is packed: the peak stays
    # that of the copies alone.
    if embeddings is not None:
        model.set_input_embeddings(embeddings)
    pages = FilePages()
    dropped = 0
    try:
        for name, module in layers.items():
            raw = blocks[name]
            module.int4 = weight = Int4Weight(raw)
            if low_memory and _drop_int8(name, module, weight, raw):
                dropped += 1
            pages.release(raw)
    except BaseException:
        for module in layers.values():
            module.int4 = None
            _restore_int8(module)
        raise
    return dropped


def _drop_int8(name: str, module: Int8Linear, weight: Int4Weight, raw: torch.Tensor) -> bool:
    """Let the layer compute its int8 weight from the blocks instead of keeping
    it, when that gives the same values."""
    try:
        source = Int8FromBlocks(weight.packed, raw, module.scale)
    except Unavailable as exc:
        log.info("%s keeps its int8 weight: %s", name, exc)
        return False
    if module.rotation is not None or not torch.equal(source.weight(), module.qweight):
        log.warning("%s keeps its int8 weight: its blocks give other int8 values", name)
        return False
    module.int8_source = source
    module.register_buffer("qweight", None, persistent=False)
    return True


def _restore_int8(module: Int8Linear) -> None:
    if module.qweight is None and module.int8_source is not None:
        module.register_buffer("qweight", module.int8_source.weight().clone(), persistent=False)
    module.int8_source = None


def _check_layer(name: str, module: Int8Linear, raw: torch.Tensor) -> None:
    """ValueError unless ``raw`` holds the values of the int8 layer's weight."""
    row_bytes = module.in_features // gguf_blocks.QK_K * gguf_blocks.Q4_K_BYTES
    expected = (module.out_features, row_bytes)
    if tuple(raw.shape) != expected or module.in_features % gguf_blocks.QK_K:
        raise ValueError(
            f"the Q4_K blocks of {name} are {tuple(raw.shape)}, its layer needs {expected}"
        )
    # The int8 weight is these values rounded once more: within half an int8
    # step (and bfloat16's rounding), checked on its first and last rows.
    rows = torch.tensor([0, module.out_features - 1])
    values = gguf_blocks.dequantize_q4_k(raw.index_select(0, rows))
    int8 = module.qweight.index_select(0, rows).float() * module.scale[rows, None]
    bound = module.scale[rows, None] * 0.51 + values.abs() * 2.0**-8 + 1e-6
    if module.rotation is not None or not torch.all((values - int8).abs() <= bound):
        raise ValueError(f"the Q4_K blocks of {name} hold other values than its weight")


def _embeddings(model: nn.Module, blocks: Mapping[str, torch.Tensor]) -> Q4KEmbedding | None:
    """The token embeddings as their Q4_K blocks, when the blocks hold them;
    ValueError when they hold other values (checked on 64 rows, exactly)."""
    current = model.get_input_embeddings()
    if EMBEDDINGS not in blocks or current is None:
        return None
    raw = blocks[EMBEDDINGS]
    rows, dim = current.num_embeddings, current.embedding_dim
    if dim % gguf_blocks.QK_K or tuple(raw.shape) != (
        rows,
        dim // gguf_blocks.QK_K * gguf_blocks.Q4_K_BYTES,
    ):
        raise ValueError(f"the token embeddings' Q4_K blocks are {tuple(raw.shape)}")
    dtype = getattr(current, "dtype_out", torch.float32)
    embeddings = Q4KEmbedding(raw, dtype, getattr(current, "padding_idx", None))
    ids = torch.linspace(0, rows - 1, 64).long().unique()
    if not torch.equal(embeddings(ids), current(ids).to(torch.bfloat16).to(dtype)):
        raise ValueError("the token embeddings' Q4_K blocks hold other values")
    return embeddings
