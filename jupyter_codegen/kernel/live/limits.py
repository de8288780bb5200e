"""The bounds of a live lookup: how many names, columns and keys, and how
long a line, a name, a source and a reply may be."""

from __future__ import annotations

#: The most names that one lookup describes.
MAX_VARIABLES = 20
MAX_COLUMNS = 40
MAX_KEYS = 20
#: The most levels of a MultiIndex column label that are shown.
MAX_LABEL_PARTS = 4
#: Dicts larger than this show no keys ("small dicts" only).
MAX_DICT_LEN = 200
#: The longest description of one value, in characters.
MAX_LINE_CHARS = 1000
#: Longer names are not described (nor listed): no one types them.
MAX_NAME_CHARS = 100
#: The most that :func:`~jupyter_codegen.kernel.live.live_context` returns,
#: text and names together.
MAX_REPLY_CHARS = 20_000
#: What a lookup returns when not asked for another size (the frontend's).
LIVE_CHARS = 3000
#: The longest source that :func:`~jupyter_codegen.kernel.live.live_context` reads.
MAX_SOURCE_CHARS = 200_000
#: The source the names are chosen from, at most (``MAX_LIVE_SOURCE_CHARS``
#: in src/kernelContext.ts).
MAX_LIVE_SOURCE_CHARS = 20_000
