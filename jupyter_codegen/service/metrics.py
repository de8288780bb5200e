"""Prometheus series for jupyter_server's ``/metrics`` endpoint.

jupyter_server serves prometheus_client's default registry at ``/metrics``
(authenticated unless ``ServerApp.authenticate_prometheus`` is False). The
series below join it; the model host feeds them at its record points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

if TYPE_CHECKING:
    from jupyter_codegen.engine.base import GenerationResult

STATES = ("loading", "ready", "error")
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)

REQUESTS = Counter(
    "jupyter_codegen_requests",
    "Generation requests by endpoint and outcome (ok, cancelled, failed, busy, "
    "queue_timeout, invalid, not_ready, error).",
    ["endpoint", "outcome"],
)
QUEUE_WAIT = Histogram(
    "jupyter_codegen_queue_wait_seconds",
    "Time from admission to holding a generation slot.",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
FIRST_TOKEN = Histogram(
    "jupyter_codegen_first_token_seconds",
    "Time from holding a slot to the first generated text.",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
TOTAL = Histogram(
    "jupyter_codegen_request_seconds",
    "Time from admission to the end of the generation.",
    ["endpoint"],
    buckets=_LATENCY_BUCKETS,
)
PROMPT_TOKENS = Counter(
    "jupyter_codegen_prompt_tokens", "Prompt tokens of finished generations.", ["endpoint"]
)
GENERATED_TOKENS = Counter(
    "jupyter_codegen_generated_tokens", "Tokens generated (all candidates).", ["endpoint"]
)
CACHED_TOKENS = Counter(
    "jupyter_codegen_prompt_cached_tokens",
    "Prompt tokens reused from the prompt cache instead of being computed again.",
    ["endpoint"],
)
QUEUE_DEPTH = Gauge("jupyter_codegen_queue_depth", "Requests waiting for a generation slot.")
SLOTS_HELD = Gauge(
    "jupyter_codegen_generations_active", "Generation slots held (running or about to run)."
)
MODEL_STATE = Gauge(
    "jupyter_codegen_model_state", "1 for the model's current state, else 0.", ["state"]
)


def set_model_state(state: str) -> None:
    for name in STATES:
        MODEL_STATE.labels(state=name).set(1 if name == state else 0)


def set_queue(queued: int, held: int) -> None:
    QUEUE_DEPTH.set(queued)
    SLOTS_HELD.set(held)


def observe_request(endpoint: str, outcome: str) -> None:
    REQUESTS.labels(endpoint=endpoint, outcome=outcome).inc()


def observe_queue_wait(endpoint: str, seconds: float) -> None:
    QUEUE_WAIT.labels(endpoint=endpoint).observe(seconds)


def observe_generation(
    endpoint: str,
    outcome: str,
    total_seconds: float,
    result: GenerationResult | None,
    timings: dict[str, float] | None,
) -> None:
    """One generation that ran (or was cancelled while waiting)."""
    observe_request(endpoint, outcome)
    TOTAL.labels(endpoint=endpoint).observe(total_seconds)
    timings = timings or {}
    if "first_token_ms" in timings:
        FIRST_TOKEN.labels(endpoint=endpoint).observe(timings["first_token_ms"] / 1000)
    if result is not None:
        PROMPT_TOKENS.labels(endpoint=endpoint).inc(result.prompt_tokens)
        GENERATED_TOKENS.labels(endpoint=endpoint).inc(sum(c.tokens for c in result.candidates))
    cached = timings.get("cached_tokens")
    if cached:
        CACHED_TOKENS.labels(endpoint=endpoint).inc(cached)
