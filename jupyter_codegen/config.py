"""Every server and administrator setting, as traitlets, in one place.

:class:`CodegenConfig` holds the traits; the server extension
(:class:`jupyter_codegen.server.app.CodegenApp`) inherits them, so they are set
as ``c.CodegenApp.<name>`` in ``jupyter_server_config.py`` (or on the command
line), and the kernel's in-process client reads the same files without the
server (:func:`from_config_files`). The user's UI preferences are the
frontend's settings (``schema/plugin.json``), not here.

It turns the traits into what the parts below take: the engine's settings
(:meth:`CodegenConfig.engine_settings`, for the engine registry) and the
service's limits (:meth:`CodegenConfig.service_limits`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import Bool, CaselessStrEnum, Float, Int, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from jupyter_codegen.engine.base import EngineOptions
from jupyter_codegen.engine.local.embedded import DEFAULT_EMBEDDED, default_cache_dir
from jupyter_codegen.engine.local.loader import LocalSettings
from jupyter_codegen.engine.local.sources import EMBEDDED_PREFIX
from jupyter_codegen.engine.remote.engine import RemoteSettings
from jupyter_codegen.env import API_KEY_ENV, MODEL_ENV, REMOTE_URL_ENV
from jupyter_codegen.families import check_family
from jupyter_codegen.service.build import HostSettings, build_service
from jupyter_codegen.service.limits import ServiceLimits
from jupyter_codegen.service.service import CodegenService


class CodegenConfig(Configurable):
    """The model, how it runs, and the limits of every request."""

    model = Unicode(
        EMBEDDED_PREFIX + DEFAULT_EMBEDDED,
        help=(
            "The model to host: 'embedded:qwen2.5-coder-1.5b-instruct' (default), "
            "'embedded:qwen2.5-coder-0.5b-instruct', a Hugging Face hub id "
            "(e.g. 'Qwen/Qwen2.5-Coder-7B'), a local transformers model directory, or "
            f"a .gguf file. The environment variable {MODEL_ENV} overrides it."
        ),
    ).tag(config=True)

    device = Unicode(
        "auto",
        help="torch device: 'auto' picks cuda, then mps, then cpu; or e.g. 'cuda:1', 'cpu'.",
    ).tag(config=True)

    dtype = CaselessStrEnum(
        ["auto", "bfloat16", "float16", "float32"],
        default_value="auto",
        help="Weights dtype: 'auto' is bfloat16 on CUDA (float16 without bf16 support), "
        "float16 on MPS, and on the CPU bfloat16 if it has native bf16 (AVX512-BF16, AMX), "
        "else float32 (emulated bf16 is about 3x slower to prefill).",
    ).tag(config=True)

    quantize = CaselessStrEnum(
        ["none", "int8", "auto"],
        default_value="auto",
        help="Weight quantization. 'auto' (default): int8 on the CPU, none elsewhere. 'int8' "
        "(CPU only) runs per-channel int8 Linear layers on inputs quantized per token: 2.6 "
        "GiB instead of 7 GiB for the embedded 1.5B and far faster than bfloat16 or float32 "
        "on a CPU; within the quality gate of float32 on the evaluations with int8_outliers "
        "(README, Evaluation). 'none' keeps the dtype above.",
    ).tag(config=True)

    int8_outliers = Bool(
        True,
        help="With int8 weights: keep the few inputs of each layer that would coarsen the "
        "rest's int8 scale out of the int8 product (found by one pass over a page of code "
        "while loading). Brings int8 within the quality gate of float32 (README, Evaluation) "
        "at some speed: on 2 CPU cores, prompts 20-40 % slower, so a cold request's first "
        "text comes 0.7-2 s later, typing and explanations 0-20 % slower across runs. "
        "False: the plain per-token int8 products.",
    ).tag(config=True)

    int8_rotation = Bool(
        False,
        help="With int8 weights, instead of int8_outliers: rotate each layer's inputs, and its "
        "weight to match, by random signs and a Hadamard transform in blocks of 128 channels, "
        "so that the few channels a hundred times larger than the rest no longer set each "
        "token's int8 scale. Prompts about 8 % slower than plain int8 instead of 20-40 %, and "
        "closer to float32 token by token (mean KL 0.0012 against 0.0033), but on the quality "
        "gate's 112 tasks it lost three exact matches and one HumanEval pass that float32 and "
        "the outlier inputs kept (README, Evaluation), so it is not the default.",
    ).tag(config=True)

    int8_decode = CaselessStrEnum(
        ["int4", "weight-only", "per-token"],
        default_value="int4",
        help="With int8 weights, how the tokens of a chat reply (explain, ask, generate, fix, "
        "edit, the magics) are computed. 'int4' (default): the layers that the model's GGUF "
        "file holds as 4-bit blocks (Q4_K: 168 of the embedded 1.5B's 197, or a .gguf model's) "
        "multiply by those blocks as the file has them, which reads half of int8's bytes per "
        "token and decodes about 1.4 times as fast as 'weight-only' (docs: Decoding against "
        "llama.cpp); the other layers, and models without such blocks, as 'weight-only'. It "
        "keeps a second, 4-bit copy of those layers in memory (about 0.7 GB for the embedded "
        "1.5B). 'weight-only': the inputs in bfloat16 times the int8 weights, which for one "
        "token at a time is faster than quantizing the inputs to int8. 'per-token': as the "
        "prompt. Prompts and completions always use the per-token int8 product, which is "
        "faster for many tokens at once (a prompt, a verified draft).",
    ).tag(config=True)

    low_memory = Bool(
        True,
        help="With int8 weights on the CPU and int8_decode 'int4' (the defaults): keep no int8 "
        "copy of the layers that the model's file holds as 4-bit blocks. Each prompt product "
        "computes their int8 weight from the blocks again (the same values, bit for bit, by a "
        "C kernel built on first use with the machine's C compiler; without one the copies "
        "stay and /status says why), and every step after a prompt, a completion's too, runs "
        "on the blocks. The embedded 1.5B then takes 1.9 GiB instead of 3.1; on 2 cores "
        "prompts take 15-20 % longer, ghost text in JupyterLab came as fast (docs: Memory). "
        "False keeps the int8 copies.",
    ).tag(config=True)

    prompt_cache_mb = Int(
        512,
        help="Memory (MiB) for the key/value caches of recent prompts. A request reuses the "
        "longest token prefix it shares with one, so while you type only the new tail of the "
        "prompt is computed. 0 turns reuse off.",
    ).tag(config=True)

    draft_tokens = Int(
        6,
        help="Prompt-lookup drafting: most tokens proposed per decoding step from text that "
        "already appears in the prompt, verified in one pass (output is the same as without). "
        "0 turns it off, and also the use of a document's last suggestion while the user types "
        "its start: verified as a draft by the local engine; with a remote server, which "
        "cannot verify a draft, taken as suggested and continued by the server.",
    ).tag(config=True)

    cache_dir = Unicode(
        help="Where embedded models are converted and kept "
        "(default: $XDG_CACHE_HOME/jupyter-codegen, else ~/.cache/jupyter-codegen).",
    ).tag(config=True)

    @default("cache_dir")
    def _default_cache_dir(self) -> str:
        return str(default_cache_dir())

    completion_max_tokens = Int(
        256, help="Most new tokens one completion may generate (a larger max_tokens is clamped)."
    ).tag(config=True)
    completion_default_tokens = Int(
        64, help="New tokens for a completion request that does not say (max_tokens)."
    ).tag(config=True)
    explain_max_tokens = Int(
        1024, help="Most new tokens one explanation may generate (a larger max_tokens is clamped)."
    ).tag(config=True)
    explain_default_tokens = Int(
        512, help="New tokens for an explanation request that does not say."
    ).tag(config=True)
    context_tokens = Int(
        0,
        help="Token budget of a completion prompt: the active cell around the cursor plus the "
        "other cells that fit. 0 (auto) is 4096 on a GPU; on the CPU 1024 with int8 weights "
        "(chosen from the evaluation: with prompt reuse a keystroke computes only the prompt's "
        "new tail) and 512 with float32 ones, which prefill at less than half the speed.",
    ).tag(config=True)
    suffix_tokens = Int(
        0,
        help="Most prompt tokens after the cursor (the rest of the cell, then following "
        "cells). They are computed again on every keystroke. 0 (auto) is 512 on a GPU and 64 "
        "on the CPU.",
    ).tag(config=True)
    max_candidates = Int(
        4, help="Most completion candidates per request (a larger n is clamped)."
    ).tag(config=True)
    max_concurrent_generations = Int(
        1,
        help="Generations that run at once. Others wait in a queue. On a CPU one is best; "
        "a GPU can take more.",
    ).tag(config=True)
    max_queued_requests = Int(
        8, help="Requests that may wait for a generation slot; more get 429."
    ).tag(config=True)
    queue_timeout = Float(
        60.0,
        help="Seconds a request may wait for a generation slot before it gets 429 (0: no limit).",
    ).tag(config=True)
    max_request_bytes = Int(
        2 * 1024 * 1024, help="Largest request body accepted; larger ones get 413."
    ).tag(config=True)
    generation_timeout = Float(
        120.0, help="Seconds after which a generation is stopped (finish_reason 'timeout')."
    ).tag(config=True)
    completion_timeout = Float(
        15.0,
        help="Seconds a completion (ghost text) may take, at most generation_timeout "
        "(0: generation_timeout). One cut by it comes back shorter but whole, or not at "
        "all (finish_reason 'timeout'); never as a truncated line.",
    ).tag(config=True)
    fim_family = Unicode(
        "auto",
        help="Fill-in-the-middle template: 'auto' detects it from the vocabulary; or one of "
        "qwen2.5-coder, codegemma, starcoder, deepseek-coder, codellama, plain.",
    ).tag(config=True)

    @validate("fim_family")
    def _check_fim_family(self, proposal: Any) -> str:
        try:
            return check_family(str(proposal["value"]))
        except ValueError as exc:
            raise TraitError(f"CodegenApp.{exc}") from None

    remote_url = Unicode(
        "",
        help="Base URL of an OpenAI-compatible inference server (vLLM, llama.cpp server, "
        "Ollama, transformers serve), e.g. 'http://vllm:8000/v1'. When set, no model is loaded "
        "here: the server generates, and `model` names the model on it (the embedded default "
        f"means: the first model it lists). The environment variable {REMOTE_URL_ENV} "
        "overrides it.",
    ).tag(config=True)
    remote_api_key = Unicode(
        "",
        help="API key of the remote inference server, sent as a bearer token; never logged "
        f"nor shown. The environment variable {API_KEY_ENV} overrides it.",
    ).tag(config=True)
    remote_connect_timeout = Float(
        5.0, help="Seconds to wait for the remote inference server to accept a connection."
    ).tag(config=True)
    remote_read_timeout = Float(
        60.0,
        help="Seconds the remote inference server may stay silent in a reply (the prefill "
        "before the first token included) before the request fails with 504.",
    ).tag(config=True)
    remote_context_fallback = Int(
        4096,
        help="The remote model's context (prompt and reply, in tokens) when its server does not "
        "report one. vLLM reports max_model_len, llama.cpp its context per slot, Ollama its "
        "num_ctx; transformers serve and others report none. The prompt budget is this less "
        "completion_max_tokens and a margin, unless context_tokens is set.",
    ).tag(config=True)
    tokenizer_file = Unicode(
        "",
        help="The remote model family's tokenizer.json (or a directory holding one), to count "
        "prompt tokens exactly with the 'tokenizers' package; without it they are estimated "
        "on the high side. The local engine uses its own tokenizer.",
    ).tag(config=True)

    load_on_start = Bool(
        True,
        help="Start loading the model in the background when the server starts. If False, "
        "the first request starts it (and gets 503 until the model is ready).",
    ).tag(config=True)

    def model_spec(self) -> str:
        return os.environ.get(MODEL_ENV, "").strip() or self.model

    def remote_settings(self) -> RemoteSettings | None:
        """The remote engine's settings, or None to load a model here."""
        url = os.environ.get(REMOTE_URL_ENV, "").strip() or self.remote_url.strip()
        if not url:
            return None
        spec = self.model_spec()
        return RemoteSettings(
            url=url,
            model=None if spec == "embedded" or spec.startswith(EMBEDDED_PREFIX) else spec,
            api_key=os.environ.get(API_KEY_ENV, "").strip() or self.remote_api_key or None,
            connect_timeout=self.remote_connect_timeout,
            read_timeout=self.remote_read_timeout,
            tokenizer_file=self.tokenizer_file or None,
            fim_family=self.fim_family,
            context_fallback=max(256, self.remote_context_fallback),
            reply_tokens=self.completion_max_tokens,
            # Timing a prompt sizes the budget; not needed when both are set.
            measure_prefill=not (self.context_tokens and self.suffix_tokens),
            continue_expected=self.draft_tokens > 0,
        )

    def engine_settings(self) -> LocalSettings | RemoteSettings:
        """What the engine registry loads: the remote engine's settings when a
        remote URL is set, else the local engine's."""
        remote = self.remote_settings()
        if remote is not None:
            return remote
        return LocalSettings(
            model=self.model_spec(),
            device=self.device,
            dtype=self.dtype,
            cache_dir=Path(self.cache_dir).expanduser(),
            options=EngineOptions(
                quantize=self.quantize,
                int8_outliers=self.int8_outliers,
                int8_rotation=self.int8_rotation,
                int8_decode=self.int8_decode,
                low_memory=self.low_memory,
                prompt_cache_bytes=max(0, self.prompt_cache_mb) * 1024 * 1024,
                draft_tokens=max(0, self.draft_tokens),
                fim_family=self.fim_family,
            ),
        )

    def service_limits(self) -> ServiceLimits:
        return ServiceLimits(
            completion_max_tokens=self.completion_max_tokens,
            completion_default_tokens=self.completion_default_tokens,
            explain_max_tokens=self.explain_max_tokens,
            explain_default_tokens=self.explain_default_tokens,
            context_tokens=self.context_tokens,
            suffix_tokens=self.suffix_tokens,
            max_candidates=self.max_candidates,
            max_prompt_chars=self.max_request_bytes,
            generation_timeout=self.generation_timeout,
            completion_timeout=self.completion_timeout,
        )

    def host_settings(self) -> HostSettings:
        return HostSettings(
            max_concurrent=self.max_concurrent_generations,
            max_queued=self.max_queued_requests,
            queue_timeout=self.queue_timeout,
        )

    def build_service(self, *, freeze_heap: bool = False) -> CodegenService:
        """The model host and the service over it, from these settings; loading
        has not started. ``freeze_heap``: the host freezes the process's heap
        after loading (the server's process only; a kernel's heap is the user's)."""
        return build_service(
            self.engine_settings(),
            self.service_limits(),
            self.host_settings(),
            freeze_heap=freeze_heap,
        )


def from_config_files() -> CodegenConfig:
    """The settings as a Jupyter server would read them from its configuration
    files (``c.CodegenApp.<name>``), without starting one: for code in a kernel."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.application import Application

    config = Config()
    paths = jupyter_config_path()
    for name in ("jupyter_config", "jupyter_server_config"):
        for loaded in Application._load_config_files(name, path=paths[::-1]):
            # traitlets 5 yields (config, file name); older ones the config alone
            config.merge(loaded[0] if isinstance(loaded, tuple) else loaded)
    # The server's section is CodegenApp (a subclass); read it as this class's.
    ours = Config()
    ours.CodegenConfig.merge(config.get("CodegenConfig", Config()))
    ours.CodegenConfig.merge(config.get("CodegenApp", Config()))
    return CodegenConfig(config=ours)
