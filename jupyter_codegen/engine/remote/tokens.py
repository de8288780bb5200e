"""Counting tokens without torch or transformers.

The prompt budget is in tokens. An engine that holds no tokenizer of its own
(the remote engine) counts with the model family's ``tokenizer.json`` through
the ``tokenizers`` package when the administrator names the file, and
otherwise estimates on the high side, so that a prompt is never much longer
than its budget.
"""

from __future__ import annotations

import math
import os
from typing import Any

#: Bytes per token in the estimate. BPE code tokenizers average about 3.5-4
#: bytes per token on source code; digits are often one token each.
ESTIMATE_BYTES_PER_TOKEN = 3
#: No token is longer than this (bytes). Qwen2.5's longest is 128 spaces; the
#: lower bound of a text's tokens without a tokenizer rests on it.
LONGEST_TOKEN_BYTES = 128


def estimate_tokens(text: str) -> int:
    """A conservative token count: every digit is a token, the rest 3 bytes a token."""
    if not text:
        return 0
    digits = sum(ch.isdigit() for ch in text)
    rest = len(text.encode("utf-8")) - digits
    return digits + math.ceil(rest / ESTIMATE_BYTES_PER_TOKEN)


class TokenCounter:
    """Counts with a ``tokenizer.json`` if one is given, else estimates."""

    def __init__(self, tokenizer: Any = None, source: str | None = None):
        self._tokenizer = tokenizer
        self.source = source

    @classmethod
    def from_file(cls, path: str | None) -> TokenCounter:
        """Load ``path`` (a Hugging Face ``tokenizer.json``, or a directory that
        holds one); ``None`` or ``""`` gives the estimate. Raises ValueError
        with the reason when the file cannot be used."""
        if not path:
            return cls()
        file = os.path.expanduser(path)
        if os.path.isdir(file):
            file = os.path.join(file, "tokenizer.json")
        if not os.path.isfile(file):
            raise ValueError(f"the tokenizer file {path!r} does not exist")
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ValueError(
                "counting tokens with a tokenizer file needs the 'tokenizers' package"
            ) from None
        try:
            tokenizer = Tokenizer.from_file(file)
        except Exception as exc:  # the Rust side raises its own exception type
            raise ValueError(f"the tokenizer file {path!r} cannot be read: {exc}") from None
        return cls(tokenizer, file)

    @property
    def exact(self) -> bool:
        return self._tokenizer is not None

    def describe(self) -> str:
        return f"tokenizer {self.source}" if self.exact else "estimate (3 bytes a token)"

    def count(self, text: str) -> int:
        if self._tokenizer is None:
            return estimate_tokens(text)
        # The batch calls release the GIL (``encode`` does not): counting a
        # megabyte must not stall the server's event loop.
        tok = self._tokenizer
        encode = getattr(tok, "encode_batch_fast", None) or tok.encode_batch
        return len(encode([text], add_special_tokens=False)[0].ids)

    def at_least(self, text: str) -> int:
        """Tokens that ``text`` (a piece of generated text) holds at least: its
        count with a tokenizer; without one, a token per
        :data:`LONGEST_TOKEN_BYTES` bytes and at least one, since the estimate
        errs high and must not cut an honest reply short."""
        if not text:
            return 0
        if self._tokenizer is not None:
            return max(1, self.count(text))
        return max(1, math.ceil(len(text.encode("utf-8")) / LONGEST_TOKEN_BYTES))

    def head(self, text: str, tokens: int) -> str:
        """The start of ``text`` that :meth:`at_least` counts as ``tokens``."""
        if tokens <= 0:
            return ""
        if self._tokenizer is None:
            raw = text.encode("utf-8")[: tokens * LONGEST_TOKEN_BYTES]
            return raw.decode("utf-8", "ignore")
        offsets = self._tokenizer.encode_batch([text], add_special_tokens=False)[0].offsets
        return text if len(offsets) <= tokens else text[: offsets[tokens - 1][1]]

    def has_token(self, token: str) -> bool | None:
        """Whether ``token`` is in the vocabulary; None without a tokenizer."""
        if self._tokenizer is None:
            return None
        return self._tokenizer.token_to_id(token) is not None

    def special_tokens(self) -> list[str]:
        """The vocabulary's added special tokens (empty without a tokenizer)."""
        if self._tokenizer is None:
            return []
        decoder = getattr(self._tokenizer, "get_added_tokens_decoder", None)
        if decoder is None:
            return []
        return [t.content for t in decoder().values() if getattr(t, "special", False)]
