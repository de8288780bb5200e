"""The incremental stop check against the whole-text one: fed the same text in
any pieces, StopChecker answers what should_stop answers at every step."""

from __future__ import annotations

import random

import pytest

from jupyter_codegen.completion.scope import completion_scope
from jupyter_codegen.completion.stopping import StopChecker, should_stop

#: Pieces that matter to the check: line breaks of every kind, indents,
#: brackets, quotes, comments, headers, continuations, decorators, fences,
#: and the suffix's first line written again.
PIECES = [
    "\n",
    "\r\n",
    "\r",
    "\u2028",
    "\x0c",
    "    ",
    "\t",
    "  ",
    " ",
    "x",
    "y = 1",
    "return total",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    '"""',
    "'''",
    "#",
    "# note",
    "\\",
    ":",
    "def f():",
    "if x:",
    "else:",
    "elif y:",
    "except E:",
    "finally:",
    "for i in r:",
    "@dec",
    "```",
    "```python",
    "Here is the code:",
    "pass",
    "total += n",
    "el",
    "se",
    "print(",
    "a, b",
]
CELLS = [
    ("def average(nums):\n    total = 0\n    for n in nums:\n        ", "\n    return total\n"),
    ("for x in y:", "\nprint(x)\n"),
    ("x = f(", ")\n"),
    ("", ""),
    ("class A:\n    def m(self):\n", "\n        return 1\n"),
    ("total = 0\n", "\nreturn total\n"),
    ("    ", ""),
    ("df = load()\ndf[", "]\n"),
]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 40)))


def splits(rng: random.Random, text: str) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randrange(0, 12))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("seed", range(40))
def test_the_incremental_check_answers_as_the_whole_text_one(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for prefix, suffix in CELLS:
        for scope in ("line", "statement", "block", completion_scope(prefix, suffix)):
            for _ in range(6):
                text = random_text(rng)
                checker = StopChecker(prefix, suffix, scope)
                so_far = ""
                for piece in splits(rng, text):
                    so_far += piece
                    expected = should_stop(so_far, prefix, suffix, scope)
                    assert checker.feed(piece) == expected, (prefix, suffix, scope, so_far)
                    checked += 1
                    if expected:
                        break
    assert checked > 500


@pytest.mark.parametrize(
    ("prefix", "suffix", "pieces", "stops_at"),
    [
        # a block ends at the first line indented less than the cursor
        ("for x in y:\n    ", "", ["a = 1", "\n", "    b = 2", "\n", "c"], 4),
        # the suffix's first line, written again on a line of its own
        ("def f():\n    ", "\n    return total\n", ["x = 1", "\n    ret", "urn total"], 2),
        # a fence split across two steps
        ("", "", ["`", "``python\n"], 1),
        # the rest of the line, mid-line
        ("print(", ")\n", ["x", ", y", ")\nz"], 2),
    ],
)
def test_where_it_stops(prefix: str, suffix: str, pieces: list[str], stops_at: int) -> None:
    checker = StopChecker(prefix, suffix, completion_scope(prefix, suffix))
    answers = [checker.feed(p) for p in pieces]
    assert answers.index(True) == stops_at, answers
