"""Receive a download body at the speed of the machine: big reads, one copy, hashing overlapped.

A response body is read straight from the socket into a few reused 1 MiB buffers (no
`bytes` per chunk), each buffer is written to the `.part` file and handed to a thread that
hashes it. hashlib releases the GIL, so SHA-256 runs on one core while the socket and the
file take the other; a buffer returns to the ring only once it is both written and hashed.
"""

from __future__ import annotations

import hashlib
import http.client
import queue
import threading
from collections.abc import Callable
from typing import Any, Protocol

import requests

BLOCK = 1 << 20
DEPTH = 8  # buffers in flight: 8 MiB at most, whatever the body's size

ReadInto = Callable[[memoryview], int]
Done = Callable[[], None]


class BackgroundSha256:
    """SHA-256 computed on its own thread, in the order blocks are given; bounded queue."""

    def __init__(self, depth: int = DEPTH) -> None:
        self._work: queue.Queue[tuple[Any, Done | None] | None] = queue.Queue(depth)
        self._digest = hashlib.sha256()
        self._thread: threading.Thread | None = None

    def update(self, data: bytes | memoryview, then: Done | None = None) -> None:
        """Hash `data` (left untouched until then) after every earlier block; call `then` after."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
            self._thread.start()
        self._work.put((data, then))

    def _run(self) -> None:
        while (item := self._work.get()) is not None:
            data, then = item
            self._digest.update(data)
            if then is not None:
                then()

    def hexdigest(self) -> str:
        """Wait for every block given so far; return the digest (the thread stops)."""
        self.stop()
        return self._digest.hexdigest()

    def stop(self) -> None:
        """Let the thread finish the blocks it holds and end (idempotent)."""
        if self._thread is not None:
            self._work.put(None)
            self._thread.join()
            self._thread = None


class Sink(Protocol):
    """Where received blocks go: the `.part` file with its cap and hash (transfer.PartFile)."""

    written: int
    total: int | None

    def write(self, block: bytes | memoryview, then: Done | None = None) -> None: ...


def body_reader(response: requests.Response) -> ReadInto | None:
    """Return readinto for the raw body (http.client's, Content-Length or chunked aware).

    None when the body is content-encoded (requests must decode it) or no such reader is
    there; read and socket failures come out as requests' ConnectionError, as they would
    through requests.
    """
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    reader = getattr(getattr(response.raw, "_fp", None), "readinto", None)
    if encoding != "identity" or reader is None:
        return None

    def read_into(view: memoryview) -> int:
        try:
            return reader(view)
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise requests.exceptions.ConnectionError(error) from error

    return read_into


def receive(
    response: requests.Response,
    sink: Sink,
    progress: Callable[[int, int | None], None] | None = None,
    fallback_block: int = 1 << 18,
) -> None:
    """Pass the whole body to `sink` in order, through reused buffers where possible."""
    read_into = body_reader(response)
    if read_into is None:
        for chunk in response.iter_content(fallback_block):
            sink.write(chunk)
            if progress is not None:
                progress(sink.written, sink.total)
        return
    free: queue.Queue[memoryview] = queue.Queue()
    for _ in range(DEPTH):
        free.put(memoryview(bytearray(BLOCK)))
    while True:
        view = free.get()
        filled = read_into(view)
        if filled == 0:
            return
        sink.write(view[:filled], lambda view=view: free.put(view))
        if progress is not None:
            progress(sink.written, sink.total)
