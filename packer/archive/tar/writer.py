"""Deterministic tar.gz: POSIX pax tar, normalised owners and modes, a gzip header without
a file name or time, so the same tree gives the same bytes."""

from __future__ import annotations

import queue
import struct
import tarfile
import threading
from collections.abc import Iterable
from typing import BinaryIO

from isal import isal_zlib
from zlib_ng import zlib_ng

from packer.archive.zip.writer import FAST_ZLIB_NG_LEVEL, OPTIMAL_ZLIB_NG_LEVEL, ZipEntry
from packer.model.errors import BadInput, OperationFailed

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
_BUFFER = 1 << 20


class GzipStream:
    """A write-only gzip member around a raw deflate stream, with a fixed header.

    Deflate runs on its own thread (zlib-ng releases the GIL) while tarfile builds
    the next records; the pieces and their order are the same as inline, so are the bytes.
    """

    def __init__(self, out: BinaryIO, level: str) -> None:
        self.out = out
        if level == "fast":
            self._comp = zlib_ng.compressobj(FAST_ZLIB_NG_LEVEL, zlib_ng.DEFLATED, -15)
        elif level == "optimal":
            self._comp = zlib_ng.compressobj(OPTIMAL_ZLIB_NG_LEVEL, zlib_ng.DEFLATED, -15)
        elif level == "none":
            self._comp = zlib_ng.compressobj(0, zlib_ng.DEFLATED, -15)
        else:
            raise BadInput(f"unknown compression level {level!r}: use none, fast or optimal")
        self._crc = 0
        self._size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        out.write(_GZIP_HEADER)
        self._thread = threading.Thread(target=self._run, name="gzip", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> int:
        """Buffer data and deflate it in large pieces (tarfile writes 10 KiB records)."""
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= _BUFFER:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        if self._error is not None:
            raise self._error
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        self._queue.put(data)

    def _run(self) -> None:
        """The compressing thread: CRC, deflate and write each piece in order."""
        try:
            while (data := self._queue.get()) is not None:
                if self._error is None:
                    self._crc = isal_zlib.crc32(data, self._crc)
                    self._size += len(data)
                    self.out.write(self._comp.compress(data))
        except BaseException as error:  # handed to the writer on its next call
            self._error = error
            while self._queue.get() is not None:  # keep the producer from blocking
                pass

    def close(self) -> None:
        """Finish the deflate stream and write the gzip trailer (CRC-32, size mod 2**32)."""
        self._drain()
        self._stop()
        if self._error is not None:
            raise self._error
        self.out.write(self._comp.flush())
        self.out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))

    def abort(self) -> None:
        """Stop the compressing thread after a failure; what was written is discarded."""
        self._error = self._error or OperationFailed("packing was interrupted")
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def write_tar_gz(out: BinaryIO, entries: Iterable[ZipEntry], level: str = "fast") -> int:
    """Write entries (in archive order) as a pax tar inside gzip; return the entry count."""
    gz = GzipStream(out, level)
    try:
        count = _write_tar(gz, entries)
    except BaseException:
        gz.abort()
        raise
    gz.close()
    return count


def _write_tar(gz: GzipStream, entries: Iterable[ZipEntry]) -> int:
    """Write the entries as pax tar records into the gzip stream; return the entry count."""
    count = 0
    with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for entry in entries:
            count += 1
            info = tarfile.TarInfo(entry.name.rstrip("/"))
            info.mtime = int(entry.mtime)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.is_dir:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            info.mode = 0o755 if entry.mode & 0o111 else 0o644
            if entry.data is not None:
                info.size = len(entry.data)
                tar.addfile(info, _BytesReader(entry.data))
                continue
            info.size = entry.size
            assert entry.path is not None
            try:
                with open(entry.path, "rb") as handle:
                    tar.addfile(info, handle)
            except OSError as error:
                raise BadInput(f"cannot read {entry.path}: {error.strerror or error}") from error
            except tarfile.ReadError as error:
                raise OperationFailed(f"{entry.path} changed while it was being packed") from error
    return count


class _BytesReader:
    """The minimal file object tarfile.addfile reads from."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk
