"""The remote engine: generation by an OpenAI-compatible inference server.

One server (vLLM, the llama.cpp server, Ollama, SGLang, TGI, LM Studio,
``transformers serve``) serves every user's Jupyter server. This engine loads
no model: it renders the prompt here, as text, and streams the server's
reply.

- Loading asks the server what it holds and reads (:mod:`discover`): its
  context, the model's vocabulary and metadata; times one prompt; and from
  that declares its prompt budget (:mod:`fit`) and FIM family (:mod:`family`).
- Completions: the fill-in-the-middle prompt is built from the family's
  template and sent as ``prompt`` to ``/completions`` (``suffix`` is not
  used: vLLM rejects it, ``transformers serve`` appends it to the output);
  to llama.cpp with ``cache_prompt``, so that a keystroke computes only what
  changed. Explanations and generated code: ``/chat/completions``.
- Everything streams. Cancelling, a timeout, a stop token, ``max_new_tokens``
  or a completion that leaves its scope closes the upstream connection.
- ``max_new_tokens`` 0 (a prefetch) computes the prompt for a server's prefix
  cache: one token, not shown; nothing at all for a server without one.
- Several candidates are several requests, because some servers ignore ``n``.
- ``info()`` reports the server's health, refreshed in the background, what
  it said of itself, the budget and where the family came from.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_codegen.engine.base import (
    Candidate,
    DeltaCallback,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    Segment,
)
from jupyter_codegen.engine.remote import family, fit, health
from jupyter_codegen.engine.remote.discover import ServerFacts, discover
from jupyter_codegen.engine.remote.markers import MarkerGuard
from jupyter_codegen.engine.remote.streams import RemoteRun
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError
from jupyter_codegen.families import FimTemplate, check_family

log = logging.getLogger(__name__)

#: Without a configured model name, how long loading waits for the server to list one
#: (status says "loading" meanwhile): vLLM takes minutes to load a large model.
MODEL_WAIT_S = 900.0
#: Most stop strings sent (the OpenAI API's limit).
MAX_STOP = 4
#: Tokens a chat message adds in a chat template (role markers, newlines).
MESSAGE_OVERHEAD = 8
#: The servers that keep a prompt's computation for the next request (a prefetch is
#: sent to them only): llama.cpp's slots, vLLM's and Ollama's prefix caches.
PREFIX_CACHES = ("llama.cpp", "vllm", "ollama")


@dataclass(frozen=True)
class RemoteSettings:
    """The remote engine's configuration (from CodegenApp and the environment)."""

    url: str
    #: The model's name on the server; None: the first model the server lists.
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    #: A tokenizer.json of the model's family, for exact token counts.
    tokenizer_file: str | None = None
    #: The fill-in-the-middle family: "auto" detects it (see :mod:`family`).
    fim_family: str = "auto"
    #: The server's context (prompt and reply) when it reports none.
    context_fallback: int = 4096
    #: The longest completion reply, kept out of the prompt budget.
    reply_tokens: int = 256
    #: Time one prompt at load to size the budget by the server's speed.
    measure_prefill: bool = True
    #: A completion with ``expected`` text starts with it and asks the server
    #: for what follows (see :meth:`RemoteEngine.generate`).
    continue_expected: bool = True


def load_remote(settings: RemoteSettings, progress: Callable[[str], None]) -> RemoteEngine:
    """Build the engine (runs in the host's loading thread). Loading fails only
    on a bad configuration, or when no model is named and the server lists none
    within :data:`MODEL_WAIT_S`; an unreachable server otherwise shows in the
    status and in each request's error, not as a failed load."""
    upstream = Upstream(
        settings.url,
        api_key=settings.api_key or None,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    )
    counter = TokenCounter.from_file(settings.tokenizer_file)
    engine = RemoteEngine(
        upstream,
        settings.model or None,
        counter,
        settings.fim_family,
        continue_expected=settings.continue_expected,
    )
    progress(f"asking the inference server at {upstream.name} for its models")
    entries = engine.probe()
    deadline = time.monotonic() + MODEL_WAIT_S
    while engine.model is None:
        error = engine.health.report(None).get("error")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the inference server at {upstream.name} named no model "
                f"({error or 'its model list is empty'}); "
                "set JUPYTER_CODEGEN_MODEL (or CodegenApp.model) to the served model's name"
            )
        progress(f"waiting for {upstream.name} to list a model: {error}")
        time.sleep(2.0)
        entries = engine.probe()
    if entries is not None:  # the server answers: ask it about itself
        progress(f"asking {upstream.name} about {upstream.quote(engine.model, 200)}")
        engine.fit_server(entries.get(engine.model), settings)
    else:
        engine.fit_later(settings)
    return engine


class RemoteEngine:
    """An :class:`~jupyter_codegen.engine.base.Engine` over an OpenAI-compatible server."""

    def __init__(
        self,
        upstream: Upstream,
        model: str | None,
        counter: TokenCounter,
        fim_family: str = "auto",
        *,
        continue_expected: bool = True,
    ):
        self.upstream = upstream
        self.continue_expected = continue_expected
        self.model = model
        self.counter = counter
        self.fim_family = check_family(fim_family)
        self.guard = MarkerGuard(counter.special_tokens())
        self.health = health.Health(upstream)
        self.facts = ServerFacts()
        self.budget = fit.plan(self.facts, RemoteSettings.context_fallback, 256)
        self.choice = family.choose(self.fim_family, self.facts, counter, model)
        #: The settings to fit the server with; None once it has been asked.
        self._unfitted: RemoteSettings | None = None

    # -- what the server says -------------------------------------------------

    def probe(self) -> health.Entries | None:
        """``GET /models`` now; take the first model listed if none is named."""
        entries = self.health.probe()
        if entries and self.model is None:
            self.model = next(iter(entries))
            self.choice = family.choose(self.fim_family, self.facts, self.counter, self.model)
        settings, self._unfitted = self._unfitted, None
        if entries is not None and settings is not None and self.model is not None:
            # The server was down at load (a hub whose inference server starts
            # later): ask it about itself now that it answers.
            try:
                self.fit_server(entries.get(self.model), settings)
            except Exception as exc:  # keep the fallback; say why, redacted
                log.warning(
                    "jupyter-codegen: %s", self.upstream.quote(f"fitting failed: {exc}", 500)
                )
        return entries

    def fit_server(self, entry: dict[str, Any] | None, settings: RemoteSettings) -> None:
        """Ask the server about itself and its model, time a prompt when
        ``settings`` ask for it, and decide the budget and the family."""
        assert self.model is not None
        self.facts = discover(self.upstream, self.model, entry)
        if settings.measure_prefill:
            fit.measure_prefill(self.upstream, self.model, self.facts, self.counter)
        self.plan_budget(settings)

    def fit_later(self, settings: RemoteSettings) -> None:
        """The server did not answer: plan with the fallback now, and ask it
        about itself on the first probe that it answers."""
        self.plan_budget(settings)
        self._unfitted = settings

    def plan_budget(self, settings: RemoteSettings) -> None:
        self.budget = fit.plan(self.facts, settings.context_fallback, settings.reply_tokens)
        self.choice = family.choose(self.fim_family, self.facts, self.counter, self.model)
        if self.choice.warning:
            log.warning("jupyter-codegen: %s", self.upstream.quote(self.choice.warning, 1000))

    def family(self) -> tuple[FimTemplate, str]:
        """The model's FIM family and where it came from (see :mod:`family`)."""
        return self.choice.template, self.choice.source

    # -- Engine interface ---------------------------------------------------

    def info(self) -> EngineInfo:
        self.health.refresh_in_background(self.probe)
        quote = self.upstream.quote
        return EngineInfo(
            model=quote(self.model, 200) if self.model else self.upstream.name,
            device="remote",
            dtype="n/a",
            family=self.choice.template.family,
            family_source=self.choice.source,
            context_tokens=self.budget.prompt,
            suffix_tokens=self.budget.suffix,
            extra={
                "remote": self.health.report(self.model),
                "server": {
                    **self.facts.describe(),
                    "problems": [quote(p, 300) for p in self.facts.problems[:5]],
                },
                "budget": self.budget.describe(),
                "family_from": quote(self.choice.detail, 300),
                "family_warning": quote(self.choice.warning, 1000) if self.choice.warning else None,
                "token_count": self.counter.describe(),
            },
        )

    def count_tokens(self, text: str) -> int:
        return self.counter.count(text)

    def generate(
        self,
        request: GenerationRequest,
        cancel: threading.Event,
        on_delta: DeltaCallback | None = None,
    ) -> GenerationResult:
        if self.model is None:
            self.probe()
            if self.model is None:
                raise self.upstream.fail(503, "lists no model to use (set JUPYTER_CODEGEN_MODEL)")
        payload: dict[str, Any] = {
            "model": self.model,
            "temperature": request.temperature,
            "stream": True,
            # The token counts of a streamed reply come in a last chunk only when
            # asked for (OpenAI's stream_options; vLLM, llama.cpp, Ollama and
            # transformers serve honour it); a piece of text may hold several tokens.
            "stream_options": {"include_usage": True},
        }
        if self.facts.cache_prompt:  # llama.cpp
            payload.update(self._llama_cpp_fields(request))
        if request.temperature > 0:
            payload["top_p"] = 0.95  # as the local engine samples
        if request.stop_tokens:
            # Not every served model's EOS covers the family's end markers (the
            # embedded model's converted config stops only at <|im_end|>, while
            # FIM ends with <|endoftext|>). Four is the OpenAI API's limit.
            payload["stop"] = list(request.stop_tokens[:MAX_STOP])
        head = ""
        if request.messages:
            path, chat = "chat/completions", True
            payload["messages"] = self.guard.messages(request.messages)
            prompt_tokens = sum(
                self.count_tokens(m.content) + MESSAGE_OVERHEAD for m in request.messages
            )
        else:
            path, chat = "completions", False
            head = self._head(request)
            segments = [*request.segments, Segment(head)] if head else list(request.segments)
            payload["prompt"] = self.guard.render(segments)
            prompt_tokens = sum(self.count_tokens(s.text) for s in segments)
        prefill = request.max_new_tokens <= 0  # the prompt's computation only (a prefetch)
        if prefill:
            if self.facts.kind not in PREFIX_CACHES:  # nothing there would keep it
                return GenerationResult([], 0)  # no prompt token computed
            # One token: no server takes 0 as "prompt only" (llama.cpp makes it 1).
            request = dataclasses.replace(
                request, max_new_tokens=1, num_candidates=1, stop_check=None
            )
            on_delta = None
        request = fit.fit_reply(self.budget, self.upstream, request, prompt_tokens)
        head_tokens = self.count_tokens(head) if head else 0
        payload["max_tokens"] = max(1, request.max_new_tokens - head_tokens)
        num = max(1, request.num_candidates)
        if cancel.is_set():
            return GenerationResult([Candidate("", "cancelled", 0) for _ in range(num)], 0)
        run = RemoteRun(
            self.upstream, self.counter, path, chat, payload, request, cancel, on_delta, head
        )
        try:
            candidates = run.all(num)
        except UpstreamError as exc:
            error = fit.refusal(
                self.budget, self.upstream, exc, prompt_tokens, request.max_new_tokens
            )
            self.health.failed(error)
            raise error from None
        except Exception as exc:  # a reply that broke the reading: say so, redacted
            error = self.upstream.fail(
                502, f"sent a reply that could not be read ({type(exc).__name__}: {exc})"
            )
            self.health.failed(error)
            raise error from None
        self.health.succeeded()
        candidates = [dataclasses.replace(c, text=self.guard.restore(c.text)) for c in candidates]
        usage = run.reported
        return GenerationResult(
            [] if prefill else candidates,
            usage.prompt or prompt_tokens,
            usage.cached or 0,
            drafted_tokens=run.head_tokens,
        )

    def _head(self, request: GenerationRequest) -> str:
        """The ``expected`` text a greedy completion starts with. A server
        cannot verify a draft as the local engine does (none returns the
        probabilities of prompt tokens), so the rest of the document's last
        suggestion, which the user is typing, is taken as it was suggested (as
        the frontend shows it while the user types) and the server is asked
        only for what follows it; when it already ends the reply (its scope,
        the token limit), the server is not asked at all."""
        greedy = request.temperature <= 0 and request.num_candidates == 1
        if not (self.continue_expected and greedy and request.max_new_tokens > 0):
            return ""
        return request.expected

    def _llama_cpp_fields(self, request: GenerationRequest) -> dict[str, Any]:
        """llama.cpp's own request fields: reuse the slot's matching prefix; its
        timings (cached tokens) in every chunk, so also when the engine closes
        the stream early; and one slot for each notebook's completions, since
        each slot caches its own prompt. Without ``id_slot`` a keystroke that
        comes while the server still winds down the previous (closed) request
        goes to another slot, and its whole prompt is computed again; with it,
        it waits for that slot."""
        fields: dict[str, Any] = {"cache_prompt": True, "timings_per_token": True}
        slots = self.facts.slots or 1
        key = request.cache_key or ""
        if slots > 1 and key.startswith("complete:") and request.num_candidates == 1:
            fields["id_slot"] = zlib.crc32(key.encode()) % slots
        return fields
