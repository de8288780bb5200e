"""What the inference server says about itself and its model, asked once
when the engine loads.

- **Its context** (tokens one request may hold, prompt and reply): vLLM's
  ``max_model_len`` in ``/v1/models``; llama.cpp's ``n_ctx`` per slot in
  ``/props``; Ollama's ``num_ctx`` from ``/api/show`` (its default when the
  model sets none), never past the model's trained length.
- **Its vocabulary**: whether each family's FIM markers are single tokens of
  the served model (llama.cpp's and vLLM's ``/tokenize``, which parse special
  tokens in text); Ollama's prompt template, which spells the FIM markers.
- **Its metadata**: the model's names (GGUF ``general.name`` and
  ``general.basename`` from Ollama's ``/api/show`` or llama.cpp's ``/props``
  where the build shows them; llama.cpp's alias and model file) and whether it
  says the model fills in the middle (Ollama's ``insert`` capability).
- **What it accepts**: llama.cpp's ``cache_prompt``, ``timings_per_token`` and
  ``id_slot`` (vLLM would log every unknown field; ``transformers serve``
  refuses them with 422).

Each question has its own short deadline and failing one only leaves its
answer unknown: a server that does not speak llama.cpp or Ollama (vLLM,
``transformers serve``) answers their paths with 404, and loading goes on.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_codegen.engine.remote.upstream import Upstream, UpstreamError
from jupyter_codegen.families import FIM_TEMPLATES

#: Each question's deadline, and all of them together (seconds).
ASK_TIMEOUT_S, DISCOVERY_S = 5.0, 15.0
#: Ollama's context when the model sets no num_ctx (its documented default
#: was 2048, newer releases take 4096: the smaller is safe for both).
OLLAMA_DEFAULT_CONTEXT = 2048
#: Every marker whose presence in a vocabulary identifies a family.
MARKERS = tuple(sorted({t for template in FIM_TEMPLATES for t in template.markers}))
_GGUF_NAMES = ("general.name", "general.basename", "general.finetune")


@dataclass
class ServerFacts:
    """The answers (None or empty: the server did not say)."""

    kind: str = "unknown"  # "vllm", "llama.cpp", "ollama" or "unknown"
    context: int | None = None
    context_from: str = ""
    slots: int | None = None
    #: The markers that are single tokens of the served model's vocabulary.
    single_tokens: frozenset[str] | None = None
    vocabulary_from: str = ""
    names: list[tuple[str, str]] = field(default_factory=list)  # (where, name)
    #: The server's prompt template for the model (Ollama), which spells its FIM markers.
    template: str = ""
    #: Metadata saying the model fills in the middle (for the plain-family warning).
    fim_hint: str = ""
    cache_prompt: bool = False
    prefill_per_s: float | None = None
    prefill_from: str = ""
    problems: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """For the status (names quoted by the caller)."""
        return {
            "kind": self.kind,
            "context": self.context,
            "context_from": self.context_from or None,
            "slots": self.slots,
            "vocabulary_from": self.vocabulary_from or None,
            "cache_prompt": self.cache_prompt,
            "prefill_tokens_per_s": self.prefill_per_s,
            "prefill_from": self.prefill_from or None,
            "problems": self.problems[:5],
        }


class _Asker:
    """Asks the server within one overall deadline, keeping what failed."""

    def __init__(self, upstream: Upstream, facts: ServerFacts):
        self.upstream = upstream
        self.facts = facts
        self.deadline = time.monotonic() + DISCOVERY_S

    def __call__(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            if method == "GET":
                return self.upstream.get_json(path, timeout=min(ASK_TIMEOUT_S, left))
            return self.upstream.post_json(path, payload or {}, timeout=min(ASK_TIMEOUT_S, left))
        except UpstreamError as exc:
            if exc.upstream_status not in (404, 405):  # not this kind of server: no problem
                self.facts.problems.append(str(exc))
            return None


def discover(upstream: Upstream, model: str, entry: dict[str, Any] | None) -> ServerFacts:
    """Ask the server about itself and ``model`` (``entry``: its item in ``/models``)."""
    facts = ServerFacts()
    ask = _Asker(upstream, facts)
    entry = entry or {}
    owner = entry.get("owned_by")
    if _count(entry.get("max_model_len")) or owner == "vllm":
        facts.kind = "vllm"
        _set_context(facts, entry.get("max_model_len"), "vLLM /v1/models max_model_len")
    else:
        _llama_cpp(ask, facts, entry)
        if facts.kind == "unknown":
            _ollama(ask, facts, model)
    if facts.kind in ("vllm", "llama.cpp"):
        _tokenize(ask, facts, model)
    return facts


def _llama_cpp(ask: _Asker, facts: ServerFacts, entry: dict[str, Any]) -> None:
    props = ask("GET", "/props")
    settings = props.get("default_generation_settings") if isinstance(props, dict) else None
    if not isinstance(props, dict) or not isinstance(settings, dict):
        return
    facts.kind, facts.cache_prompt = "llama.cpp", True
    _set_context(facts, settings.get("n_ctx"), "llama.cpp /props n_ctx (per slot)")
    meta = entry.get("meta")
    if facts.context is None and isinstance(meta, dict):
        _set_context(facts, meta.get("n_ctx"), "llama.cpp /v1/models meta n_ctx")
    facts.slots = _count(props.get("total_slots"))
    metadata = props.get("model_metadata") or props.get("metadata") or {}
    if isinstance(metadata, dict):
        _gguf_names(facts, metadata, "llama.cpp /props")
    for key in ("model_alias", "model_path"):
        if isinstance(props.get(key), str) and props[key]:
            facts.names.append((f"llama.cpp /props {key}", os.path.basename(props[key])))


def _ollama(ask: _Asker, facts: ServerFacts, model: str) -> None:
    show = ask("POST", "/api/show", {"model": model})
    if not isinstance(show, dict) or not isinstance(show.get("model_info"), dict):
        return
    facts.kind = "ollama"
    info = show["model_info"]
    trained = _count(info.get(f"{info.get('general.architecture')}.context_length"))
    params = show.get("parameters")
    params = params if isinstance(params, str) else ""
    set_ctx = re.search(r"^\s*num_ctx\s+(\d+)", params, re.MULTILINE)
    if set_ctx:
        _set_context(facts, int(set_ctx.group(1)), "Ollama /api/show num_ctx")
    else:
        _set_context(
            facts, OLLAMA_DEFAULT_CONTEXT, "Ollama's default num_ctx (the model sets none)"
        )
    if trained and facts.context and trained < facts.context:
        _set_context(facts, trained, "Ollama /api/show context_length")
    _gguf_names(facts, info, "Ollama /api/show")
    details = show.get("details")
    if isinstance(details, dict) and isinstance(details.get("family"), str):
        facts.names.append(("Ollama /api/show details.family", details["family"]))
    capabilities = show.get("capabilities")
    if isinstance(capabilities, list) and "insert" in capabilities:
        facts.fim_hint = "Ollama's capabilities include insert (fill-in-the-middle)"
    template = show.get("template")
    if isinstance(template, str) and template:
        facts.template = template[:20_000]
        if ".Suffix" in template and not facts.fim_hint:
            facts.fim_hint = "Ollama's prompt template takes a suffix"


def _tokenize(ask: _Asker, facts: ServerFacts, model: str) -> None:
    single: set[str] = set()
    for marker in MARKERS:
        if facts.kind == "llama.cpp":
            reply = ask("POST", "/tokenize", {"content": marker, "parse_special": True})
        else:
            payload = {"model": model, "prompt": marker, "add_special_tokens": False}
            reply = ask("POST", "/tokenize", payload)
        tokens = reply.get("tokens") if isinstance(reply, dict) else None
        if not isinstance(tokens, list):
            return  # the server does not tokenize for us: the vocabulary stays unknown
        if len(tokens) == 1:
            single.add(marker)
    facts.single_tokens = frozenset(single)
    facts.vocabulary_from = f"{'llama.cpp' if facts.kind == 'llama.cpp' else 'vLLM'} /tokenize"


def _gguf_names(facts: ServerFacts, metadata: dict[str, Any], where: str) -> None:
    for key in _GGUF_NAMES:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            facts.names.append((f"{where} {key}", value))


def _set_context(facts: ServerFacts, value: Any, source: str) -> None:
    count = _count(value)
    if count:
        facts.context, facts.context_from = count, source


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 10**8:
        return value
    return None
