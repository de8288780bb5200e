"""The remote engine: generation by an OpenAI-compatible inference server.

One server (vLLM, the llama.cpp server, Ollama, SGLang, TGI, LM Studio,
``transformers serve``) serves every user's Jupyter server. This engine loads
no model: it renders the prompt here, as text, and streams the server's
reply.

- Completions: the fill-in-the-middle prompt is built from the family's
  template and sent as ``prompt`` to ``/completions`` (``suffix`` is not
  used: vLLM rejects it, ``transformers serve`` appends it to the output).
- Explanations and generated code: ``/chat/completions``.
- Everything streams. Cancelling, a timeout, a stop token or a completion
  that leaves its scope closes the upstream connection, so the server stops.
- Several candidates are several requests, because some servers ignore ``n``.
- ``info()`` reports the server's health (``GET /models``), its models and
  the probe's latency, refreshed in the background so that ``/status`` never
  waits on the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_codegen.engine.base import (
    Candidate,
    DeltaCallback,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
)
from jupyter_codegen.engine.remote.markers import MarkerGuard
from jupyter_codegen.engine.remote.streams import RemoteRun
from jupyter_codegen.engine.remote.tokens import TokenCounter
from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError
from jupyter_codegen.families import FimTemplate, check_family, choose_family

log = logging.getLogger(__name__)

#: How old the health shown by ``info()`` may be before a new probe starts.
HEALTH_TTL_S = 10.0
#: Without a configured model name, how long loading waits for the server to list one
#: (status says "loading" meanwhile): vLLM takes minutes to load a large model.
MODEL_WAIT_S = 900.0
#: A health probe waits at most this long for the model list.
PROBE_TIMEOUT_S = 10.0
#: Most model names the status shows.
MAX_MODELS_SHOWN = 50
#: Most stop strings sent (the OpenAI API's limit).
MAX_STOP = 4
#: The prompt budget a completion gets (tokens; the whole prompt, and after the cursor).
DEFAULT_CONTEXT_TOKENS, DEFAULT_SUFFIX_TOKENS = 4096, 512


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
    #: The fill-in-the-middle family: "auto" detects it (see :meth:`RemoteEngine.family`).
    fim_family: str = "auto"


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
    engine = RemoteEngine(upstream, settings.model or None, counter, settings.fim_family)
    progress(f"asking the inference server at {upstream.name} for its models")
    health = engine.probe()
    deadline = time.monotonic() + MODEL_WAIT_S
    while engine.model is None:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the inference server at {upstream.name} named no model "
                f"({health.get('error') or 'its model list is empty'}); "
                "set JUPYTER_CODEGEN_MODEL (or CodegenApp.model) to the served model's name"
            )
        progress(f"waiting for {upstream.name} to list a model: {health.get('error')}")
        time.sleep(2.0)
        health = engine.probe()
    return engine


class RemoteEngine:
    """An :class:`~jupyter_codegen.engine.base.Engine` over an OpenAI-compatible server."""

    def __init__(
        self,
        upstream: Upstream,
        model: str | None,
        counter: TokenCounter,
        fim_family: str = "auto",
    ):
        self.upstream = upstream
        self.model = model
        self.counter = counter
        self.fim_family = check_family(fim_family)
        self.guard = MarkerGuard(counter.special_tokens())
        self._lock = threading.Lock()
        self._health: dict[str, Any] = {
            "url": upstream.name,
            "state": "unknown",
            "models": [],
            "latency_ms": None,
            "error": None,
        }
        self._checked = 0.0
        self._probing = False
        self._listed: bool | None = None

    # -- health -------------------------------------------------------------

    def probe(self) -> dict[str, Any]:
        """``GET /models`` now: record the server's health, models and latency."""
        started = time.monotonic()
        try:
            reply = self.upstream.get_json("models", timeout=PROBE_TIMEOUT_S)
            data = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(data, list):
                raise self.upstream.fail(502, "sent a model list without 'data'")
            models = [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
        except UpstreamError as exc:
            self._note_failure(exc, checked=True)
        else:
            latency = round((time.monotonic() - started) * 1000, 1)
            shown = [self.upstream.quote(m, 200) for m in models[:MAX_MODELS_SHOWN]]
            with self._lock:
                self._health.update(state="ok", models=shown, latency_ms=latency, error=None)
                self._checked = time.monotonic()
                self._listed = self.model in models if self.model is not None else None
                if self.model is None and models:
                    self.model = models[0]
                    self._listed = True
        finally:
            with self._lock:
                self._probing = False
        return self.health()

    def health(self) -> dict[str, Any]:
        with self._lock:
            health = dict(self._health)
            health["checked_s_ago"] = (
                round(time.monotonic() - self._checked, 1) if self._checked else None
            )
        if self._listed is not None and health["models"]:
            health["model_listed"] = self._listed
        return health

    def _refresh_in_background(self) -> None:
        with self._lock:
            if self._probing or time.monotonic() - self._checked < HEALTH_TTL_S:
                return
            self._probing = True
        threading.Thread(target=self.probe, name="codegen-remote-health", daemon=True).start()

    def _note_failure(self, exc: UpstreamError, *, checked: bool = False) -> None:
        state = "unreachable" if exc.status in (503, 504) else "error"
        with self._lock:
            self._health.update(state=state, error=str(exc))
            if checked:
                self._health.update(latency_ms=None)
                self._checked = time.monotonic()

    def _note_success(self) -> None:
        with self._lock:
            if self._health["state"] != "ok":
                self._health.update(state="ok", error=None)

    # -- Engine interface ---------------------------------------------------

    def family(self) -> tuple[FimTemplate, str]:
        """The model's FIM family and where it came from: the setting, else the
        vocabulary of the configured tokenizer file, else the served name."""
        counter = self.counter

        def in_vocabulary(token: str) -> bool:
            return bool(counter.has_token(token))

        vocabulary = in_vocabulary if counter.exact else None
        return choose_family(self.fim_family, has_token=vocabulary, names=[self.model])

    def info(self) -> EngineInfo:
        self._refresh_in_background()
        template, source = self.family()
        return EngineInfo(
            model=self.upstream.quote(self.model, 200) if self.model else self.upstream.name,
            device="remote",
            dtype="n/a",
            family=template.family,
            family_source=source,
            context_tokens=DEFAULT_CONTEXT_TOKENS,
            suffix_tokens=DEFAULT_SUFFIX_TOKENS,
            extra={"remote": self.health(), "token_count": self.counter.describe()},
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
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
            "stream": True,
            # The token counts of a streamed reply come in a last chunk only when
            # asked for (OpenAI's stream_options; vLLM, llama.cpp, Ollama and
            # transformers serve honour it); a piece of text may hold several tokens.
            "stream_options": {"include_usage": True},
        }
        if request.temperature > 0:
            payload["top_p"] = 0.95  # as the local engine samples
        if request.stop_tokens:
            # Not every served model's EOS covers the family's end markers (the
            # embedded model's converted config stops only at <|im_end|>, while
            # FIM ends with <|endoftext|>). Four is the OpenAI API's limit.
            payload["stop"] = list(request.stop_tokens[:MAX_STOP])
        if request.messages:
            path, chat = "chat/completions", True
            payload["messages"] = self.guard.messages(request.messages)
            prompt_tokens = sum(self.count_tokens(m.content) for m in request.messages)
        else:
            path, chat = "completions", False
            payload["prompt"] = self.guard.render(request.segments)
            prompt_tokens = sum(self.count_tokens(s.text) for s in request.segments)
        num = max(1, request.num_candidates)
        if cancel.is_set():
            return GenerationResult([Candidate("", "cancelled", 0) for _ in range(num)], 0)
        run = RemoteRun(self.upstream, self.counter, path, chat, payload, request, cancel, on_delta)
        try:
            candidates = run.all(num)
        except UpstreamError as exc:
            self._note_failure(exc)
            raise
        except Exception as exc:  # a reply that broke the reading: say so, redacted
            error = self.upstream.fail(
                502, f"sent a reply that could not be read ({type(exc).__name__}: {exc})"
            )
            self._note_failure(error)
            raise error from None
        self._note_success()
        usage = run.reported
        return GenerationResult(candidates, usage.prompt or prompt_tokens, usage.cached or 0)
