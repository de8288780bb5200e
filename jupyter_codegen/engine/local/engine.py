"""Hugging Face transformers + torch engine: the local engine.

With :mod:`.decode` (the decode loop) and :mod:`.quantize` (int8 weights) it
is the only code that imports torch. Each generation reuses the longest
token prefix it shares with a recent prompt (:mod:`.prefix_cache`), so while
the user types only the unseen tail of the prompt is computed.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from jupyter_codegen.engine.base import (
    DeltaCallback,
    EngineInfo,
    EngineOptions,
    FinishReason,
    GenerationRequest,
    GenerationResult,
)
from jupyter_codegen.engine.local.candidates import Candidates
from jupyter_codegen.engine.local.cpu_weights import prepare_int8
from jupyter_codegen.engine.local.decode import Decoder, Halted, RunLimits
from jupyter_codegen.engine.local.device import pick_device, pick_dtype, prompt_budget, wants_int8
from jupyter_codegen.engine.local.kernels import weight_only_supported
from jupyter_codegen.engine.local.kv import KVState
from jupyter_codegen.engine.local.prefix_cache import PrefixCache
from jupyter_codegen.engine.local.quantize import trim_heap, weight_bytes
from jupyter_codegen.engine.local.tokenizer import Tokenizers
from jupyter_codegen.families import choose_family

log = logging.getLogger(__name__)

#: Most tokens of a request's ``expected`` text run with its prompt's last
#: chunk: enough for a line of code. On a CPU, 32 more tokens in that pass cost
#: about as much as two passes over one token, right or wrong.
MAX_EXPECTED_DRAFT = 32


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


#: Loading progress after the weights are read (the rest: int8, tokenizers).
WEIGHTS_LOADED = 0.7


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
        eos = tokenizer.eos_token_id
        self._eos_ids = {eos} if isinstance(eos, int) else set(eos or ())
        gen_eos = getattr(model.generation_config, "eos_token_id", None)
        if isinstance(gen_eos, int):
            self._eos_ids.add(gen_eos)
        elif gen_eos:
            self._eos_ids.update(gen_eos)
        pad = tokenizer.pad_token_id
        # (Each copy of Qwen's fast tokenizer holds some 30 MiB: low_memory
        # builds one at first, and more only when threads ask at once.)
        self.tokens = Tokenizers(
            tokenizer,
            pad if pad is not None else next(iter(self._eos_ids), 0),
            plain=1 if options.low_memory else 3,
        )
        self._vocab = self.tokens.vocab
        self.template, self.family_source = choose_family(
            options.fim_family, has_token=self.has_token
        )
        self._parameters = parameters or sum(p.numel() for p in model.parameters())
        self._weight_bytes = weight_bytes(model)
        self.decoder = Decoder(model, device, max_draft=options.draft_tokens)
        #: Whether a chat reply's tokens run on the int8 weights alone
        #: (benchmarks/decode.py switches it to compare). Not with rotated
        #: inputs: the rotation's float product depends on the row count, so a
        #: verified draft would not get what a single step gets.
        self.weight_only_replies = (
            quantized
            and options.int8_decode in ("weight-only", "int4")
            and not options.int8_rotation
            and weight_only_supported()
        )
        #: Int8 layers that run a reply's steps on the GGUF's Q4_K blocks (int4.py).
        self.int4_layers = sum(getattr(m, "int4", None) is not None for m in model.modules())
        #: Of those, the ones that keep no int8 weight (requant.py): every step
        #: after a prompt, a completion's too, then runs on the blocks.
        self.lean_layers = sum(getattr(m, "int8_source", None) is not None for m in model.modules())
        #: Why low_memory was asked for and is not in effect.
        self.lean_unavailable: str | None = None
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
            lean_unavailable = prepare_int8(model, tokenizer, path, gguf_file, options, report)
            report(0.95)
            engine = cls(
                model,
                tokenizer,
                name=name,
                device=dev,
                options=options,
                quantized=True,
                parameters=parameters,
            )
            if options.low_memory and not engine.lean_layers:
                engine.lean_unavailable = lean_unavailable or "no layer's blocks fit the kernel"
                log.info("low_memory is not in effect: %s", engine.lean_unavailable)
            gc.collect()  # (loading's cycles hold temporaries)
            trim_heap()
            return engine
        torch_dtype = pick_dtype(dtype, dev)
        model, tokenizer = load_pretrained(path, gguf_file=gguf_file, dtype=torch_dtype)
        report(WEIGHTS_LOADED)
        model.to(dev)
        report(0.9)
        engine = cls(model, tokenizer, name=name, device=dev, options=options)
        if options.low_memory:
            engine.lean_unavailable = "it needs int8 weights on the CPU (quantize)"
        return engine

    # -- Engine interface -------------------------------------------------

    def _quantization(self) -> str:
        inputs = "int8 per-channel weights, inputs int8 per token"
        if self.options.int8_rotation:
            inputs += ", rotated (block Hadamard)"
        elif self.options.int8_outliers:
            inputs += ", outlier inputs in float32"
        if self.lean_layers:
            inputs += (
                f"; {self.lean_layers} layers keep only the GGUF's 4-bit weights (int8 computed "
                "from them for prompts), every step after a prompt on them"
            )
        elif self.weight_only_replies and self.int4_layers:
            inputs += (
                f"; chat replies on the GGUF's 4-bit weights ({self.int4_layers} layers), "
                "weight-only elsewhere"
            )
        elif self.weight_only_replies:
            inputs += "; chat replies weight-only"
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
        if self.options.low_memory:
            extra["low_memory"] = {"layers": self.lean_layers, "unavailable": self.lean_unavailable}
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
        return len(self.tokens.plain(text))

    def generate(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None = None,
    ) -> GenerationResult:
        prompt_ids = self.prompt_ids(request)
        stop_ids = set(self._eos_ids)
        for tok in request.stop_tokens:
            if tok in self._vocab:
                stop_ids.add(self._vocab[tok])
        num = request.num_candidates
        candidates = Candidates(self.tokens, num, stop_ids, request.stop_check, on_delta)
        deadline = time.monotonic() + request.timeout_s if request.timeout_s else None
        limits = RunLimits(request.max_new_tokens, cancel, deadline)
        if cancel.is_set():
            return GenerationResult(candidates.result("cancelled"), len(prompt_ids))
        halt: FinishReason | None = None
        drafted = 0
        sampled = num > 1 or request.temperature > 0
        drafting = self.options.draft_tokens > 0 and not sampled
        expected = self.tokens.plain(request.expected) if drafting and request.expected else []
        # What the caller expects is run with the prompt's last chunk and
        # verified there: when it is right, the suggestion needs no more passes.
        draft = expected[: max(0, min(MAX_EXPECTED_DRAFT, request.max_new_tokens - 1))]
        # A chat reply's tokens run on the weights alone (one row at a time,
        # where that kernel is faster); completions keep the prompt's kernel,
        # since their steps verify drafts, many rows at once. Without int8
        # copies (requant.py) every step runs on the blocks, and the expected
        # text is verified with the prompt, on the prompt's kernel.
        lean = self.lean_layers > 0
        weight_only = self.weight_only_replies and (lean or (bool(request.messages) and not draft))
        with torch.inference_mode():
            state, reused = self._take(prompt_ids, request.cache_key)
            try:
                logits = self.decoder.prefill(state, prompt_ids, limits, draft)
                if request.max_new_tokens <= 0:
                    pass  # a prefill only: its computation is kept for the next request
                elif sampled:
                    self.decoder.sample(
                        state,
                        logits[-1],
                        num,
                        limits,
                        candidates.push,
                        temperature=request.temperature or 0.6,
                        weight_only=weight_only,
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
                        weight_only=weight_only,
                        draft_on_prompt_kernel=lean,
                    )
            except Halted as halted:  # between steps: what was computed stays valid
                halt = halted.reason  # type: ignore[assignment]
            # Any other error propagates, and the possibly half-updated state is dropped.
            if weight_only:
                # Only what the prompt's kernel computed is kept: a later prompt
                # that reuses it gets the keys and values it would compute itself.
                state.crop_to(len(prompt_ids))
            self._keep(request.cache_key, state)
        if self.lean_layers:
            trim_heap()  # what the activations took goes back to the system (~5 ms)
        chosen = candidates.result(halt) if request.max_new_tokens > 0 else []
        return GenerationResult(
            chosen, len(prompt_ids), cached_tokens=reused, drafted_tokens=drafted
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

    def prompt_ids(self, request: GenerationRequest) -> list[int]:
        """The token ids of a request's prompt, as :meth:`generate` runs it."""
        if request.messages:
            return self.tokens.chat_ids(request.messages)
        return self.tokens.segment_ids(request.segments)
