"""Deterministic tar.gz: POSIX pax tar, normalised owners and modes, a gzip header without
a file name or time, so the same tree gives the same bytes."""

from __future__ import annotations

import struct
import tarfile
from collections.abc import Iterable
from typing import BinaryIO

from isal import isal_zlib
from zlib_ng import zlib_ng

from packer.errors import BadInput, OperationFailed
from packer.zipwriter import FAST_ISAL_LEVEL, OPTIMAL_ZLIB_NG_LEVEL, ZipEntry

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
_BUFFER = 1 << 20


class GzipStream:
    """A write-only gzip member around a raw deflate stream, with a fixed header."""

    def __init__(self, out: BinaryIO, level: str) -> None:
        self.out = out
        if level == "fast":
            self._comp = isal_zlib.compressobj(FAST_ISAL_LEVEL, isal_zlib.DEFLATED, -15)
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
        out.write(_GZIP_HEADER)

    def write(self, data: bytes) -> int:
        """Buffer data and deflate it in large pieces (tarfile writes 10 KiB records)."""
        self._pending.append(bytes(data))
        self._pending_size += len(data)
        if self._pending_size >= _BUFFER:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        data = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        self._crc = isal_zlib.crc32(data, self._crc)
        self._size += len(data)
        self.out.write(self._comp.compress(data))

    def close(self) -> None:
        """Finish the deflate stream and write the gzip trailer (CRC-32, size mod 2**32)."""
        self._drain()
        self.out.write(self._comp.flush())
        self.out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))


def write_tar_gz(out: BinaryIO, entries: Iterable[ZipEntry], level: str = "fast") -> int:
    """Write entries (in archive order) as a pax tar inside gzip; return the entry count."""
    gz = GzipStream(out, level)
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
    gz.close()
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
