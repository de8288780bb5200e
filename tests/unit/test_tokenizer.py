"""The local engine's incremental detokenizer against decoding the whole
sequence: after every token the text is the same, less an unfinished UTF-8
sequence at the end."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from jupyter_codegen.engine.local.tokenizer import Detokenizer, Tokenizers


@pytest.fixture(scope="module")
def tokens(tiny_model_dir: Path) -> Tokenizers:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    return Tokenizers(tokenizer, tokenizer.eos_token_id or 0)


def whole(tokens: Tokenizers, ids: list[int]) -> str:
    text = tokens.decode(ids)
    return text[:-1] if text.endswith("\ufffd") else text


TEXTS = [
    "def mean(xs):\n    return sum(xs) / len(xs)\n",
    "prix = {'café': 3.5, 'thé': 2.0}  # €, 😀, 中文\n",
    "\t\t    \n\n  x = '''\nline\n'''\n",
    "s = 'naïve' + \"Ω\" * 3\n<|im_end|>",
]


def test_text_grows_as_decoding_the_whole_sequence_would(tokens: Tokenizers) -> None:
    rng = random.Random(0)
    vocab = sorted(tokens.vocab.values())
    sequences = [tokens.plain(t) for t in TEXTS]
    # random ids, byte tokens that split characters included
    sequences += [[rng.choice(vocab) for _ in range(60)] for _ in range(30)]
    sequences += [tokens.plain(TEXTS[1])[::-1]]  # bytes of characters out of order
    checked = 0
    for ids in sequences:
        detok = tokens.detokenizer()
        for k in range(1, len(ids) + 1):
            assert detok.push(ids[k - 1]) == whole(tokens, ids[:k]), (ids[:k], k)
            checked += 1
    assert checked > 1500


def test_a_step_decodes_a_window_not_the_sequence() -> None:
    seen: list[int] = []

    def decode(ids: list[int]) -> str:
        seen.append(len(ids))
        return "".join(chr(97 + i % 26) for i in ids)

    detok = Detokenizer(decode)
    for token in range(500):
        detok.push(token)
    assert max(seen) <= 3  # the window, however long the text grew
