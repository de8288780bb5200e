"""A key/value cache and the token ids it holds: the state a prefill leaves,
kept across requests by the prefix cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class KVState:
    """A key/value cache and the token ids it holds, from position 0."""

    cache: Any
    tokens: list[int] = field(default_factory=list)

    def crop_to(self, length: int) -> None:
        extra = len(self.tokens) - length
        if extra > 0:
            self.cache.crop(-extra)  # transformers 5: a negative count removes that many
            del self.tokens[length:]

    def _tensors(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        pairs = []
        for layer in getattr(self.cache, "layers", ()):
            keys, values = getattr(layer, "keys", None), getattr(layer, "values", None)
            if isinstance(keys, torch.Tensor) and isinstance(values, torch.Tensor):
                pairs.append((keys, values))
        return pairs

    def nbytes(self) -> int:
        """Memory held, counted by storage: a cropped cache still holds what its
        views were cut from."""
        return sum(
            k.untyped_storage().nbytes() + v.untyped_storage().nbytes() for k, v in self._tensors()
        )

    def copy_prefix(self, length: int) -> KVState:
        """A new state holding copies of the first ``length`` positions."""
        from transformers import DynamicCache

        pairs = [
            (k[..., :length, :].clone(), v[..., :length, :].clone()) for k, v in self._tensors()
        ]
        return KVState(DynamicCache(pairs), self.tokens[:length])
