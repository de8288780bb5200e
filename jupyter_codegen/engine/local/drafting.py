"""Prompt-lookup drafting: tokens proposed to follow what was generated, from
where the same tokens appeared earlier; greedy decoding verifies them in one
pass, so the output is the same as without. Pure."""

from __future__ import annotations


def draft_tokens(
    seq: list[int],
    max_tokens: int,
    ngram_sizes: tuple[int, ...] = (3, 2),
    expected: list[int] | None = None,
) -> list[int]:
    """Tokens proposed to follow ``seq``: what followed the last n-gram of
    ``seq`` (longest n first) in ``expected``, a continuation the caller
    expects; else what followed its most recent earlier occurrence in ``seq``."""
    if max_tokens <= 0:
        return []
    n_seq = len(seq)
    expected = expected or []
    for n in ngram_sizes if expected else ():
        if n_seq < n:
            continue
        tail = seq[-n:]
        for start in range(len(expected) - n - 1, -1, -1):
            if expected[start : start + n] == tail:
                return expected[start + n : start + n + max_tokens]
    for n in ngram_sizes:
        if n_seq <= n:
            continue
        tail = seq[-n:]
        first = tail[0]
        # Scan backwards for the most recent earlier occurrence of the tail.
        for start in range(n_seq - n - 1, -1, -1):
            if seq[start] == first and seq[start : start + n] == tail:
                follow = seq[start + n : start + n + max_tokens]
                if follow:
                    return follow
                break
    return []
