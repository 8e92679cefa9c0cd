"""Reading a raw request body of known length in large pieces.

Under gunicorn the body is read straight from the connection with `recv_into` and
MSG_WAITALL into PIECE-sized buffers: one system call per piece and no copies through
gunicorn's read-ahead buffers (which cost several copies of every byte). What gunicorn
had already read past the headers is taken first, and its body reader is told the body
is consumed, so the connection stays usable for the next request. Anywhere else, or when
gunicorn's internals are not as expected, the WSGI input stream is read instead.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

from feed.core.errors import BadRequest

PIECE = 4 * 1024 * 1024  # large pieces: few system calls, and hashlib drops the GIL


class CutBody(BadRequest):
    """The client sent fewer bytes than its Content-Length said."""


def body_pieces(environ: dict[str, Any], stream: Any, length: int) -> Iterator[Any]:
    """Yield the `length` bytes of the request body as bytes-like pieces (each a new buffer).

    `stream` is the framework's body stream (werkzeug's, which counts what was read), the
    fallback when the connection cannot be read directly.
    """
    direct = _gunicorn_body(environ)
    if direct is None or direct[2].length != length:
        yield from _stream_pieces(stream, length)
        return
    sock, body, reader = direct
    try:
        yield from _socket_pieces(sock, reader, length)
    except BaseException:
        body.failed = True  # where the next request starts is unknown: close the connection
        raise


def _gunicorn_body(environ: dict[str, Any]) -> tuple[socket.socket, Any, Any] | None:
    """gunicorn's socket, Body and LengthReader when they look as this module expects."""
    sock = environ.get("gunicorn.socket")
    stream = environ.get("wsgi.input")
    body = getattr(stream, "_stream", stream)  # feed.http.edges wraps the input
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if type(sock) is not socket.socket or type(reader).__name__ != "LengthReader":  # no TLS
        return None
    body_buf, read_ahead = getattr(body, "buf", None), getattr(unreader, "buf", None)
    if not isinstance(body_buf, io.BytesIO) or not isinstance(read_ahead, io.BytesIO):
        return None
    if body_buf.getbuffer().nbytes or not isinstance(getattr(reader, "length", None), int):
        return None  # someone read part of the body already: keep to the stream
    return sock, body, reader


def _socket_pieces(sock: socket.socket, reader: Any, length: int) -> Iterator[Any]:
    """Take gunicorn's read-ahead, then receive the rest straight from the socket."""
    unreader = reader.unreader
    held = unreader.buf.getvalue()
    unreader.buf = io.BytesIO()
    unreader.buf.write(held[length:])  # a pipelined next request stays for gunicorn
    received = 0
    if held[:length]:
        received = len(held[:length])
        reader.length -= received
        yield held[:length]
    while received < length:
        buffer = bytearray(min(PIECE, length - received))
        view = memoryview(buffer)
        filled = 0
        while filled < len(buffer):
            count = sock.recv_into(view[filled:], len(buffer) - filled, socket.MSG_WAITALL)
            if count == 0:
                raise CutBody(f"the body ended after {received + filled} of {length} bytes")
            filled += count
        received += filled
        reader.length -= filled
        yield buffer


def _stream_pieces(stream: Any, length: int) -> Iterator[bytes]:
    """Read the WSGI input in PIECE reads until `length` bytes came."""
    received = 0
    while received < length:
        piece = stream.read(min(PIECE, length - received))
        if not piece:
            raise CutBody(f"the body ended after {received} of {length} bytes")
        received += len(piece)
        yield piece
