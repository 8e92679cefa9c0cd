"""Write a big file to disk while it arrives, so making it durable waits only for the tail.

Used by a client download and by the feed's raw push spool. Without this the whole
package sits dirty in the page cache and the fsync before the rename writes it all at
once (about 0.45 s per GiB here, in series with the transfer; the kernel also throttles
a writer once too much is dirty).
A thread calls fdatasync each time another FLUSH_EVERY bytes were written; the disk
works while the network and the hash do. A failure it meets is kept and raised by
`check`, because Linux reports a writeback error to one fsync only.
"""

from __future__ import annotations

import os
import threading

FLUSH_EVERY = 64 << 20


class Writeback:
    """fdatasync `fd` on a thread after every `every` bytes written; `check` raises its failure."""

    def __init__(self, fd: int, every: int = FLUSH_EVERY) -> None:
        self._fd = fd
        self._every = every
        self._pending = 0
        self._wake = threading.Event()
        self._stopping = False
        self._due = False  # a sync was asked for and not yet begun
        self._thread: threading.Thread | None = None
        self.error: OSError | None = None

    def wrote(self, count: int) -> None:
        """Note `count` more bytes written; wake the thread once enough are pending."""
        self._pending += count
        if self._pending < self._every:
            return
        self._pending = 0
        self._due = True
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="writeback", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._due:
                self._due = False
                try:
                    os.fdatasync(self._fd)
                except OSError as error:
                    self.error = error
                    return
            if self._stopping:
                return

    def stop(self) -> None:
        """End the thread once a sync asked for is done (before the file closes); idempotent."""
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._thread = None
            self._stopping = False  # a later `wrote` may start it again

    def check(self) -> None:
        """Stop, then raise the error an earlier fdatasync met, if any."""
        self.stop()
        if self.error is not None:
            raise self.error
