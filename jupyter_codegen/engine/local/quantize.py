"""int8 weights for the CPU: per-channel int8 Linear layers whose inputs are
quantized per token on each call, multiplied in int32 (``torch._int_mm``).

Part of the local (transformers) engine, like :mod:`.decode`; nothing else
imports torch.

Measured for one Qwen2.5-1.5B MLP projection on one core of an AVX-512 EPYC
(other work sharing the machine): about 0.9 ms a token against 5.2 ms in
float32, 8.5 ms against 44 ms for 64 tokens. Decoding is bound by reading the
weights, so a quarter of the bytes is most of the win.

The model is quantized one layer at a time from its stored (bfloat16)
weights, so loading never holds a float32 copy of the whole model. The input
embeddings stay in their stored dtype and only the looked-up rows are cast:
the embedded checkpoint is bfloat16, so the values are the same as a float32
copy's, at half the memory. ``lm_head`` gets its own int8 weight (it is tied
to the embeddings in Qwen2.5).

Then :func:`calibrate` picks, from one pass over a page of code, the few
inputs of each layer that go through a float32 product instead of the int8
one: what brings int8 within the quality gate of float32. Or, instead, each
layer's inputs are rotated (:class:`Rotation`: random signs and a block
Hadamard transform, folded into its weight before rounding), which spreads
the few channels that would set a token's int8 scale over many, at about
plain int8's speed.

A reply's tokens can instead go through the weights alone
(:func:`.kernels.weight_only_products`): the inputs in bfloat16 times the int8
weights (``torch._weight_int8pack_mm``), then their scales, with no per-token
quantization.
For one row (a decode step) that is faster and closer to float32; for many
rows (a prompt chunk) it is far slower, so prompts stay on the int8 product.
A layer that the model's GGUF holds as Q4_K blocks computes those steps on
the blocks themselves instead (:mod:`.int4`): half the bytes per token.
With ``low_memory`` such a layer keeps no int8 weight:
:meth:`Int8Linear.int8_weight` computes it from the blocks for each product,
the same values (:mod:`.requant`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from jupyter_codegen.engine.local.kernels import KERNEL, RowWeight
from jupyter_codegen.engine.local.pages import FilePages
from jupyter_codegen.engine.local.rotation import Rotation


class Int8Source(Protocol):
    """Where a layer whose int8 weight is not kept gets it (:mod:`.requant`)."""

    def weight(self) -> torch.Tensor:
        """The (out, in) int8 weight, valid until the next layer's call."""
        ...

    def nbytes(self) -> int:
        """The memory it holds."""
        ...


class CastEmbedding(nn.Module):
    """An embedding kept in a compact dtype whose looked-up rows are returned
    in the compute dtype."""

    def __init__(self, weight: torch.Tensor, dtype: torch.dtype, padding_idx: int | None):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.dtype_out = dtype
        self.padding_idx = padding_idx

    @property
    def num_embeddings(self) -> int:
        return int(self.weight.shape[0])

    @property
    def embedding_dim(self) -> int:
        return int(self.weight.shape[1])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.weight, self.padding_idx).to(self.dtype_out)


#: Input channels that calibration found largest, taken out of the int8
#: product of each layer that keeps or widens its width (see :func:`calibrate`).
STATIC_OUTLIERS = 16
#: Each token's largest inputs taken out of the int8 product of each layer that
#: narrows its width (an MLP's down projection), where they differ by token.
TOKEN_OUTLIERS = 8


class Int8Linear(nn.Module):
    """A Linear layer with int8 weights (symmetric, one scale per output
    channel) whose inputs are quantized to int8 per token (one scale per row)
    on every call; the product runs in int32 (``torch._int_mm``) and is scaled
    back to float32.

    Per-token scales matter: torch's dynamic quantized Linear takes one scale
    for the whole input, in 7 bits on x86. In Qwen2.5 the inputs of ``down_proj``
    carry tokens and channels a hundred times larger than the rest, and one
    shared scale left errors of 40-65 % there (measured on real activations:
    per token, 5-11 %). Its speed is the same: a 1536x8960 projection on one
    AVX2 core takes 0.9 ms for a token and 8.5 ms for 64, against 5.2 and 44 ms
    in float32.

    A few large inputs still set each row's scale and coarsen the rest. Those
    can leave the int8 product and go through a float32 one with their
    (dequantized) weight columns: fixed channels (:meth:`keep_columns`, chosen
    by :func:`calibrate`), and each token's ``token_outliers`` largest. Or,
    with ``rotate`` (:class:`Rotation`), the weight and every input are
    rotated first, which spreads those channels out: the same products, one
    small matrix product more per call."""

    def __init__(self, linear: nn.Linear, rotate: bool = False):
        super().__init__()
        # A copy, rounded in place: one float32 temporary per layer (a tied
        # lm_head shares its weight with the embeddings, which must stay).
        weight = linear.weight.detach().to(torch.float32, copy=True)
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.rotation = Rotation(self.in_features) if rotate else None
        if self.rotation is not None:
            self.rotation.rotate_(weight)
        # (aminmax: no |weight| temporary, 0.9 GB for a 150k-token output layer)
        low, high = weight.aminmax(dim=1)
        scale = (torch.maximum(high, -low) / 127).clamp_min(torch.finfo(torch.float32).tiny)
        qweight = weight.div_(scale[:, None]).round_().clamp_(-127, 127).to(torch.int8)
        del weight
        # _int_mm wants the weight as (in, out); a transposed view of the
        # row-major weight is what its CPU kernel runs fastest with.
        self.register_buffer("qweight", qweight, persistent=False)
        self.register_buffer("scale", scale, persistent=False)
        # What the weight-only kernel is given as scales (it would round ours to
        # bfloat16). Not a buffer: casting the model to float32 must not cast it.
        self.unit_scales = torch.ones(self.out_features, dtype=torch.bfloat16)
        bias = None if linear.bias is None else linear.bias.detach().float()
        self.register_buffer("bias", bias, persistent=False)
        self.token_outliers = 0
        self.static_columns: torch.Tensor | None = None
        #: The kept columns' weights, dequantized: (columns, out).
        self.static_weight: torch.Tensor | None = None
        #: The GGUF's own 4-bit weight, for a reply's steps (:mod:`.int4`).
        self.int4: RowWeight | None = None
        #: Where the int8 weight comes from once :attr:`qweight` is dropped.
        self.int8_source: Int8Source | None = None

    def int8_weight(self) -> torch.Tensor:
        """The (out, in) int8 weight: kept, or computed (:mod:`.requant`)."""
        if self.qweight is not None or self.int8_source is None:
            return self.qweight
        return self.int8_source.weight()

    def keep_columns(self, columns: torch.Tensor) -> None:
        """Take these input channels out of the int8 product for good."""
        columns = columns.to(torch.long).unique()
        self.static_columns = columns
        weight = self.int8_weight().index_select(1, columns).float().mul_(self.scale[:, None])
        self.static_weight = weight.t().contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if KERNEL.weight_only:
            return self._forward_weight_only(x)
        if self.rotation is not None:
            return self._forward_rotated(x, self.rotation)
        shape = x.shape
        rows = x.reshape(-1, shape[-1]).float()
        kept = None
        if self.static_columns is not None and self.static_weight is not None:
            kept = rows.index_select(1, self.static_columns) @ self.static_weight
            rows = rows.index_fill(1, self.static_columns, 0.0)
        k = self.token_outliers
        if k:
            # The scale of the rest is then the (k+1)-th largest input.
            top = rows.abs().topk(k + 1, dim=1)
            index = top.indices[:, :k]
            picked = rows.gather(1, index)
            rows = rows.scatter(1, index, 0.0)
            row_scale = top.values[:, k:].div_(127).clamp_min_(1e-12)
        else:
            row_scale = rows.abs().amax(dim=1, keepdim=True).div_(127).clamp_min_(1e-12)
        qrows = torch.round(rows / row_scale).to(torch.int8)
        qweight = self.int8_weight()
        out = torch._int_mm(qrows, qweight.t()).float().mul_(row_scale)
        if k:
            # The columns that any row picked, each row's own values (0 elsewhere).
            columns, where = torch.unique(index, return_inverse=True)
            sparse = rows.new_zeros(rows.shape[0], columns.numel()).scatter_(1, where, picked)
            # (Indexing reads the strided columns faster than index_select:
            # 3.2 against 4.1 ms for 967 columns of a 1536x8960 weight.)
            out.addmm_(sparse, qweight[:, columns].t().float())
        out.mul_(self.scale)
        if kept is not None:
            out.add_(kept)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def _forward_rotated(self, x: torch.Tensor, rotation: Rotation) -> torch.Tensor:
        shape = x.shape
        qrows, row_scale = rotation.quantize(x)
        # (int32 times float is float: one pass, no separate cast)
        out = torch.mul(torch._int_mm(qrows, self.int8_weight().t()), row_scale)
        if self.bias is not None:
            out = torch.addcmul(self.bias, out, self.scale)
        else:
            out.mul_(self.scale)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def _forward_weight_only(self, x: torch.Tensor) -> torch.Tensor:
        """The inputs in bfloat16 times the int8 weight, then its float32
        scales, or times the layer's 4-bit blocks where it has them
        (:attr:`int4`): each row's result depends on that row alone, whatever
        the row count. (The kernel's float32 path is ten times slower than its
        bfloat16 one on these CPUs; its scales are given as ones so that the
        float32 ones are not rounded.)"""
        shape = x.shape
        rows = x.reshape(-1, shape[-1])
        if self.int4 is not None:
            out = self.int4.mm(rows.to(torch.bfloat16).contiguous()).float()
        else:
            if self.rotation is not None:
                rows = self.rotation(rows.float())
            out = torch._weight_int8pack_mm(
                rows.to(torch.bfloat16).contiguous(), self.int8_weight(), self.unit_scales
            )
            out = out.float().mul_(self.scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        rotated = f", rotated in blocks of {self.rotation.block}" if self.rotation else ""
        return f"in_features={self.in_features}, out_features={self.out_features}, int8{rotated}"


def int8_supported() -> bool:
    """Whether this torch has the CPU int8 matmul that :class:`Int8Linear` uses."""
    try:
        a = torch.ones(2, 16, dtype=torch.int8)
        b = torch.ones(8, 16, dtype=torch.int8)
        return bool(torch._int_mm(a, b.t()).sum().item() == 2 * 8 * 16)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def quantize_int8(
    model: nn.Module,
    on_fraction: Callable[[float], None] | None = None,
    *,
    rotate: bool = False,
) -> int:
    """Replace every ``nn.Linear`` of ``model`` (on the CPU) by an int8 one
    (with ``rotate``, on rotated inputs: :class:`Rotation`), keep the
    embeddings compact, and turn the remaining floats (norms) to float32.
    Returns the number of layers quantized. The checkpoint's pages
    are given back layer by layer (:class:`FilePages`), so loading never
    holds much more than the int8 model. ``on_fraction`` is told the share of
    the layers done (0..1)."""
    pages = FilePages()
    total = sum(isinstance(m, nn.Linear) for m in model.modules())
    embeddings = model.get_input_embeddings()
    tied = getattr(model, "lm_head", None) is not None and getattr(
        model.lm_head, "weight", None
    ) is getattr(embeddings, "weight", None)
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, Int8Linear(child, rotate=rotate))
                count += 1
                if on_fraction is not None:
                    on_fraction(count / max(1, total))
                if not (tied and child is getattr(model, "lm_head", None)):
                    pages.release(child.weight)
    if tied and hasattr(model, "config"):
        # lm_head now has its own int8 weight; nothing may tie it back.
        model.config.tie_word_embeddings = False
    if isinstance(embeddings, nn.Embedding):
        # A copy: the loaded weight may view the whole checkpoint's buffer,
        # which would then stay in memory for this one tensor.
        model.set_input_embeddings(
            CastEmbedding(embeddings.weight.data.clone(), torch.float32, embeddings.padding_idx)
        )
        pages.release(embeddings.weight)
    for module in model.modules():
        if isinstance(module, CastEmbedding):
            continue
        for pname, param in list(module.named_parameters(recurse=False)):
            if param.is_floating_point() and param.dtype != torch.float32:
                setattr(module, pname, nn.Parameter(param.data.float(), requires_grad=False))
        for bname, buf in list(module.named_buffers(recurse=False)):
            if buf is not None and buf.is_floating_point() and buf.dtype != torch.float32:
                module.register_buffer(bname, buf.float(), persistent=False)
    trim_heap()
    return count


def trim_heap() -> None:
    """Give the float32 temporaries' freed heap back to the system (glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights, int8 layers and GGUF blocks included."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    get_embeddings = getattr(model, "get_input_embeddings", None)
    embeddings = get_embeddings() if callable(get_embeddings) else None
    if isinstance(embeddings, nn.Module):  # (kept as GGUF blocks: a buffer)
        total += sum(b.numel() * b.element_size() for b in embeddings.buffers(recurse=False))
    for module in model.modules():
        if isinstance(module, Int8Linear):
            total += sum(b.numel() * b.element_size() for b in module.buffers(recurse=False))
            if module.int4 is not None:
                total += module.int4.nbytes()
            if module.int8_source is not None:
                total += module.int8_source.nbytes()
    return total
