"""int8 weights for the CPU: per-channel int8 Linear layers with dynamically
quantized activations (torch's fbgemm/x86 or qnnpack kernels).

Part of the local (transformers) engine, like :mod:`.decode`; nothing else
imports torch.

Measured on a 2-core AVX2 EPYC for one Qwen2.5-1.5B MLP projection: 1.3 ms a
token against 4.7 ms in float32, 18 ms against 47 ms for 64 tokens. Decoding
is bound by reading the weights, so a quarter of the bytes is most of the win.

The model is quantized one layer at a time from its stored (bfloat16)
weights, so loading never holds a float32 copy of the whole model. The input
embeddings stay in their stored dtype and only the looked-up rows are cast:
the embedded checkpoint is bfloat16, so the values are the same as a float32
copy's, at half the memory. ``lm_head`` gets its own int8 weight (it is tied
to the embeddings in Qwen2.5).
"""

from __future__ import annotations

import warnings

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


def int8_supported() -> bool:
    return bool(torch.backends.quantized.supported_engines) and any(
        e in torch.backends.quantized.supported_engines for e in ("x86", "fbgemm", "qnnpack")
    )


def _int8_linear(linear: nn.Linear) -> nn.Module:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear
    from torch.ao.quantization import per_channel_dynamic_qconfig

    work = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None)
    with torch.no_grad():
        work.weight.copy_(linear.weight.float())
        if linear.bias is not None:
            work.bias.copy_(linear.bias.float())
    work.qconfig = per_channel_dynamic_qconfig
    with warnings.catch_warnings():
        # torch 2.13 marks its quantized tensor types deprecated; they still are
        # its only int8 CPU matmul without torch.compile (shared/notes).
        warnings.simplefilter("ignore", UserWarning)
        return DynamicInt8Linear.from_float(work)


def quantize_int8(model: nn.Module) -> int:
    """Replace every ``nn.Linear`` of ``model`` (on the CPU) by an int8 one,
    keep the embeddings compact, and turn the remaining floats (norms) to
    float32. Returns the number of layers quantized."""
    embeddings = model.get_input_embeddings()
    tied = getattr(model, "lm_head", None) is not None and getattr(
        model.lm_head, "weight", None
    ) is getattr(embeddings, "weight", None)
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, _int8_linear(child))
                count += 1
    if tied and hasattr(model, "config"):
        # lm_head now has its own int8 weight; nothing may tie it back.
        model.config.tie_word_embeddings = False
    if isinstance(embeddings, nn.Embedding):
        model.set_input_embeddings(
            CastEmbedding(embeddings.weight.data, torch.float32, embeddings.padding_idx)
        )
    for module in model.modules():
        if isinstance(module, CastEmbedding):
            continue
        for pname, param in list(module.named_parameters(recurse=False)):
            if param.is_floating_point() and param.dtype != torch.float32:
                setattr(module, pname, nn.Parameter(param.data.float(), requires_grad=False))
        for bname, buf in list(module.named_buffers(recurse=False)):
            if buf is not None and buf.is_floating_point() and buf.dtype != torch.float32:
                module.register_buffer(bname, buf.float(), persistent=False)
    return count


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's weights, int8 packed layers included."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    total = sum(p.numel() * p.element_size() for p in model.parameters())
    for module in model.modules():
        if isinstance(module, DynamicInt8Linear):
            weight, bias = module._weight_bias()
            total += weight.numel() * weight.element_size()
            total += 0 if bias is None else bias.numel() * bias.element_size()
    return total
