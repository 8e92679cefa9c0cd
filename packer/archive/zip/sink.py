"""A background writer for the zip writer: bytes go to the file (and through SHA-256) on their
own thread, so the thread that orders entries never waits on write() or on hashing, and the
package is not read back afterwards just to hash it."""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import BinaryIO

_WRITE, _PATCH, _TRUNCATE, _HOLD, _RELEASE, _STOP = range(6)
_READ_BACK = 1 << 20


class WriteSink:
    """Apply writes, header patches and truncations in order on one thread; hash on the way.

    Hashing pauses between `hold()` and `release()` (a region whose header is patched later)
    and catches up by reading that region back once it is final. At most `max_pending` bytes
    wait in the queue, so memory stays bounded however slow the disk is.
    """

    def __init__(
        self, out: BinaryIO, *, digest: bool = False, max_pending: int = 8 << 20,
        hashed: tuple[object, int] | None = None,
    ) -> None:  # fmt: skip
        """`hashed`: a SHA-256 already fed with the file's first bytes, and how many."""
        self.out = out
        self._hash = hashlib.sha256() if digest else None
        self._hashed = 0
        if digest and hashed is not None:
            self._hash, self._hashed = hashed  # type: ignore[assignment]
        self._held = out.tell() > self._hashed  # the rest is hashed by the first catch-up
        self._max_pending = max_pending
        self._pending = 0
        self._cond = threading.Condition()
        self._queue: queue.SimpleQueue[tuple[int, int, bytes]] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._stopped = False
        if self._hash is not None and self._held:
            self._queue.put((_RELEASE, 0, b""))
        self._thread = threading.Thread(target=self._run, name="zip-sink", daemon=True)
        self._thread.start()

    # called by the producer ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Append `data` at the end of the file."""
        self._put(_WRITE, 0, data)

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite bytes at `offset` (a header written earlier); the end stays where it is."""
        self._put(_PATCH, offset, data)

    def truncate(self, offset: int) -> None:
        """Cut the file at `offset`; later writes continue from there."""
        self._put(_TRUNCATE, offset, b"")

    def hold(self) -> None:
        """Stop hashing: what follows may still be patched or truncated."""
        self._put(_HOLD, 0, b"")

    def release(self) -> None:
        """Hash everything written since `hold()` (read back) and hash as writing again."""
        self._put(_RELEASE, 0, b"")

    def close(self) -> str | None:
        """Wait until everything is written; return the SHA-256 hex digest when asked for one."""
        self._stop()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest() if self._hash is not None else None

    def abort(self) -> None:
        """Stop after what is queued (used when packing fails); errors are left to the caller."""
        self._stop()

    def _stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._queue.put((_STOP, 0, b""))
            self._thread.join()

    def _put(self, op: int, offset: int, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        size = len(data)
        with self._cond:
            while self._pending and self._pending + size > self._max_pending and not self._error:
                self._cond.wait()
            self._pending += size
        self._queue.put((op, offset, data))

    # the sink's thread ---------------------------------------------------------------------

    def _run(self) -> None:
        out = self.out
        try:
            while True:
                op, offset, data = self._queue.get()
                if op == _STOP:
                    return
                if op == _WRITE:
                    out.write(data)
                    if self._hash is not None and not self._held:
                        self._hash.update(data)
                        self._hashed += len(data)
                elif op == _PATCH:
                    end = out.tell()
                    out.seek(offset)
                    out.write(data)
                    out.seek(end)
                elif op == _TRUNCATE:
                    out.seek(offset)
                    out.truncate()
                elif op == _HOLD:
                    self._held = True
                elif op == _RELEASE:
                    self._catch_up()
                if data:
                    with self._cond:
                        self._pending -= len(data)
                        self._cond.notify_all()
        except BaseException as error:  # handed to the producer on its next call
            self._error = error
            with self._cond:
                self._cond.notify_all()

    def _catch_up(self) -> None:
        """Hash the region written while hashing was held, reading it back from the file."""
        self._held = False
        if self._hash is None:
            return
        out = self.out
        end = out.tell()
        out.flush()
        out.seek(self._hashed)
        while self._hashed < end:
            block = out.read(min(_READ_BACK, end - self._hashed))
            if not block:
                raise OSError(f"could not read back {self._hashed}..{end} for the digest")
            self._hash.update(block)
            self._hashed += len(block)
        out.seek(end)
