"""The local engine's tokenizers: a pool of copies that threads borrow (one
fast tokenizer must not be shared between threads), text and chat prompts as
token ids, and token ids back as text, incrementally."""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from jupyter_codegen.engine.base import ChatMessage, Segment


class Tokenizers:
    """Encoders and decoders that threads borrow, one at a time each.

    A fast tokenizer is one Rust object whose settings transformers flips on
    every call (``split_special_tokens`` toggles ``encode_special_tokens``), so
    sharing it between the event loop and the workers can give wrong tokens or
    "Already borrowed". Here each call borrows a copy of its own from a pool:
    ``plain`` copies never make special tokens out of text (user code that
    contains ``<|im_end|>`` stays text), ``control`` copies do (for a chat
    template's own markers). A copy takes 0.35 s to build for Qwen's
    vocabulary, so a few are built with the engine, not on a request's path."""

    def __init__(self, tokenizer: Any, pad_id: int, *, plain: int = 3, control: int = 1):
        self.tokenizer = tokenizer
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        self._pad_id = pad_id
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self._json: str | None = backend.to_str() if backend is not None else None
        self._slow = tokenizer
        self._slow_lock = threading.Lock()
        self._pools: dict[bool, queue.SimpleQueue[Any]] = {
            True: queue.SimpleQueue(),
            False: queue.SimpleQueue(),
        }
        if self._json is not None:
            for as_text, count in ((True, plain), (False, control)):
                for _ in range(count):
                    self._pools[as_text].put(self._build(as_text))

    def _build(self, specials_as_text: bool) -> Any:
        from tokenizers import Tokenizer

        assert self._json is not None
        tok = Tokenizer.from_str(self._json)
        tok.no_truncation()
        tok.no_padding()
        tok.encode_special_tokens = specials_as_text
        return tok

    @contextlib.contextmanager
    def _borrow(self, specials_as_text: bool) -> Iterator[Any]:
        pool = self._pools[specials_as_text]
        try:
            tok = pool.get_nowait()
        except queue.Empty:  # more threads at once than copies: one more
            tok = self._build(specials_as_text)
        try:
            yield tok
        finally:
            pool.put(tok)

    def plain(self, text: str) -> list[int]:
        """``text`` as text: special-token markers in it are split like any text."""
        if self._json is None:
            with self._slow_lock:
                return list(
                    self._slow.encode(text, add_special_tokens=False, split_special_tokens=True)
                )
        with self._borrow(True) as tok:
            return _encode(tok, text)

    def control(self, text: str) -> list[int]:
        """``text`` with its special-token markers as those tokens (template text only)."""
        if self._json is None:
            with self._slow_lock:
                return list(self._slow.encode(text, add_special_tokens=False))
        with self._borrow(False) as tok:
            return _encode(tok, text)

    def decode(self, ids: list[int]) -> str:
        if self._json is None:
            with self._slow_lock:
                return str(self._slow.decode(ids, skip_special_tokens=True))
        with self._borrow(True) as tok:
            return str(tok.decode(ids, skip_special_tokens=True))

    def detokenizer(self) -> Detokenizer:
        """An incremental decoder of one sequence of generated ids."""
        return Detokenizer(self.decode)

    # -- prompts ----------------------------------------------------------------

    def segment_ids(self, segments: Sequence[Segment]) -> list[int]:
        """A raw prompt's ids: special segments as their one token, text as text."""
        ids: list[int] = []
        for seg in segments:
            if seg.special:
                if seg.text not in self.vocab:
                    raise ValueError(f"the model's vocabulary has no token {seg.text!r}")
                ids.append(self.vocab[seg.text])
            elif seg.text:
                ids.extend(self.plain(seg.text))
        if not ids:
            bos = self.tokenizer.bos_token_id
            ids = [bos if bos is not None else self._pad_id]
        return ids

    def chat_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """A chat's ids through the model's chat template; the messages' own
        text never becomes a control token."""
        if not getattr(self.tokenizer, "chat_template", None):
            # A base model without a chat template: a plain transcript still works.
            text = "".join(f"### {m.role.capitalize()}\n{m.content}\n\n" for m in messages)
            return self.plain(text + "### Assistant\n")
        # Render the template around placeholders, then encode the template's
        # own text with its markers and each message's content as plain text:
        # "<|im_end|>" in a user's code never becomes a control token.
        marks = [f"@@codegen-content-{uuid.uuid4().hex}@@" for _ in messages]
        text = self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": mark} for m, mark in zip(messages, marks, strict=True)],
            tokenize=False,
            add_generation_prompt=True,
        )
        ids: list[int] = []
        for mark, message in zip(marks, messages, strict=True):
            before, found, text = text.partition(mark)
            if not found:
                raise ValueError("the chat template does not show every message's content")
            ids += self.control(before) + self.plain(message.content)
        return ids + self.control(text)


def _encode(tok: Any, text: str) -> list[int]:
    """``text``'s ids, with the GIL released while the Rust tokenizer works (the
    batch calls release it, ``encode`` does not: a megabyte would stall the
    server's event loop for a second)."""
    encode = getattr(tok, "encode_batch_fast", None) or tok.encode_batch
    return list(encode([text], add_special_tokens=False)[0].ids)


class Detokenizer:
    """One generated sequence's text, decoded as its ids arrive, at the cost of
    a few ids per step instead of the whole sequence.

    Ids are decoded in a window that starts one step before the last point
    where the text was whole (no UTF-8 sequence left open): decoding a window
    from such a point gives the same text as decoding everything (tokenizers
    whose decoder strips a leading space get their context from that earlier
    step). :meth:`push` returns what ``decode(all ids)`` returns, less a
    trailing U+FFFD that an unfinished UTF-8 sequence leaves (a test holds the
    two to the same text)."""

    def __init__(self, decode: Callable[[list[int]], str]):
        self._decode = decode
        self._ids: list[int] = []
        self._text = ""  # the text of ids[:self._read]
        self._start = 0  # where the window starts
        self._read = 0  # where the text was last whole
        self._head = ""  # the window's text up to self._read

    def push(self, token: int) -> str:
        self._ids.append(token)
        window = self._decode(self._ids[self._start :])
        if not window.startswith(self._head):  # not a clean boundary after all: decode all
            self._start, self._head = 0, self._text
            window = self._decode(self._ids)
        fresh = window[len(self._head) :]
        text = self._text + fresh
        if text.endswith("\ufffd"):  # hold back an unfinished UTF-8 sequence
            return text[:-1]
        self._text = text
        self._start, self._read = self._read, len(self._ids)
        self._head = self._decode(self._ids[self._start : self._read])
        return text
