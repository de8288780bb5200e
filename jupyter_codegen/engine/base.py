"""The engine seam: what every model backend provides.

An engine is synchronous and runs in a worker thread. Everything that cuts
across engines (concurrency limits, queueing, timing, cancellation by request
id, streaming onto the event loop) lives in :mod:`jupyter_codegen.engine.host`,
which wraps an engine instead of editing it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

FinishReason = Literal["stop", "length", "cancelled", "scope", "timeout"]


@dataclass(frozen=True)
class Segment:
    """A piece of a raw prompt. ``special`` pieces name one special token of the
    vocabulary (``<|fim_prefix|>``); text pieces are tokenized as plain text, so a
    user's code that happens to contain such a marker cannot inject it."""

    text: str
    special: bool = False


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


#: Called in the worker thread each time a candidate's text grows, with the
#: candidate's index and the new text only (a stateful check keeps the rest);
#: returning True stops that candidate (finish reason "scope"). Used for
#: syntax-aware early stopping (completion.stopping.StopChecker).
StopCheck = Callable[[int, str], bool]

#: Called in the worker thread with (candidate index, new text).
DeltaCallback = Callable[[int, str], None]


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: either a raw prompt (``segments``) or a chat (``messages``).
    ``max_new_tokens`` 0 asks for the prompt's computation only, kept by an
    engine with a prompt cache for the requests that follow (a prefetch)."""

    max_new_tokens: int
    segments: Sequence[Segment] = ()
    messages: Sequence[ChatMessage] = ()
    num_candidates: int = 1
    temperature: float = 0.0
    stop_tokens: Sequence[str] = ()
    stop_check: StopCheck | None = None
    timeout_s: float | None = None
    #: The document this prompt belongs to (a notebook or file path and the
    #: request kind). Engines that keep prompt caches replace that document's
    #: slot; reuse itself is by content, whatever the key.
    cache_key: str | None = None
    #: Text the caller expects the output to begin with (what is left of this
    #: document's previous suggestion after the user typed its start). The
    #: local engine verifies it as a draft, so it never changes that engine's
    #: output; the remote engine, whose servers cannot verify one, starts a
    #: greedy completion with it and asks the server for what follows.
    expected: str = ""


@dataclass(frozen=True)
class Candidate:
    text: str
    finish_reason: FinishReason
    tokens: int


@dataclass(frozen=True)
class GenerationResult:
    candidates: list[Candidate]
    prompt_tokens: int
    #: Prompt tokens whose computation was reused from an earlier request.
    cached_tokens: int = 0
    #: Generated tokens that came from a verified draft, not a pass of their own.
    drafted_tokens: int = 0


@dataclass(frozen=True)
class EngineOptions:
    """How the local engine runs (from the CodegenApp traits)."""

    #: "none"; "int8" (CPU only); "auto": int8 on the CPU, none elsewhere.
    quantize: str = "none"
    #: int8 only: keep the inputs that calibration finds large out of the int8
    #: products (closer to float32, slower; see calibration.calibrate).
    int8_outliers: bool = True
    #: int8 only: rotate each layer's inputs and weights instead (a block
    #: Hadamard transform, rotation.Rotation); int8_outliers is then unused.
    int8_rotation: bool = False
    #: int8 only: how a chat reply's tokens are computed: "int4" (the GGUF's
    #: Q4_K blocks where it has them, int4.py; "weight-only" elsewhere),
    #: "weight-only" (bfloat16 inputs times the int8 weights,
    #: kernels.weight_only_products) or "per-token" (as the prompt).
    #: Completions always run as the prompt.
    int8_decode: str = "int4"
    #: int8_decode "int4" only: keep no int8 copy of the layers that have 4-bit
    #: blocks, computing their int8 weight for each prompt product (requant.py).
    low_memory: bool = False
    #: Bytes of key/value caches kept for reuse across requests (0: none).
    prompt_cache_bytes: int = 512 * 1024 * 1024
    #: Most tokens drafted from the prompt per step of greedy decoding (0: none).
    draft_tokens: int = 6
    #: The fill-in-the-middle family: "auto" detects it from the vocabulary.
    fim_family: str = "auto"


@dataclass(frozen=True)
class EngineInfo:
    """What an engine says about itself: the status endpoint shows it, and the
    service takes the engine's family and prompt budget from it."""

    model: str
    device: str
    dtype: str
    #: The fill-in-the-middle family (a key of families.TEMPLATES_BY_FAMILY).
    family: str = "plain"
    #: Where the family came from: "setting", "vocabulary", "metadata", "name" or "default".
    family_source: str = "default"
    #: The completion prompt budget the engine declares (tokens): the whole
    #: prompt, and the part after the cursor, which is computed again on every
    #: keystroke. The local engine sizes it by its device and weights, the
    #: remote one by its server.
    context_tokens: int = 4096
    suffix_tokens: int = 512
    parameters: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Engine(Protocol):
    """A loaded model. Implementations must be safe to call from several worker
    threads when the host allows more than one concurrent generation."""

    def info(self) -> EngineInfo: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None = None,
    ) -> GenerationResult:
        """Generate, calling ``on_delta`` as text arrives (streaming), and stop
        within one decode step once ``cancel`` is set."""
        ...
