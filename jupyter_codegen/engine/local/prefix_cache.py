"""Which earlier computation a prompt can reuse: a few slots of key/value
caches, keyed by document, bounded by bytes, least recently used first out.

Pure bookkeeping, without torch: a slot holds the token ids whose keys and
values its opaque ``state`` holds, in order from position 0 (rotary positions
are baked into cached keys, so only an exact token prefix is reusable). A
generation *takes* the slot with the longest common prefix out of the pool, so
no two generations ever extend the same state, and *puts* its state back when
done, replacing its document's slot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

State = TypeVar("State")


def common_prefix(a: list[int], b: list[int]) -> int:
    """The length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:  # the usual case while typing at the end: one C-speed compare
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass
class Slot(Generic[State]):
    key: str
    tokens: list[int]
    state: State
    nbytes: int


@dataclass(frozen=True)
class CacheStats:
    slots: int
    bytes: int
    budget_bytes: int
    hits: int
    misses: int


class PrefixCache(Generic[State]):
    """Thread-safe LRU of :class:`Slot` s within ``budget_bytes``."""

    def __init__(self, budget_bytes: int, *, min_tokens: int = 8):
        self.budget_bytes = max(0, budget_bytes)
        #: A match shorter than this is not worth a slot's copy: start afresh.
        self.min_tokens = min_tokens
        self._slots: OrderedDict[str, Slot[State]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    def take(
        self,
        tokens: list[int],
        key: str = "",
        copy_prefix: Callable[[State, int], State] | None = None,
    ) -> tuple[Slot[State] | None, int]:
        """The slot sharing the longest prefix with ``tokens``, with that prefix's
        length, at most ``len(tokens) - 1`` (the last prompt token is always
        computed, for its logits); ``(None, 0)`` if none helps.

        The slot is removed from the pool, since its taker will crop and extend
        it, unless it is another document's and most of it is not shared (two
        notebooks that start with the same imports): then, with
        ``copy_prefix``, the taker gets a copy of the shared part and the other
        document keeps its slot."""
        with self._lock:
            best: Slot[State] | None = None
            best_len = 0
            for slot in self._slots.values():
                n = common_prefix(slot.tokens, tokens)
                if n > best_len or (n == best_len and n and slot.key == key):
                    best, best_len = slot, n
            best_len = min(best_len, len(tokens) - 1)
            if best is None or best_len < self.min_tokens:
                self._misses += 1
                return None, 0
            self._hits += 1
            if best.key != key and copy_prefix is not None and best_len * 2 < len(best.tokens):
                self._slots.move_to_end(best.key)
                state = copy_prefix(best.state, best_len)
                return Slot(key, best.tokens[:best_len], state, 0), best_len
            del self._slots[best.key]
            return best, best_len

    def put(self, key: str, tokens: list[int], state: State, nbytes: int) -> None:
        """Keep ``state`` (the computation of ``tokens``) as ``key``'s slot,
        evicting the least recently used slots beyond the budget."""
        if not self.enabled or nbytes > self.budget_bytes or not tokens:
            return
        with self._lock:
            self._slots.pop(key, None)
            self._slots[key] = Slot(key, tokens, state, nbytes)
            used = sum(s.nbytes for s in self._slots.values())
            while used > self.budget_bytes:
                _, old = self._slots.popitem(last=False)
                used -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                slots=len(self._slots),
                bytes=sum(s.nbytes for s in self._slots.values()),
                budget_bytes=self.budget_bytes,
                hits=self._hits,
                misses=self._misses,
            )
