"""Streamed package downloads with HEAD, single byte ranges, ETag and If-None-Match.

Used by every dialect: the bytes flow from storage to the socket in chunks, never whole
in memory. The ETag is the package's SHA-256, so a client holding the file can revalidate.
A whole package from disk storage goes out as the WSGI server's file wrapper, which
gunicorn sends with `sendfile` (no copies through Python).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from flask import Request, Response
from werkzeug.wsgi import wrap_file

from feed.core.records import PackageRecord
from feed.http.metrics import count_download
from packer.model.formats import content_type_for

CHUNK = 256 * 1024
FILE_BLOCK = 1024 * 1024  # the file wrapper's read size where the server cannot sendfile
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")

Opener = Callable[[int, int | None], BinaryIO]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """Return (start, end-exclusive) for one satisfiable range, None to send it all, or
    "unsatisfiable"; multiple or malformed ranges are ignored as RFC 9110 allows."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match[1] and not match[2]):
        return None
    first, last = match[1], match[2]
    if not first:  # suffix: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end


def _stream(opener: Opener, start: int, end: int) -> Iterator[bytes]:
    """Yield the bytes [start, end) from storage in chunks, closing the source at the end."""
    return _chunks(opener(start, end - 1), end - start)  # storage ranges are inclusive


def _chunks(opened: BinaryIO, length: int) -> Iterator[bytes]:
    """Yield `length` bytes of an opened source in chunks, closing it at the end."""
    with opened as source:
        remaining = length
        while remaining > 0:
            chunk = source.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def _body(request: Request, opener: Opener, start: int, end: int, size: int) -> Iterable[bytes]:
    """The bytes [start, end): a whole on-disk file as a file wrapper, else in chunks."""
    if start == 0 and end == size:
        source = opener(0, None)
        if _is_plain_file(source):
            return wrap_file(request.environ, source, FILE_BLOCK)  # type: ignore[arg-type]
        return _chunks(source, size)
    return _stream(opener, start, end)


def _is_plain_file(source: BinaryIO) -> bool:
    """Tell whether `source` is an OS file read from its start (what sendfile can send)."""
    try:
        return source.fileno() >= 0 and source.tell() == 0
    except (OSError, AttributeError, ValueError):
        return False


def send_package(request: Request, record: PackageRecord, opener: Opener) -> Response:
    """Answer GET or HEAD for a package's bytes, honouring Range and If-None-Match."""
    headers = {
        "ETag": f'"{record.sha256}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="{record.filename}"',
        "Cache-Control": "no-cache",
    }
    mimetype = content_type_for(record.extension)
    if request.if_none_match and request.if_none_match.contains_weak(record.sha256):
        return Response(status=304, headers=headers)
    wanted = parse_range(request.headers.get("Range"), record.size)
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != headers["ETag"]:
        wanted = None
    if wanted == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{record.size}"
        return Response(status=416, headers=headers)
    start, end, status = 0, record.size, 200
    if isinstance(wanted, tuple):
        start, end, status = wanted[0], wanted[1], 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{record.size}"
    headers["Content-Length"] = str(end - start)
    body: Iterable[bytes] = []
    if request.method != "HEAD":
        count_download(end - start)
        body = _body(request, opener, start, end, record.size)
    response = Response(body, status=status, headers=headers, mimetype=mimetype)
    response.direct_passthrough = True
    return response
