"""The bounds an administrator sets on requests (from the configuration)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceLimits:
    """Administrator-set bounds (from the CodegenApp traits)."""

    completion_max_tokens: int = 256
    completion_default_tokens: int = 64
    explain_max_tokens: int = 1024
    explain_default_tokens: int = 512
    context_tokens: int = 0  # 0: what the engine declares
    #: Most prompt tokens after the cursor, recomputed on every keystroke (0: auto).
    suffix_tokens: int = 0
    max_candidates: int = 4
    max_prompt_chars: int = 1_000_000
    generation_timeout: float = 120.0
    #: Seconds a completion may take (0: ``generation_timeout``).
    completion_timeout: float = 15.0

    @property
    def completion_deadline(self) -> float:
        """Seconds a completion may take: the shorter of the two timeouts
        (0, no limit, where neither is set)."""
        limits = [t for t in (self.completion_timeout, self.generation_timeout) if t > 0]
        return min(limits, default=0.0)
