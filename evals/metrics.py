"""Scores of one completion against the code that was there (pure functions)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from jupyter_codegen.context.syntax import compiles


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (1.0: equal)."""
    if not a and not b:
        return 1.0
    return 1.0 - levenshtein(a, b) / max(len(a), len(b))


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def normalize_block(text: str) -> str:
    """Lines without trailing blanks, blank lines dropped."""
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def score(prediction: str, target: str, prefix: str, suffix: str) -> dict[str, float]:
    pred_line, target_line = first_line(prediction), first_line(target)
    return {
        "exact_match": float(pred_line == target_line),
        "edit_similarity": edit_similarity(pred_line, target_line),
        "block_edit_similarity": edit_similarity(
            normalize_block(prediction), normalize_block(target)
        ),
        # The cell with the completion in place still compiles (IPython syntax
        # neutralized). Only asked of cells that compile with the real code.
        "parses": float(compiles(prefix + prediction + suffix)),
        "empty": float(not prediction.strip()),
    }


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def summarize(rows: Sequence[dict[str, float]], keys: Sequence[str]) -> dict[str, float]:
    out = {k: statistics.fmean(r[k] for r in rows) if rows else float("nan") for k in keys}
    latencies = [r["latency_s"] for r in rows if "latency_s" in r]
    out["latency_p50_s"] = statistics.median(latencies) if latencies else float("nan")
    out["latency_p90_s"] = percentile(latencies, 0.9)
    out["n"] = len(rows)
    return out
