"""octopack's raw push: the package file as the request body, its SHA-256 in a header.

The feed then skips multipart parsing and refuses a body that does not hash to the
declared value. Feeds without the route (Octopus, older octopack) answer 404 or 405 and
the client falls back to the multipart upload.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from packer.client.transfer import Progress
from packer.model.errors import BadInput

SHA256_HEADER = "X-Octopack-Sha256"
RAW_CHUNK = 4 << 20  # large reads and sends: fewer system calls and Python round trips
NOT_OFFERED = (404, 405)  # what a feed without the raw route answers


def raw_push_url(server: str, filename: str) -> str:
    """The raw push URL of a feed for one package file name."""
    return f"{server}/api/octopack/packages/{quote(filename, safe='')}"


class RawBody:
    """The package file as a request body, read in large blocks, with a known length.

    requests sends an iterable with `__len__` as a Content-Length body, never chunked.
    """

    def __init__(self, path: Path, size: int, progress: Progress | None) -> None:
        self._path = path
        self._size = size
        self._progress = progress

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        with open(self._path, "rb", buffering=0) as stream:
            while sent < self._size:
                block = stream.read(min(RAW_CHUNK, self._size - sent))
                if not block:
                    raise BadInput(f"package file {str(self._path)!r} shrank during upload")
                sent += len(block)
                if self._progress is not None:
                    self._progress(sent, self._size)
                yield block
