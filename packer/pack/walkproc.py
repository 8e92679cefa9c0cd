"""Walk the tree in a forked child process and stream what it finds back through a pipe.

The walk is thousands of small system calls (readdir, stat) and Python work per name; in its
own process it runs on another core and never waits for the GIL of the packing process, which
reads one pipe buffer per few hundred names instead. Entries and errors arrive in walk order,
so the caller sees exactly what iter_files gives.
"""

from __future__ import annotations

import marshal
import os
import signal
import struct
from collections.abc import Iterator

from packer.model import errors
from packer.pack.collect import SourceFile

_BATCH = 256
_HEADER = struct.Struct("<I")


def stream_files(
    files: Iterator[SourceFile], warnings: list[str] | None = None
) -> Iterator[SourceFile]:
    """Run the (not yet started) walk `files` in a child process where fork exists.

    `warnings` is the list the walk appends to: the child's are sent after its entries
    and appended to the parent's list.
    """
    if not hasattr(os, "fork"):
        return files
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: walk, send, and leave without running the parent's cleanup
        os.close(read_end)
        code = 0
        try:
            _send(files, write_end, warnings)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    stream = _receive(read_end, pid, warnings)
    next(stream)  # enter its try block: closing or dropping it now always reaps the child
    return stream


def _send(files: Iterator[SourceFile], fd: int, warnings: list[str] | None) -> None:
    """Write batches of entry tuples; a PackerError ends the stream as a (class, message) pair."""
    with os.fdopen(fd, "wb", buffering=0) as out:
        batch: list[tuple] = []
        try:
            for item in files:
                batch.append(tuple(item))
                if len(batch) >= _BATCH:
                    _write(out, batch)
                    batch = []
        except errors.PackerError as error:
            batch.append((type(error).__name__, str(error)))
        except Exception as error:  # an unexpected failure still reaches the parent
            batch.append(("OperationFailed", f"walking the base path failed: {error!r}"))
        batch += [(warning,) for warning in warnings or ()]
        _write(out, batch)


def _write(out, batch: list[tuple]) -> None:
    data = marshal.dumps(batch)
    out.write(_HEADER.pack(len(data)) + data)


def _receive(fd: int, pid: int, warnings: list[str] | None) -> Iterator[SourceFile]:
    """Yield None first (ready), then the child's entries in order; re-raise its error;
    always reap the child, also when the consumer stops early."""
    finished = False
    inp = os.fdopen(fd, "rb", buffering=1 << 16)
    try:
        yield None  # type: ignore[misc]
        while head := inp.read(_HEADER.size):
            (size,) = _HEADER.unpack(head)
            for record in marshal.loads(inp.read(size)):
                if len(record) == 2:
                    raise _error(*record)
                if len(record) == 1:
                    if warnings is not None:
                        warnings.append(record[0])
                    continue
                yield SourceFile(*record)
        finished = True
    finally:
        inp.close()
        if not finished:
            os.kill(pid, signal.SIGKILL)  # the consumer stopped early: the walk is not needed
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise errors.OperationFailed("walking the base path failed in the walker process")


def _error(name: str, message: str) -> errors.PackerError:
    """Rebuild the child's exception (BadInput and friends) with its message."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, errors.PackerError):
        return kind(message)
    return errors.OperationFailed(message)
