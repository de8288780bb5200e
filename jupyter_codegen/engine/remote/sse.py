"""Server-sent events, read with bounds.

A line is bounded, and so is an event (its ``data:`` lines until the blank line
that ends it) and the whole reply: an upstream that streams megabyte lines
without ever ending an event fails at :data:`MAX_EVENT` bytes instead of
filling the memory. Lines are found by scanning only the bytes that arrived
(no quadratic re-splitting of a long line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

MIB = 1024 * 1024
#: Most bytes of one event's data (and so of one line). A streamed chunk of a
#: completion is well under a KiB; a whole reply sent as one event is at most
#: a few hundred KiB.
MAX_EVENT = MIB
#: Most bytes of one streamed reply.
MAX_STREAM = 64 * MIB


class Oversized(Exception):
    """The reply broke a bound; the message says which (no upstream text)."""


def events(
    read: Callable[[], bytes], *, max_event: int = MAX_EVENT, max_stream: int = MAX_STREAM
) -> Iterator[bytes]:
    """Each event's data (its ``data:`` lines joined by newlines), read with
    ``read()`` (b"" at the end of the reply). Other fields (``event:``,
    ``id:``, ``retry:``) and ``:`` comments carry nothing needed here."""
    buffer = bytearray()
    data: list[bytes] = []
    size = total = 0
    while True:
        chunk = read()
        total += len(chunk)
        if total > max_stream:
            raise Oversized(f"streamed more than {max_stream // MIB} MiB")
        scan = len(buffer)
        buffer += chunk
        lines: list[bytes] = []
        start = 0
        while (end := buffer.find(b"\n", scan)) >= 0:
            lines.append(bytes(buffer[start:end]))
            start = scan = end + 1
        if start:
            del buffer[:start]
        if not chunk and buffer:  # the end of the reply ends its last line
            lines.append(bytes(buffer))
            buffer.clear()
        if len(buffer) > max_event:
            raise Oversized(f"streamed a line over {max_event // MIB} MiB")
        for line in lines:
            line = line.rstrip(b"\r")
            if not line:
                if data:
                    yield b"\n".join(data)
                data, size = [], 0
            elif line.startswith(b"data:"):
                payload = line[5:]
                payload = payload[1:] if payload.startswith(b" ") else payload
                size += len(payload) + 1
                if size > max_event:
                    raise Oversized(
                        f"streamed an event over {max_event // MIB} MiB (data lines without "
                        "the blank line that ends an event)"
                    )
                data.append(payload)
        if not chunk:
            if data:
                yield b"\n".join(data)
            return
