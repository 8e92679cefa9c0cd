"""octopack's raw push: the package file as the request body, its SHA-256 as a trailer.

The client sends `X-Octopack-Sha256: trailer` and the file followed by its SHA-256 as 64
hex digits, hashing each block on a thread while the previous one is sent: the file is
read once and no time goes to hashing before the first byte leaves. The feed skips
multipart parsing and refuses a package that does not hash to the trailer. If the file
changes while it is read, the trailer still describes exactly the bytes sent (and the
feed validates the archive as always). Feeds without the route (Octopus, older octopack)
answer 404 or 405 and the client falls back to the multipart upload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

from packer.client.transfer import Progress, file_blocks
from packer.model.conventions import RAW_PUSH_TRAILER_BYTES

RAW_CHUNK = 4 << 20  # large reads and sends: fewer system calls and Python round trips
NOT_OFFERED = (404, 405)  # what a feed without the raw route answers


def raw_push_url(server: str, filename: str) -> str:
    """The raw push URL of a feed for one package file name."""
    return f"{server}/api/octopack/packages/{quote(filename, safe='')}"


class RawBody:
    """The package file then its SHA-256 trailer as a request body, with a known length.

    requests sends an iterable with `__len__` as a Content-Length body, never chunked.
    `sha256` is set once the whole body was produced.
    """

    def __init__(self, path: Path, size: int, progress: Progress | None) -> None:
        self._path = path
        self._size = size
        self._progress = progress
        self.sha256: str | None = None

    def __len__(self) -> int:
        return self._size + RAW_PUSH_TRAILER_BYTES

    def __iter__(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        with ThreadPoolExecutor(1, thread_name_prefix="octopack-sha256") as hasher:
            hashing: Future[None] | None = None
            for block in file_blocks(self._path, self._size, RAW_CHUNK, self._progress):
                if hashing is not None:
                    hashing.result()  # at most one block waits: memory stays two blocks
                hashing = hasher.submit(digest.update, block)  # hashlib drops the GIL
                yield block
            if hashing is not None:
                hashing.result()
        self.sha256 = digest.hexdigest()
        yield self.sha256.encode("ascii")
