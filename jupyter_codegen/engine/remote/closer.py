"""Closing a connection from another thread, so that a read blocked on a
silent (or a slow, dripping) server returns at once: when the caller says
stop, or at the call's total deadline."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable


class Closer:
    """Shuts the connection's socket down when ``stop()`` is true or the
    monotonic ``deadline`` has passed, from a watcher thread. ``expired`` says
    which of the two closed it."""

    POLL_S = 0.05

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        stop: Callable[[], bool],
        deadline: float | None = None,
    ):
        self._conn = conn
        self._stop = stop
        self.deadline = deadline
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.closed = False
        self.expired = False
        self._thread = threading.Thread(target=self._watch, name="codegen-upstream", daemon=True)
        self._thread.start()

    def _due(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.expired = True
            return True
        return self._stop()

    def _watch(self) -> None:
        while not self._done.wait(self.POLL_S):
            if self._due():
                self.close()
                return

    def close(self) -> None:
        with self._lock:
            if self.closed or self._done.is_set():
                return
            self.closed = True
            sock = self._conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stopped(self) -> bool:
        if not self.closed and self._due():
            self.close()
        return self.closed

    def finish(self) -> None:
        with self._lock:
            self._done.set()
