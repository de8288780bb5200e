"""The local engine's decode loop: prefill in chunks that a cancel can
interrupt, greedy decoding with prompt-lookup drafting, and sampled candidates
that share one prefill.

Part of the local (transformers) engine, like :mod:`.quantize`; nothing else
imports torch. It calls the model's forward directly instead of ``generate``:

- ``generate`` checks its stopping criteria only after the whole prefill, so a
  cancelled request would hold the model for seconds on a CPU. Here the
  prefill runs in chunks of at most ``chunk_tokens``, and the cancel is checked
  before every decoder layer: the layers that already took the interrupted
  chunk are rolled back. On a CPU every forward pass reads all the weights, so
  small chunks are slow (int8 1.5B on 2 cores: 17.7 ms a token in chunks of 8,
  7.5 ms in chunks of 45); checking between layers keeps a cancel within one
  layer's time (tens of ms) without making chunks small. The chunks depend on
  the token counts only (:func:`chunk_sizes`), never on timing: computing a
  prompt in other chunks can flip a near-tie between two tokens, so a layout
  sized by speed made the same request answer differently from run to run;
- prompt-lookup drafting: the tokens that followed the last n-gram earlier in
  the prompt or output are proposed and verified in one forward pass. Code
  repeats names, calls and whole lines, and the verification keeps exactly
  the tokens greedy decoding would have chosen;
- the key/value cache is the caller's, so it can be reused across requests
  (:mod:`.prefix_cache`): generate with a non-empty cache is unreliable in
  transformers 5 (it re-feeds cached tokens when drafting).
"""

from __future__ import annotations

import copy
import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from jupyter_codegen.engine.local.drafting import draft_tokens
from jupyter_codegen.engine.local.kernels import weight_only_products
from jupyter_codegen.engine.local.kv import KVState

#: Called with (candidate index, token id); True when that candidate is done.
TokenSink = Callable[[int, int], bool]


#: The longest prefill chunk on a CPU (see :class:`Decoder`). int8 1.5B on 2
#: cores: a 1,024-token prompt took as long in chunks of 128 as of 256 and
#: longer in chunks of 64 or 512; a layer's share of a 128-token chunk is
#: about 35-50 ms, the most a cancel waits.
CPU_CHUNK_TOKENS = 128


class Halted(Exception):
    """The request was cancelled or ran out of time; ``reason`` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class RunLimits:
    """What ends a request as a whole."""

    max_new_tokens: int
    cancel: threading.Event
    deadline: float | None = None

    def check(self) -> None:
        if self.cancel.is_set():
            raise Halted("cancelled")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Halted("timeout")


def chunk_sizes(n_tokens: int, chunk_tokens: int) -> list[int]:
    """How a prefill of ``n_tokens`` is cut: as few chunks of at most
    ``chunk_tokens`` as will do, of near-equal sizes (no short last chunk,
    which would cost nearly a whole pass for a few tokens)."""
    if n_tokens <= 0:
        return []
    count = -(-n_tokens // max(1, chunk_tokens))
    small, extra = divmod(n_tokens, count)
    return [small + 1] * extra + [small] * (count - extra)


def _limits_check(running: threading.local) -> Callable[[Any, Any], None]:
    """A forward pre-hook that checks the limits of the pass running in this
    thread (``running.limits``) before a decoder layer."""

    def before_layer(_module: Any, _args: Any) -> None:
        limits = getattr(running, "limits", None)
        if limits is not None:
            limits.check()

    return before_layer


class Decoder:
    """Runs prefill and decoding for one model on one device."""

    def __init__(
        self,
        model: Any,
        device: str,
        *,
        chunk_tokens: int | None = None,
        max_draft: int = 6,
    ):
        self.model = model
        self.device = device
        #: The longest prefill chunk. On a CPU a chunk's time per layer bounds
        #: how long a cancel waits; on a GPU a pass costs little more for more tokens.
        self.chunk_tokens = chunk_tokens or (CPU_CHUNK_TOKENS if device == "cpu" else 512)
        self.max_draft = max_draft
        # The limits of the forward pass running in this thread, checked before
        # each decoder layer.
        self._running = threading.local()
        self.layer_checks = 0
        # The hook holds the thread-local, not the decoder: a bound method would
        # make a model <-> decoder cycle, which only the cyclic collector frees.
        before_layer = _limits_check(self._running)
        for layer in _decoder_layers(model):
            layer.register_forward_pre_hook(before_layer)
            self.layer_checks += 1
        #: Drafted tokens that verification kept, over the decoder's life.
        self.drafted_kept = 0
        params = inspect.signature(model.forward).parameters
        # transformers 5 names the cache argument ``cache``; 4.x ``past_key_values``.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def new_state(self) -> KVState:
        from transformers import DynamicCache

        # Without the config, every layer keeps its whole past: sliding-window
        # layers (Mistral, StarCoder2, Gemma) could not be cropped for reuse.
        return KVState(DynamicCache())

    # -- forward ------------------------------------------------------------

    def _run(self, state: KVState, limits: RunLimits, **inputs: Any) -> Any:
        """One forward pass over ``state``'s cache that a cancel can stop between
        layers; then the layers that took the new tokens are rolled back."""
        self._running.limits = limits
        try:
            return self.model(use_cache=True, **{self._cache_arg: state.cache}, **inputs)
        except Halted:
            keep = len(state.tokens)
            for layer in getattr(state.cache, "layers", ()):
                extra = layer.get_seq_length() - keep
                if extra > 0:
                    layer.crop(-extra)
            raise
        finally:
            self._running.limits = None

    def _forward(
        self, state: KVState, ids: list[int], keep: int, limits: RunLimits
    ) -> torch.Tensor:
        """Run ``ids`` after what ``state`` holds; the logits of the last ``keep``
        positions, shape (batch, keep, vocab)."""
        start = len(state.tokens)
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        positions = torch.arange(start, start + len(ids), device=self.device).unsqueeze(0)
        out = self._run(
            state, limits, input_ids=input_ids, position_ids=positions, logits_to_keep=keep
        )
        state.tokens.extend(ids)
        return out.logits

    def prefill(
        self, state: KVState, prompt: list[int], limits: RunLimits, draft: list[int] | None = None
    ) -> torch.Tensor:
        """Extend ``state`` (whose tokens are a prefix of ``prompt``, shorter than
        it) to the whole prompt, in chunks, then to ``draft`` (tokens proposed to
        follow it, run with the last chunk and verified by :meth:`greedy`). The
        logits of the last prompt position and of each draft token, shape
        (1 + len(draft), vocab). Raises :class:`Halted` between chunks; ``state``
        then holds what was done."""
        draft = draft or []
        pos = len(state.tokens)
        if pos >= len(prompt) or prompt[:pos] != state.tokens:
            # A cache that covers the whole prompt would give silently wrong
            # logits, one holding other tokens wrong ones: never run on either.
            raise ValueError(
                f"the cache holds {pos} tokens that are not a proper prefix of the "
                f"{len(prompt)}-token prompt"
            )
        sizes = chunk_sizes(len(prompt) - pos, self.chunk_tokens)
        for index, size in enumerate(sizes):
            limits.check()
            last = index == len(sizes) - 1
            ids = prompt[pos : pos + size] + (draft if last else [])
            logits = self._forward(state, ids, 1 + len(draft) if last else 1, limits)
            pos += size
        return logits[0, -1 - len(draft) :]

    # -- greedy -------------------------------------------------------------

    def greedy(
        self,
        state: KVState,
        logits: torch.Tensor,
        limits: RunLimits,
        sink: TokenSink,
        *,
        drafting: bool = True,
        draft: list[int] | None = None,
        expected: list[int] | None = None,
        weight_only: bool = False,
        draft_on_prompt_kernel: bool = False,
    ) -> int:
        """Greedy decoding after a prefill whose logits are ``logits``: those of
        the last prompt position, then of each ``draft`` token the prefill ran
        after the prompt. Every chosen token goes to ``sink`` in order until it
        says done. Drafted tokens (``draft``, then at each step what
        :func:`draft_tokens` proposes from ``expected`` and the text so far) are
        kept only where they equal the model's own choice, so the output is
        that of plain greedy decoding. Returns the number of drafted tokens kept.

        With ``weight_only`` the steps after the prefill run the int8 layers on
        the weights alone (:func:`.kernels.weight_only_products`), whose rows do
        not depend on each other: the output is still that of plain greedy
        decoding on that kernel. A ``draft`` run with the prompt was computed
        on the prompt's kernel, so it is combined with it only with
        ``draft_on_prompt_kernel``: its tokens are then the prompt kernel's
        choices, and where the two kernels differ on a near-tie the output
        differs from that without the draft."""
        if weight_only and draft and not draft_on_prompt_kernel:
            raise ValueError("a draft run with the prompt cannot be verified weight-only")
        draft = list(draft or [])
        seq = state.tokens[: len(state.tokens) - len(draft)]
        start = len(seq)
        choices = logits.argmax(-1).tolist()
        # (A draft run with the prompt never reaches max_new_tokens.)
        draft = draft[: max(0, limits.max_new_tokens - 1)]
        produced = drafted = 0
        while True:
            kept = 0
            for proposed, chosen in zip(draft, choices, strict=False):
                if proposed != chosen:
                    break
                if limits.cancel.is_set():  # nothing more reaches the client
                    state.crop_to(len(seq))
                    raise Halted("cancelled")
                seq.append(proposed)
                produced += 1
                kept += 1
                self.drafted_kept += 1
                drafted += 1
                if sink(0, proposed):
                    state.crop_to(len(seq) - 1)
                    return drafted
            state.crop_to(len(seq))
            token = int(choices[kept])
            seq.append(token)
            produced += 1
            if sink(0, token) or produced >= limits.max_new_tokens:
                return drafted
            limits.check()
            room = limits.max_new_tokens - produced - 1
            draft = []
            if drafting:
                wanted = min(self.max_draft, room)
                out = seq[start:]
                if expected and expected[: len(out)] == out:  # still on the expected path
                    draft = expected[len(out) : len(out) + wanted]
                draft = draft or draft_tokens(seq, wanted, expected=expected)
            with weight_only_products(weight_only):
                step = self._forward(state, [token, *draft], 1 + len(draft), limits)[0]
            choices = step.argmax(-1).tolist()

    # -- sampling -----------------------------------------------------------

    def sample(
        self,
        state: KVState,
        logits: torch.Tensor,
        num: int,
        limits: RunLimits,
        sink: TokenSink,
        *,
        temperature: float,
        top_p: float = 0.95,
        generator: torch.Generator | None = None,
        weight_only: bool = False,
    ) -> None:
        """``num`` sampled candidates that share the prefill in ``state``, which
        is left as it was (the prompt only); ``weight_only`` as in :meth:`greedy`."""
        work = KVState(copy.deepcopy(state.cache), list(state.tokens))
        if num > 1:
            work.cache.batch_repeat_interleave(num)
        done = [False] * num
        row_logits = logits.unsqueeze(0).expand(num, -1)
        for produced in range(1, limits.max_new_tokens + 1):
            tokens = _sample_rows(row_logits, temperature, top_p, generator)
            for i, tok in enumerate(tokens):
                if not done[i]:
                    done[i] = sink(i, tok)
            if all(done) or produced >= limits.max_new_tokens:
                return
            limits.check()
            ids = torch.tensor([[t] for t in tokens], dtype=torch.long, device=self.device)
            start = len(work.tokens)
            positions = torch.full((num, 1), start, dtype=torch.long, device=self.device)
            with weight_only_products(weight_only):
                out = self._run(
                    work, limits, input_ids=ids, position_ids=positions, logits_to_keep=1
                )
            work.tokens.append(tokens[0])  # only the length matters here
            row_logits = out.logits[:, -1]


def _decoder_layers(model: Any) -> list[Any]:
    """The model's stack of decoder layers (``model.model.layers`` in most
    transformers causal LMs, else the ModuleList as long as the layer count)."""
    count = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is not None and (count is None or len(layers) == count):
        return list(layers)
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and count and len(module) == count:
            return list(module)
    return []


def _sample_rows(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> list[int]:
    probs = torch.softmax(logits.float() / max(temperature, 1e-4), dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    cumulative = sorted_probs.cumsum(dim=-1)
    # Keep the smallest set of tokens whose mass reaches top_p (at least one).
    sorted_probs = sorted_probs.masked_fill(cumulative - sorted_probs > top_p, 0.0)
    picked = torch.multinomial(sorted_probs, 1, generator=generator)
    return order.gather(-1, picked).squeeze(-1).tolist()
