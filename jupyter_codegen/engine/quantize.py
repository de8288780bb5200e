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

Before that, one pass over a page of code (:func:`input_peaks`) finds the
input channels that are large for every token; quantizing moves their range
into the weights (:class:`_Smoothing`). With each token's few largest inputs
to the MLP's down projection taken out of the int8 product, that brings int8
within the quality gate of float32.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import sys
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


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


#: Each token's largest inputs taken out of the int8 product of each layer that
#: narrows its width and reads an unsmoothed input (an MLP's down projection),
#: where the large inputs differ from token to token.
TOKEN_OUTLIERS = 8
#: How much of an input channel's range moves into the weights when smoothing
#: (SmoothQuant's alpha): the channel is divided by ``peak**a / wmax**(1-a)``.
SMOOTHING_ALPHA = 0.5


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

    A few large inputs still set each row's scale and coarsen the rest. Where
    they sit in the same channels for every token, :func:`quantize_int8`
    smooths them away before rounding (``input_scale``: the weight's columns
    are multiplied by what the producer of the input divides it by). Where they
    move from token to token, each token's ``token_outliers`` largest leave the
    int8 product and go through a float32 one with their (dequantized) weight
    columns."""

    def __init__(self, linear: nn.Linear, input_scale: torch.Tensor | None = None):
        super().__init__()
        # A copy, rounded in place: one float32 temporary per layer (a tied
        # lm_head shares its weight with the embeddings, which must stay).
        weight = linear.weight.detach().to(torch.float32, copy=True)
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        if input_scale is not None:
            weight.mul_(input_scale.float()[None, :])
        # (aminmax: no |weight| temporary, 0.9 GB for a 150k-token output layer)
        low, high = weight.aminmax(dim=1)
        scale = (torch.maximum(high, -low) / 127).clamp_min(torch.finfo(torch.float32).tiny)
        qweight = weight.div_(scale[:, None]).round_().clamp_(-127, 127).to(torch.int8)
        del weight
        # _int_mm wants the weight as (in, out); a transposed view of the
        # row-major weight is what its CPU kernel runs fastest with.
        self.register_buffer("qweight", qweight, persistent=False)
        self.register_buffer("scale", scale, persistent=False)
        bias = None if linear.bias is None else linear.bias.detach().float()
        self.register_buffer("bias", bias, persistent=False)
        self.token_outliers = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, shape[-1]).float()
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
        out = torch._int_mm(qrows, self.qweight.t()).float().mul_(row_scale)
        if k:
            # The columns that any row picked, each row's own values (0 elsewhere).
            # (Indexing reads the strided columns faster than index_select:
            # 3.2 against 4.1 ms for 967 columns of a 1536x8960 weight.)
            columns, where = torch.unique(index, return_inverse=True)
            sparse = rows.new_zeros(rows.shape[0], columns.numel()).scatter_(1, where, picked)
            out.addmm_(sparse, self.qweight[:, columns].t().float())
        out.mul_(self.scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def input_peaks(model: nn.Module, batches: list[torch.Tensor]) -> dict[nn.Module, torch.Tensor]:
    """The largest magnitude of each input channel of each ``nn.Linear`` of
    ``model`` over a forward pass on each of ``batches`` (token ids, shape
    (1, n)): what :func:`quantize_int8` smooths by. Run it on the model as
    loaded, before quantizing."""
    peaks: dict[nn.Module, torch.Tensor] = {}

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        peak = args[0].reshape(-1, args[0].shape[-1]).abs().amax(dim=0).float()
        peaks[module] = torch.maximum(peaks[module], peak) if module in peaks else peak

    # Logits for the last position only: a page of tokens times a 150k
    # vocabulary would be 0.4 GB of float32, kept by the heap afterwards.
    takes_keep = "logits_to_keep" in inspect.signature(model.forward).parameters
    extra = {"logits_to_keep": 1} if takes_keep else {}
    # The pass reads every weight; each layer gives its checkpoint pages back
    # once used, so that the model is never resident whole (3.3 GB for the
    # embedded 1.5B, and 5.3 GB peak while quantizing after it).
    pages = _FilePages()

    def used(module: nn.Module, _args: tuple[torch.Tensor, ...], _out: torch.Tensor) -> None:
        pages.release(module.weight)

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    handles = [m.register_forward_pre_hook(hook) for m in linears]
    handles += [m.register_forward_hook(used) for m in linears]
    try:
        with torch.inference_mode():
            for ids in batches:
                model(input_ids=ids, use_cache=False, **extra)
    finally:
        for handle in handles:
            handle.remove()
        _trim_heap()
    return peaks


class _Smoothing:
    """Where :func:`quantize_int8` moves the range of large input channels
    into the weights (SmoothQuant, Xiao et al. 2023), by a fold that is exact
    in float arithmetic and so costs nothing per token: a norm that feeds
    Linear layers (a decoder layer's ``input_layernorm`` into q/k/v,
    ``post_attention_layernorm`` into the MLP's gate and up, or StarCoder2's
    ``c_fc``) has its weight (and bias) divided by ``s``, the layers' weight
    columns are multiplied by it. ``s = peak ** alpha / wmax ** (1 - alpha)``
    per channel, from the inputs' largest magnitudes in calibration and the
    weights' largest per column. A layer of another shape is left as it is.

    (Folding the value projection's rows into the output projection's columns
    as well measured no closer to float32: mean KL 0.0047 with it, 0.0046
    without. The down projection's large inputs move from token to token, and
    fixed scales there, folded into the up projection, did worse than per-token
    outliers: 0.0055 with both.)"""

    def __init__(
        self,
        model: nn.Module,
        peaks: dict[nn.Module, torch.Tensor],
        alpha: float,
        pages: _FilePages | None = None,
    ):
        self.inputs: dict[nn.Module, torch.Tensor] = {}
        self.alpha = alpha
        self.peaks = peaks
        self.pages = pages
        for module in list(model.modules()):
            attn = getattr(module, "self_attn", None)
            mlp = getattr(module, "mlp", None)
            qkv = [getattr(attn, n, None) for n in ("q_proj", "k_proj", "v_proj")]
            self._into_norm(getattr(module, "input_layernorm", None), qkv)
            up = [getattr(mlp, n, None) for n in ("gate_proj", "up_proj")]
            if up[0] is None:
                up = [getattr(mlp, "c_fc", None)]
            self._into_norm(getattr(module, "post_attention_layernorm", None), up)

    def _scale(self, peak: torch.Tensor, layers: list[nn.Linear]) -> torch.Tensor:
        columns = []
        for m in layers:
            columns.append(m.weight.detach().abs().amax(dim=0).float())
            if self.pages is not None:  # read again when quantized, one layer at a time
                self.pages.release(m.weight)
        wmax = torch.stack(columns)
        a = self.alpha
        s = peak.clamp_min(1e-5) ** a / wmax.amax(dim=0).clamp_min(1e-5) ** (1 - a)
        return s.clamp_min(1e-5)

    def _into_norm(self, norm: nn.Module | None, layers: list[nn.Linear | None]) -> None:
        linears = [m for m in layers if isinstance(m, nn.Linear)]
        if norm is None or not linears or len(linears) != len(layers):
            return
        weight = getattr(norm, "weight", None)
        width = linears[0].in_features
        if not isinstance(weight, torch.Tensor) or weight.shape != (width,):
            return
        if any(m.in_features != width or m not in self.peaks for m in linears):
            return
        s = self._scale(torch.stack([self.peaks[m] for m in linears]).amax(dim=0), linears)
        if not _fold_into_norm(norm, s):
            return
        for m in linears:
            self.inputs[m] = s


def _fold_into_norm(norm: nn.Module, s: torch.Tensor) -> bool:
    """Divide what ``norm`` puts out by ``s`` per channel, through its weight
    (and bias), turned to float32. Checked on a random input: a norm that does
    not just multiply by its weight (Gemma's adds 1 first) is left unscaled."""
    params = dict(norm.named_parameters(recurse=False))
    with torch.no_grad():
        for name, param in params.items():
            if param.is_floating_point() and param.dtype != torch.float32:
                setattr(norm, name, nn.Parameter(param.detach().float(), requires_grad=False))
        probe = torch.randn(4, s.numel(), generator=torch.Generator().manual_seed(0))
        before = norm(probe)
        scaled = [n for n in ("weight", "bias") if n in params and params[n].shape == s.shape]
        for name in scaled:
            getattr(norm, name).div_(s)
        after = norm(probe) * s
        if torch.allclose(after, before, rtol=1e-4, atol=1e-5 * float(before.abs().max())):
            return True
        for name in scaled:
            getattr(norm, name).mul_(s)
        return False


def int8_supported() -> bool:
    """Whether this torch has the CPU int8 matmul that :class:`Int8Linear` uses."""
    try:
        a = torch.ones(2, 16, dtype=torch.int8)
        b = torch.ones(8, 16, dtype=torch.int8)
        return bool(torch._int_mm(a, b.t()).sum().item() == 2 * 8 * 16)
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class _FilePages:
    """Gives back the pages of weights that are mapped from a checkpoint file
    once they are no longer needed (Linux).

    transformers maps safetensors files into memory and lets the weights view
    the mapping. Every page quantization reads stays resident, and counted in
    the process's memory, until the whole mapping goes: 3.3 GB for the
    embedded model, on top of the int8 copy being built. ``madvise(DONTNEED)``
    on a file-backed range drops those pages (they would be read again from
    the file if touched). Only ranges that /proc/self/maps shows as mapped
    from a ``.safetensors`` file are touched, never anonymous memory."""

    MADV_DONTNEED = 4

    def __init__(self) -> None:
        self._ranges: list[tuple[int, int]] = []
        self._madvise = None
        if sys.platform != "linux":
            return
        try:
            with open("/proc/self/maps") as fh:
                for line in fh:
                    fields = line.split()
                    if len(fields) >= 6 and fields[-1].endswith(".safetensors"):
                        start, end = (int(x, 16) for x in fields[0].split("-"))
                        self._ranges.append((start, end))
            self._madvise = ctypes.CDLL(None, use_errno=True).madvise
            self._page = os.sysconf("SC_PAGE_SIZE")
        except (OSError, AttributeError, ValueError):
            self._ranges = []

    def release(self, tensor: torch.Tensor) -> None:
        if not self._ranges or self._madvise is None:
            return
        start = tensor.data_ptr()
        end = start + tensor.numel() * tensor.element_size()
        if not any(lo <= start and end <= hi for lo, hi in self._ranges):
            return
        first = -(-start // self._page) * self._page  # whole pages inside the tensor only
        last = end // self._page * self._page
        if last > first:
            self._madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), self.MADV_DONTNEED)


def quantize_int8(
    model: nn.Module,
    on_fraction: Callable[[float], None] | None = None,
    *,
    peaks: dict[nn.Module, torch.Tensor] | None = None,
    token_outliers: int = 0,
    alpha: float = SMOOTHING_ALPHA,
) -> int:
    """Replace every ``nn.Linear`` of ``model`` (on the CPU) by an int8 one,
    keep the embeddings compact, and turn the remaining floats (norms) to
    float32. Returns the number of layers quantized. The checkpoint's pages
    are given back layer by layer (:class:`_FilePages`), so loading never
    holds much more than the int8 model. ``on_fraction`` is told the share of
    the layers done (0..1).

    With ``peaks`` (from :func:`input_peaks` on the model as loaded), the
    large input channels are first smoothed into the weights where an exact
    fold exists (:class:`_Smoothing`). Layers that narrow their width and
    whose input was not smoothed (an MLP's down projection, whose large inputs
    move from token to token) take each token's ``token_outliers`` largest
    inputs out of the int8 product. On the embedded Qwen2.5-Coder 1.5B, teacher-forced over 4,608
    tokens of Python (README, "int8 weights"), the two bring the mean KL
    divergence from float32 from 0.025 to about 0.004."""
    pages = _FilePages()
    smoothing = _Smoothing(model, peaks, alpha, pages) if peaks else None
    total = sum(isinstance(m, nn.Linear) for m in model.modules())
    embeddings = model.get_input_embeddings()
    tied = getattr(model, "lm_head", None) is not None and getattr(
        model.lm_head, "weight", None
    ) is getattr(embeddings, "weight", None)
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                scale = None if smoothing is None else smoothing.inputs.get(child)
                layer = Int8Linear(child, scale)
                if scale is None and child.in_features > child.out_features:
                    # (k and v projections narrow too, but read a smoothed input)
                    layer.token_outliers = min(token_outliers, child.in_features - 1)
                setattr(parent, name, layer)
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
    _trim_heap()
    return count


def _trim_heap() -> None:
    """Give the float32 temporaries' freed heap back to the system (glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights, int8 layers included."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, Int8Linear):
            total += sum(b.numel() * b.element_size() for b in module.buffers(recurse=False))
    return total
