"""Fitting the remote engine to its server: the prompt budget it declares,
from the context the server reported (:mod:`discover`) and how fast it reads
a prompt; the reply that still fits a given prompt; and a refusal for length
told in numbers.

The budget is the server's context less the longest completion (at most a
quarter of it) and a margin: the service never guesses it from a device.
Within that, a server that reads prompts slowly (llama.cpp on a CPU) gets a
smaller one: every keystroke computes again what follows the cursor (the
suffix budget), and a cold prompt is computed whole, so both are sized by the
prefill speed measured once at load, as the local engine sizes its own by its
device.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from jupyter_codegen.engine.base import GenerationRequest
from jupyter_codegen.engine.remote.discover import ServerFacts
from jupyter_codegen.engine.remote.streams import Usage, read_usage
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError

#: The prefill time a keystroke may spend after the cursor, and a cold prompt whole (s).
KEYSTROKE_S, COLD_S = 0.5, 15.0
#: Bounds of the declared budgets (tokens); the budget without a measurement.
MIN_PROMPT, DEFAULT_PROMPT = 512, 4096
MIN_SUFFIX, MAX_SUFFIX = 64, 512
STEP = 64
#: The prefill measurement's deadline (s); slower counts as that slow.
MEASURE_TIMEOUT_S = 30.0
#: A server's refusal of a prompt as too long, in the words servers use.
TOO_LONG = re.compile(
    r"context (length|size|window)|max_model_len|max-model-len|maximum context|too long|"
    r"exceed",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Budget:
    context: int  # the server's context, prompt and reply (tokens)
    context_from: str
    reply: int  # kept for the reply
    margin: int  # kept for the template, the chat markup and counting errors
    prompt: int  # the completion prompt budget declared (EngineInfo.context_tokens)
    suffix: int  # of which after the cursor
    why: str

    def describe(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "context_from": self.context_from,
            "reply": self.reply,
            "margin": self.margin,
            "prompt": self.prompt,
            "suffix": self.suffix,
            "why": self.why,
        }

    def reply_room(self, prompt_tokens: int) -> int:
        """Tokens left for a reply after a prompt of ``prompt_tokens``."""
        return self.context - prompt_tokens - max(8, self.margin // 4)


def plan(facts: ServerFacts, fallback_context: int, reply_tokens: int) -> Budget:
    """The budget the engine declares (see the module doc)."""
    context = facts.context or fallback_context
    context_from = facts.context_from or (
        "CodegenApp.remote_context_fallback (the server reported none)"
    )
    margin = min(256, max(32, context // 16))
    # At most a quarter of the context: a longer reply is cut to what is left.
    reply_tokens = min(reply_tokens, context // 4)
    room = max(STEP, context - reply_tokens - margin)
    rate = facts.prefill_per_s
    if rate:
        cold = min(DEFAULT_PROMPT, max(MIN_PROMPT, _step(rate * COLD_S)))
        suffix = min(MAX_SUFFIX, max(MIN_SUFFIX, _step(rate * KEYSTROKE_S)))
        why = (
            f"prefill {rate:.0f} tokens/s ({facts.prefill_from}): a cold prompt of {cold} tokens "
            f"takes about {cold / rate:.1f} s, {suffix} after the cursor {suffix / rate:.2f} s"
        )
    else:
        cold, suffix = DEFAULT_PROMPT, MAX_SUFFIX
        why = "prefill speed not measured"
    prompt = min(room, cold)
    if prompt == room:
        why += f"; capped by the server's context ({context} - {reply_tokens} reply - {margin})"
    return Budget(
        context, context_from, reply_tokens, margin, prompt, min(suffix, prompt // 2), why
    )


def _step(tokens: float) -> int:
    return int(tokens) // STEP * STEP


def measure_prefill(
    upstream: Upstream, model: str, facts: ServerFacts, counter: TokenCounter
) -> None:
    """Time one prompt of about 435 tokens, never cached (a fresh first line;
    llama.cpp's ``cache_prompt`` off), to 1 generated token; record its speed
    in ``facts`` (llama.cpp's own ``timings`` where it reports them)."""
    lines = [f"# {uuid.uuid4().hex} measuring the prefill speed"]
    lines += [
        f"def step_{i}(values, scale={i}):\n    return [v * scale + {i} for v in values]"
        for i in range(16)
    ]
    prompt = "\n".join(lines) + "\n"
    payload: dict[str, Any] = {
        "model": model,
        "prompt": prompt,
        "max_tokens": 1,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if facts.cache_prompt:
        payload["cache_prompt"] = False
    usage, timings = Usage(), {}
    first: float | None = None
    started = time.monotonic()
    events = upstream.stream("completions", payload, lambda: False, timeout=MEASURE_TIMEOUT_S)
    try:
        for seen, event in enumerate(events):
            first = first or time.monotonic()
            read_usage(event, usage)
            if isinstance(event.get("timings"), dict):
                timings = event["timings"]
            if usage.prompt is not None or seen > 8:
                break
    except UpstreamError as exc:
        if exc.status != 504 or first is not None:
            facts.problems.append(str(exc))
            return
        first = time.monotonic()  # no answer in time: at most this fast
    finally:
        events.close()  # type: ignore[attr-defined]
    tokens = usage.prompt or counter.count(prompt)
    prompt_ms, prompt_n = timings.get("prompt_ms"), timings.get("prompt_n")
    if isinstance(prompt_ms, int | float) and isinstance(prompt_n, int) and prompt_ms > 0:
        facts.prefill_per_s = round(prompt_n / prompt_ms * 1000, 1)
        facts.prefill_from = f"{prompt_n} tokens, the server's timings"
    elif first is not None:
        facts.prefill_per_s = round(tokens / max(first - started, 1e-3), 1)
        facts.prefill_from = f"{tokens} tokens to the first reply, timed here"


def too_long(exc: UpstreamError) -> bool:
    """Whether the server refused the request as longer than its context."""
    return exc.upstream_status in (400, 413, 422, 500) and bool(TOO_LONG.search(str(exc)))


def fit_reply(
    budget: Budget, upstream: Upstream, request: GenerationRequest, prompt_tokens: int
) -> GenerationRequest:
    """``request`` with its reply cut to what the server's context leaves
    after the prompt (a 502 naming the limit when nothing is left)."""
    room = budget.reply_room(prompt_tokens)
    if room < 1:
        raise upstream.fail(
            502,
            f"cannot take this prompt: about {prompt_tokens} tokens, and its context is "
            f"{budget.context} ({budget.context_from}); lower CodegenApp.context_tokens "
            f"(the engine declares {budget.prompt})",
        )
    if request.max_new_tokens <= room:
        return request
    return dataclasses.replace(request, max_new_tokens=room)


def refusal(
    budget: Budget, upstream: Upstream, exc: UpstreamError, prompt_tokens: int, reply: int
) -> UpstreamError:
    """A refusal for length, told with the numbers the engine used."""
    if not too_long(exc):
        return exc
    return upstream.fail(
        502,
        f"refused the request as longer than its context: about {prompt_tokens} prompt "
        f"tokens and up to {reply} generated, within the {budget.context} tokens taken "
        f"from {budget.context_from}. Set CodegenApp.context_tokens lower (now "
        f"{budget.prompt} declared), or start the server with a larger context. "
        f"({str(exc).removeprefix(f'The inference server at {exc.upstream} ')})",
        exc.upstream_status,
    )
