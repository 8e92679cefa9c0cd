"""The edges of a request body: a server's parse failure is the client's malformed request.

gunicorn (InvalidChunkSize, ChunkMissingTerminator) and werkzeug's server (OSError
"Invalid chunk header") raise from `wsgi.input` when a chunked body is malformed; left
alone that surfaces as a 500. `guard_body` wraps the input so any such failure becomes a
400 naming it. Our own errors (raised by readers above) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from feed.core.errors import BadRequest
from packer.model.errors import PackerError

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MalformedBody(BadRequest):
    """The request body could not be read as HTTP: a bad chunk size, a cut chunk."""


class _GuardedInput:
    """A `wsgi.input` whose read failures become MalformedBody."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except PackerError:
            raise
        except Exception as error:  # noqa: BLE001 - any server parse failure is the body's
            reason = str(error) or type(error).__name__
            raise MalformedBody(f"the request body is malformed: {reason}") from error

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call("readlines", *args)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


def guard_body(app: WsgiApp) -> WsgiApp:
    """Wrap a WSGI app so a malformed request body answers 400, not 500."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _GuardedInput(stream)
        return app(environ, start_response)

    return guarded
