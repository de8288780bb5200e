"""The one choke point for text that came from the inference server.

Anything the upstream sends may quote the ``Authorization`` header it got: an
error body (also in a 200 reply), an error event, a reason phrase, a content
type, a model's name, a malformed status line that ``http.client`` quotes in
its exception, even generated text. Every such text passes through a
:class:`Redactor` before it reaches a reply, a status field or a log line:

- :meth:`Redactor.clean` for a message: the key in every form an upstream
  could write it (as it is, so also after ``Bearer``; in base64, either
  alphabet, at any alignment, so also inside ``Basic`` credentials or an
  encoded header; percent- and JSON-escaped) becomes ``***``; control
  characters and line breaks go (one log line stays one line); the text is
  cut to a length *after* redacting, and a cut that ends in the start of a
  secret form drops that start too.
- :meth:`Redactor.redact` and :meth:`Redactor.held` for streamed text (see
  :mod:`jupyter_codegen.engine.remote.delivery`): a piece's end that may be the
  start of a secret form is held back until the next piece shows what it is.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

REDACTED = "***"
#: A base64 run shorter than this is not treated as a secret form (too many
#: ordinary words would match it).
MIN_ENCODED = 8
#: A cut text's end is dropped when it is the start of a secret form this long.
MIN_PARTIAL = 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def secret_forms(secret: str) -> set[str]:
    """Every way an upstream may write ``secret`` in text."""
    forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
    raw = secret.encode()
    for offset in range(3):
        # The base64 characters that depend on the secret's bytes alone, when
        # it starts ``offset`` bytes into a 3-byte group of a longer text.
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        core = encoded[math.ceil(offset * 8 / 6) : (offset + len(raw)) * 8 // 6]
        if len(core) >= MIN_ENCODED:
            forms.add(core)
            forms.add(core.replace("+", "-").replace("/", "_"))
    return {f for f in forms if f}


class Redactor:
    """Removes the secrets (the API key) from upstream text; see the module doc."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= secret_forms(secret)
        self._forms = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, self._forms))) if forms else None
        self._starts = {f[:n] for f in self._forms for n in range(1, len(f))}
        self._longest = max((len(f) for f in self._forms), default=0)

    def redact(self, text: str) -> str:
        """``text`` with every whole secret form replaced."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def held(self, text: str) -> int:
        """How many characters at the end of ``text`` may be the start of a
        secret form (to hold back until more text comes)."""
        for size in range(min(len(text), self._longest - 1), 0, -1):
            if text[-size:] in self._starts:
                return size
        return 0

    def cut(self, text: str) -> str:
        """``text`` as it stands at a cut (an end or a truncation): a tail that
        starts a secret form is dropped, so no prefix of the key shows."""
        size = self.held(text)
        return text[:-size] + REDACTED if size >= MIN_PARTIAL else text

    def clean(self, value: Any, limit: int = 300) -> str:
        """An upstream text (str, bytes or anything else), fit for a message,
        a status field or a log line: redacted, on one line, at most ``limit``
        characters (and an ellipsis)."""
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("utf-8", "replace")
        else:
            text = value if isinstance(value, str) else str(value)
        text = self.redact(text)
        text = " ".join(_CONTROL.sub("?", text).split())
        text = self.redact(text)
        if len(text) > limit:
            return self.cut(text[:limit]) + "…"
        return text


def error_text(body: str | bytes) -> str:
    """The message of an OpenAI-style error body (``{"error": {"message"}}``,
    FastAPI's ``{"detail": ...}``), else the body itself; still to be cleaned."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if isinstance(parsed, dict):
        err = parsed.get("error", parsed.get("detail", parsed))
        if isinstance(err, dict):
            err = err.get("message", err)
        return err if isinstance(err, str) else json.dumps(err)
    return json.dumps(parsed)


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to show and to log."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: shown as written; connecting says what is wrong
        port = ":" + parts.netloc.rpartition(":")[2]
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
