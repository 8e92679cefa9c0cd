"""Reading the root .nuspec of a stored nupkg by a few byte-range reads, never the whole blob."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import unquote

from feed.core.errors import PackageNotFound, PackageRefused
from feed.core.records import PackageRecord

Opener = Callable[[int, int], BinaryIO]  # (start, inclusive end) -> a stream of those bytes


class RangeFile(io.RawIOBase):
    """A seekable read-only file over a stored blob, read by byte ranges (for zipfile)."""

    def __init__(self, size: int, opener: Opener) -> None:
        self.size = size
        self.opener = opener
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}
        self.position = max(0, base[whence] + offset)
        return self.position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.position >= self.size or len(buffer) == 0:
            return 0
        end = min(self.position + len(buffer), self.size) - 1
        with self.opener(self.position, end) as source:
            data = source.read(end - self.position + 1)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def is_root_nuspec(stored_name: str) -> bool:
    """Tell whether a zip entry is the root nuspec, judged as the validator judged it on push.

    Part names in a nupkg are URI-escaped (OPC): `App%2Enuspec` is `App.nuspec`, and the
    push accepted it as the nuspec, so the feed must find it by the decoded name too.
    """
    name = unquote(stored_name)
    return "/" not in name and name.lower().endswith(".nuspec")


def read_stored_nuspec(record: PackageRecord, opener: Opener, max_bytes: int) -> bytes:
    """Return the root .nuspec of a stored nupkg as it was pushed."""
    with (
        io.BufferedReader(RangeFile(record.size, opener), 64 * 1024) as source,
        zipfile.ZipFile(source) as archive,
    ):
        for info in archive.infolist():
            if is_root_nuspec(info.filename):
                if info.file_size > max_bytes:
                    raise PackageRefused(
                        f"the nuspec of {record.filename} is over {max_bytes} bytes"
                    )
                return archive.read(info)
    raise PackageNotFound(f"{record.filename} holds no nuspec")
