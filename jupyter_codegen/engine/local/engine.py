"""Hugging Face transformers + torch engine: the local engine.

With :mod:`.decode` (the decode loop) and :mod:`.quantize` (int8 weights) it
is the only code that imports torch. Each generation reuses the longest
token prefix it shares with a recent prompt (:mod:`.prefix_cache`), so while
the user types only the unseen tail of the prompt is computed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from jupyter_codegen.engine.base import (
    Candidate,
    ChatMessage,
    DeltaCallback,
    EngineInfo,
    EngineOptions,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    Segment,
    StopCheck,
)
from jupyter_codegen.engine.local.calibration import CALIBRATION_TEXT
from jupyter_codegen.engine.local.decode import Decoder, Halted, KVState, RunLimits
from jupyter_codegen.engine.local.prefix_cache import PrefixCache
from jupyter_codegen.engine.local.quantize import (
    calibrate,
    int8_supported,
    quantize_int8,
    weight_bytes,
)
from jupyter_codegen.families import choose_family

log = logging.getLogger(__name__)

#: Most tokens of a request's ``expected`` text run with its prompt's last
#: chunk: enough for a line of code. On a CPU, 32 more tokens in that pass cost
#: about as much as two passes over one token, right or wrong.
MAX_EXPECTED_DRAFT = 32


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


class _Tokenizers:
    """Encoders and decoders that threads borrow, one at a time each.

    A fast tokenizer is one Rust object whose settings transformers flips on
    every call (``split_special_tokens`` toggles ``encode_special_tokens``), so
    sharing it between the event loop and the workers can give wrong tokens or
    "Already borrowed". Here each call borrows a copy of its own from a pool:
    ``plain`` copies never make special tokens out of text (user code that
    contains ``<|im_end|>`` stays text), ``control`` copies do (for a chat
    template's own markers). A copy takes 0.35 s to build for Qwen's
    vocabulary, so a few are built with the engine, not on a request's path."""

    def __init__(self, tokenizer: Any, *, plain: int = 3, control: int = 1):
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self._json: str | None = backend.to_str() if backend is not None else None
        self._slow = tokenizer
        self._slow_lock = threading.Lock()
        self._pools: dict[bool, queue.SimpleQueue[Any]] = {
            True: queue.SimpleQueue(),
            False: queue.SimpleQueue(),
        }
        if self._json is not None:
            for as_text, count in ((True, plain), (False, control)):
                for _ in range(count):
                    self._pools[as_text].put(self._build(as_text))

    def _build(self, specials_as_text: bool) -> Any:
        from tokenizers import Tokenizer

        assert self._json is not None
        tok = Tokenizer.from_str(self._json)
        tok.no_truncation()
        tok.no_padding()
        tok.encode_special_tokens = specials_as_text
        return tok

    @contextlib.contextmanager
    def _borrow(self, specials_as_text: bool) -> Iterator[Any]:
        pool = self._pools[specials_as_text]
        try:
            tok = pool.get_nowait()
        except queue.Empty:  # more threads at once than copies: one more
            tok = self._build(specials_as_text)
        try:
            yield tok
        finally:
            pool.put(tok)

    def plain(self, text: str) -> list[int]:
        """``text`` as text: special-token markers in it are split like any text."""
        if self._json is None:
            with self._slow_lock:
                return list(
                    self._slow.encode(text, add_special_tokens=False, split_special_tokens=True)
                )
        with self._borrow(True) as tok:
            return list(tok.encode(text, add_special_tokens=False).ids)

    def control(self, text: str) -> list[int]:
        """``text`` with its special-token markers as those tokens (template text only)."""
        if self._json is None:
            with self._slow_lock:
                return list(self._slow.encode(text, add_special_tokens=False))
        with self._borrow(False) as tok:
            return list(tok.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        if self._json is None:
            with self._slow_lock:
                return str(self._slow.decode(ids, skip_special_tokens=True))
        with self._borrow(True) as tok:
            return str(tok.decode(ids, skip_special_tokens=True))


class _Candidates:
    """Each candidate's tokens and text as they are chosen: streams the new
    text, applies the caller's stop check, and ends a candidate on a stop token."""

    def __init__(
        self,
        tokens: _Tokenizers,
        num: int,
        stop_ids: set[int],
        stop_check: StopCheck | None,
        on_delta: DeltaCallback | None,
    ):
        self._tokens = tokens
        self._stop_ids = stop_ids
        self._stop_check = stop_check
        self._on_delta = on_delta
        self.ids: list[list[int]] = [[] for _ in range(num)]
        self.texts = [""] * num
        self.counts = [0] * num
        self.reasons: list[FinishReason | None] = [None] * num

    def push(self, index: int, token: int) -> bool:
        """Take the candidate's next token; True once the candidate is done."""
        if self.reasons[index] is not None:
            return True
        self.counts[index] += 1
        if token in self._stop_ids:
            self.reasons[index] = "stop"
            return True
        ids = self.ids[index]
        ids.append(token)
        text = self._tokens.decode(ids)
        if text.endswith("\ufffd"):  # hold back an incomplete UTF-8 sequence
            text = text[:-1]
        old = self.texts[index]
        if text != old:
            self.texts[index] = text
            if self._on_delta is not None and len(text) > len(old) and text.startswith(old):
                self._on_delta(index, text[len(old) :])
        if self._stop_check is not None and self._stop_check(index, text):
            self.reasons[index] = "scope"
            return True
        return False

    def result(self, halt: FinishReason | None) -> list[Candidate]:
        return [
            Candidate(text, reason or halt or "length", count)
            for text, reason, count in zip(self.texts, self.reasons, self.counts, strict=True)
        ]


#: Loading progress after the weights are read (the rest: int8, tokenizers).
WEIGHTS_LOADED = 0.7

#: Prompt budgets (tokens): the whole prompt, and the part after the cursor.
#: On the CPU, 1024 was chosen from the budget curve (docs, Benchmarks)
#: measured with int8 weights; float weights prefill at less than half their
#: speed, so they keep 512.
CPU_CONTEXT, CPU_CONTEXT_INT8, CPU_SUFFIX = 512, 1024, 64
GPU_CONTEXT, GPU_SUFFIX = 4096, 512


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


class TransformersEngine:
    """A transformers causal LM on one device."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: Any,
        *,
        name: str,
        device: str,
        options: EngineOptions | None = None,
        quantized: bool = False,
        parameters: int | None = None,
    ):
        options = options or EngineOptions()
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        self.options = options
        self.quantized = quantized
        self.dtype = (
            "int8" if quantized else str(next(model.parameters()).dtype).removeprefix("torch.")
        )
        self._tokens = _Tokenizers(tokenizer)
        self._vocab = tokenizer.get_vocab()
        self.template, self.family_source = choose_family(
            options.fim_family, has_token=self.has_token
        )
        eos = tokenizer.eos_token_id
        self._eos_ids = {eos} if isinstance(eos, int) else set(eos or ())
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            self._eos_ids.add(gen_eos)
        elif gen_eos:
            self._eos_ids.update(gen_eos)
        pad = tokenizer.pad_token_id
        self._pad_id = pad if pad is not None else next(iter(self._eos_ids), 0)
        self._parameters = parameters or sum(p.numel() for p in model.parameters())
        self._weight_bytes = weight_bytes(model)
        self.decoder = Decoder(model, device, max_draft=options.draft_tokens)
        self.prompt_cache: PrefixCache[KVState] = PrefixCache(options.prompt_cache_bytes)

    @classmethod
    def load(
        cls,
        path: str,
        *,
        name: str,
        device: str = "auto",
        dtype: str = "auto",
        gguf_file: str | None = None,
        options: EngineOptions | None = None,
        on_fraction: Callable[[float], None] | None = None,
    ) -> TransformersEngine:
        """Load the model and tokenizer at ``path``; ``on_fraction`` is told
        how far loading is (weights read, quantized, engine built)."""
        report = on_fraction or (lambda _f: None)
        options = options or EngineOptions()
        dev = pick_device(device)
        if wants_int8(options.quantize, dev):
            # Load compact, then quantize layer by layer: never a float32 copy of it all.
            # Reading the (mapped) weights is quick; quantizing takes most of the time.
            model, tokenizer = load_pretrained(path, gguf_file=gguf_file, dtype=torch.bfloat16)
            report(0.1)
            parameters = sum(p.numel() for p in model.parameters())
            quantize_int8(
                model, on_fraction=lambda f: report(0.1 + 0.8 * f), rotate=options.int8_rotation
            )
            if options.int8_outliers and not options.int8_rotation:
                # One pass over a page of code picks the inputs kept out of int8.
                calibrate(model, [tokenizer(CALIBRATION_TEXT, return_tensors="pt").input_ids])
            report(0.95)
            return cls(
                model,
                tokenizer,
                name=name,
                device=dev,
                options=options,
                quantized=True,
                parameters=parameters,
            )
        torch_dtype = pick_dtype(dtype, dev)
        model, tokenizer = load_pretrained(path, gguf_file=gguf_file, dtype=torch_dtype)
        report(WEIGHTS_LOADED)
        model.to(dev)
        report(0.9)
        return cls(model, tokenizer, name=name, device=dev, options=options)

    # -- Engine interface -------------------------------------------------

    def _quantization(self) -> str:
        inputs = "int8 per-channel weights, inputs int8 per token"
        if self.options.int8_rotation:
            return inputs + ", rotated (block Hadamard)"
        if self.options.int8_outliers:
            return inputs + ", outlier inputs in float32"
        return inputs

    def info(self) -> EngineInfo:
        extra: dict[str, object] = {}
        if self.device.startswith("cuda"):
            extra["cuda_memory_allocated"] = torch.cuda.memory_allocated(self.device)
            extra["cuda_device_name"] = torch.cuda.get_device_name(self.device)
        else:
            extra["torch_threads"] = torch.get_num_threads()
        extra["has_chat_template"] = bool(getattr(self.tokenizer, "chat_template", None))
        extra["quantization"] = self._quantization() if self.quantized else None
        extra["weight_bytes"] = self._weight_bytes
        extra["draft_tokens"] = self.options.draft_tokens
        extra["drafted_tokens_kept"] = self.decoder.drafted_kept
        cache = self.prompt_cache.stats()
        extra["prompt_cache"] = {
            "slots": cache.slots,
            "bytes": cache.bytes,
            "budget_bytes": cache.budget_bytes,
            "hits": cache.hits,
            "misses": cache.misses,
        }
        context, suffix = prompt_budget(self.device, self.quantized)
        return EngineInfo(
            model=self.name,
            device=self.device,
            dtype=self.dtype,
            family=self.template.family,
            family_source=self.family_source,
            context_tokens=context,
            suffix_tokens=suffix,
            parameters=self._parameters,
            extra=extra,
        )

    def has_token(self, token: str) -> bool:
        return token in self._vocab

    def count_tokens(self, text: str) -> int:
        return len(self._tokens.plain(text))

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
        candidates = _Candidates(self._tokens, num, stop_ids, request.stop_check, on_delta)
        deadline = time.monotonic() + request.timeout_s if request.timeout_s else None
        limits = RunLimits(request.max_new_tokens, cancel, deadline)
        if cancel.is_set():
            return GenerationResult(candidates.result("cancelled"), len(prompt_ids))
        halt: FinishReason | None = None
        drafted = 0
        sampled = num > 1 or request.temperature > 0
        drafting = self.options.draft_tokens > 0 and not sampled
        expected = self._tokens.plain(request.expected) if drafting and request.expected else []
        # What the caller expects is run with the prompt's last chunk and
        # verified there: when it is right, the suggestion needs no more passes.
        draft = expected[: max(0, min(MAX_EXPECTED_DRAFT, request.max_new_tokens - 1))]
        with torch.inference_mode():
            state, reused = self._take(prompt_ids, request.cache_key)
            try:
                logits = self.decoder.prefill(state, prompt_ids, limits, draft)
                if sampled:
                    self.decoder.sample(
                        state,
                        logits[-1],
                        num,
                        limits,
                        candidates.push,
                        temperature=request.temperature or 0.6,
                    )
                else:
                    drafted = self.decoder.greedy(
                        state,
                        logits,
                        limits,
                        candidates.push,
                        drafting=drafting,
                        draft=draft,
                        expected=expected,
                    )
            except Halted as halted:  # between steps: what was computed stays valid
                halt = halted.reason  # type: ignore[assignment]
            # Any other error propagates, and the possibly half-updated state is dropped.
            self._keep(request.cache_key, state)
        return GenerationResult(
            candidates.result(halt), len(prompt_ids), cached_tokens=reused, drafted_tokens=drafted
        )

    # -- prompt cache -----------------------------------------------------

    def _take(self, prompt_ids: list[int], key: str | None) -> tuple[KVState, int]:
        slot, reused = self.prompt_cache.take(
            prompt_ids, key or "default", lambda state, n: state.copy_prefix(n)
        )
        if slot is None:
            return self.decoder.new_state(), 0
        slot.state.crop_to(reused)
        return slot.state, reused

    def _keep(self, key: str | None, state: KVState) -> None:
        if self.prompt_cache.enabled and state.tokens:
            self.prompt_cache.put(key or "default", state.tokens, state, state.nbytes())

    # -- prompts ----------------------------------------------------------

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
                ids.extend(self._tokens.plain(seg.text))
        if not ids:
            bos = self.tokenizer.bos_token_id
            ids = [bos if bos is not None else self._pad_id]
        return ids

    def _chat_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        if not getattr(self.tokenizer, "chat_template", None):
            # A base model without a chat template: a plain transcript still works.
            text = "".join(f"### {m.role.capitalize()}\n{m.content}\n\n" for m in messages)
            return self._tokens.plain(text + "### Assistant\n")
        # Render the template around placeholders, then encode the template's
        # own text with its markers and each message's content as plain text:
        # "<|im_end|>" in a user's code never becomes a control token.
        marks = [f"@@codegen-content-{uuid.uuid4().hex}@@" for _ in messages]
        text = self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": mark} for m, mark in zip(messages, marks, strict=True)],
            tokenize=False,
            add_generation_prompt=True,
        )
        ids: list[int] = []
        for mark, message in zip(marks, messages, strict=True):
            before, found, text = text.partition(mark)
            if not found:
                raise ValueError("the chat template does not show every message's content")
            ids += self._tokens.control(before) + self._tokens.plain(message.content)
        return ids + self._tokens.control(text)
