"""Hugging Face transformers + torch engine. The only module that imports torch."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    StoppingCriteria,
    StoppingCriteriaList,
)

from .base import (
    Candidate,
    ChatMessage,
    DeltaCallback,
    EngineInfo,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    Segment,
)

log = logging.getLogger(__name__)


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


def load_pretrained(
    path: str, *, gguf_file: str | None = None, dtype: torch.dtype | str = "auto"
) -> tuple[PreTrainedModel, Any]:
    """Load a causal LM and its tokenizer from a hub id, a directory or a GGUF file."""
    kwargs: dict[str, Any] = {}
    model_kwargs: dict[str, Any] = {}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
        try:  # transformers >= 5 can keep GGUF blocks packed; we want a plain dense model
            from transformers import GgufConfig

            model_kwargs["quantization_config"] = GgufConfig(dequantize=True)
        except ImportError:  # older releases always dequantize
            pass
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs, **model_kwargs)
    return model, tokenizer


class _StepMonitor(StoppingCriteria):
    """Runs after every decode step: streams new text, applies the caller's
    stop check, ends candidates that produced a stop token, and halts all of
    them at once when the request is cancelled or times out."""

    def __init__(
        self,
        tokenizer: Any,
        prompt_len: int,
        num: int,
        stop_ids: set[int],
        cancel: threading.Event,
        request: GenerationRequest,
        on_delta: DeltaCallback | None,
    ):
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.stop_ids = stop_ids
        self.cancel = cancel
        self.request = request
        self.on_delta = on_delta
        self.deadline = time.monotonic() + request.timeout_s if request.timeout_s else None
        self.texts = [""] * num
        self.lengths = [0] * num
        self.reasons: list[FinishReason | None] = [None] * num
        self.halt: FinishReason | None = None

    def _text_of(self, ids: list[int]) -> str:
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        # Hold back an incomplete UTF-8 sequence until its next byte arrives.
        return text[:-1] if text.endswith("\ufffd") else text

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        rows = input_ids[:, self.prompt_len :].tolist()
        for i, row in enumerate(rows):
            if self.reasons[i] is not None:
                done[i] = True
                continue
            new = row
            hit_stop = bool(new) and new[-1] in self.stop_ids
            if hit_stop:
                new = new[:-1]
            self.lengths[i] = len(row)
            text = self._text_of(new)
            if len(text) > len(self.texts[i]) and text.startswith(self.texts[i]):
                delta = text[len(self.texts[i]) :]
                self.texts[i] = text
                if self.on_delta is not None:
                    self.on_delta(i, delta)
            elif text != self.texts[i]:
                self.texts[i] = text
            if hit_stop:
                self.reasons[i] = "stop"
            elif self.request.stop_check is not None and self.request.stop_check(i, text):
                self.reasons[i] = "scope"
            if self.reasons[i] is not None:
                done[i] = True
        if self.cancel.is_set():
            self.halt = "cancelled"
        elif self.deadline is not None and time.monotonic() > self.deadline:
            self.halt = "timeout"
        if self.halt is not None:
            done[:] = True
        return done


class TransformersEngine:
    """A transformers causal LM on one device."""

    def __init__(self, model: PreTrainedModel, tokenizer: Any, *, name: str, device: str):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        self._vocab = tokenizer.get_vocab()
        eos = tokenizer.eos_token_id
        self._eos_ids = {eos} if isinstance(eos, int) else set(eos or ())
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            self._eos_ids.add(gen_eos)
        elif gen_eos:
            self._eos_ids.update(gen_eos)
        pad = tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else next(iter(self._eos_ids), 0)
        self._parameters = sum(p.numel() for p in model.parameters())

    @classmethod
    def load(
        cls,
        path: str,
        *,
        name: str,
        device: str = "auto",
        dtype: str = "auto",
        gguf_file: str | None = None,
    ) -> TransformersEngine:
        dev = pick_device(device)
        torch_dtype = pick_dtype(dtype, dev)
        model, tokenizer = load_pretrained(path, gguf_file=gguf_file, dtype=torch_dtype)
        model.to(dev)
        return cls(model, tokenizer, name=name, device=dev)

    # -- Engine interface -------------------------------------------------

    def info(self) -> EngineInfo:
        extra: dict[str, object] = {}
        if self.device.startswith("cuda"):
            extra["cuda_memory_allocated"] = torch.cuda.memory_allocated(self.device)
            extra["cuda_device_name"] = torch.cuda.get_device_name(self.device)
        else:
            extra["torch_threads"] = torch.get_num_threads()
        extra["has_chat_template"] = bool(getattr(self.tokenizer, "chat_template", None))
        return EngineInfo(
            model=self.name,
            device=self.device,
            dtype=self.dtype,
            parameters=self._parameters,
            extra=extra,
        )

    def has_token(self, token: str) -> bool:
        return token in self._vocab

    def count_tokens(self, text: str) -> int:
        return len(self._encode_text(text))

    def generate(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None = None,
    ) -> GenerationResult:
        prompt_ids = self._prompt_ids(request)
        stop_ids = set(self._eos_ids)
        for tok in request.stop_tokens:
            if tok in self._vocab:
                stop_ids.add(self._vocab[tok])
        num = request.num_candidates
        monitor = _StepMonitor(
            self.tokenizer, len(prompt_ids), num, stop_ids, cancel, request, on_delta
        )
        input_ids = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)
        sampling = num > 1 or request.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": request.max_new_tokens,
            "do_sample": sampling,
            "num_return_sequences": num,
            "eos_token_id": sorted(stop_ids),
            "pad_token_id": self._pad_id,
            "stopping_criteria": StoppingCriteriaList([monitor]),
        }
        if sampling:
            kwargs.update(temperature=request.temperature or 0.6, top_p=0.95)
        else:
            # Clear sampling knobs that a model's generation_config may carry.
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if cancel.is_set():
            return GenerationResult(
                [Candidate("", "cancelled", 0) for _ in range(num)], len(prompt_ids)
            )
        with torch.inference_mode():
            self.model.generate(input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
        candidates = []
        for i in range(num):
            reason: FinishReason
            if monitor.reasons[i] is not None:
                reason = monitor.reasons[i]  # type: ignore[assignment]
            elif monitor.halt is not None:
                reason = monitor.halt
            else:
                reason = "length"
            candidates.append(Candidate(monitor.texts[i], reason, monitor.lengths[i]))
        return GenerationResult(candidates, len(prompt_ids))

    # -- prompts ----------------------------------------------------------

    def _encode_text(self, text: str) -> list[int]:
        # split_special_tokens: a user's "<|fim_prefix|>" stays text, not a control token.
        return self.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        if request.messages:
            return self._chat_ids(request.messages)
        return self._segment_ids(request.segments)

    def _segment_ids(self, segments: Sequence[Segment]) -> list[int]:
        ids: list[int] = []
        for seg in segments:
            if seg.special:
                if seg.text not in self._vocab:
                    raise ValueError(f"the model's vocabulary has no token {seg.text!r}")
                ids.append(self._vocab[seg.text])
            elif seg.text:
                ids.extend(self._encode_text(seg.text))
        if not ids:
            bos = self.tokenizer.bos_token_id
            ids = [bos if bos is not None else self._pad_id]
        return ids

    def _chat_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        msgs = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                msgs, tokenize=False, add_generation_prompt=True
            )
            return list(self.tokenizer.encode(text, add_special_tokens=False))
        # A base model without a chat template: a plain transcript still works.
        text = "".join(f"### {m['role'].capitalize()}\n{m['content']}\n\n" for m in msgs)
        return self._encode_text(text + "### Assistant\n")
