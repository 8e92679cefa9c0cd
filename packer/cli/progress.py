"""Progress on stderr for a person at a terminal; quiet in pipes, files and CI.

`progress(label, total)` is the `ProgressFactory` the commands hand to the library: a bar
when the total is known (push, download, extraction), a running count when it is not
(pack's files and bytes, retention's packages). `show_progress` decides, and tests swap
the stream for a fake terminal instead of timing anything.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import click

from packer.model.progress import Progress


def show_progress(stream: TextIO | None = None) -> bool:
    """Tell whether to draw: only on a terminal, and never when CI is set."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


@contextmanager
def progress(label: str, total: int | None) -> Iterator[Progress | None]:
    """Yield a callback drawing a bar (or a count without total) on stderr, or None."""
    stream = sys.stderr
    if not show_progress(stream):
        yield None
        return
    if total is None:
        with _count(label, stream) as update:
            yield update
        return
    with click.progressbar(length=total, label=label, file=stream) as bar:
        shown = [0]

        def update(done: int, _total: int | None) -> None:
            if done > shown[0]:
                bar.update(done - shown[0])
                shown[0] = done

        yield update


@contextmanager
def _count(label: str, stream: TextIO) -> Iterator[Progress]:
    """Redraw `label: N` on one line as the count grows; end the line when done."""
    last = [""]

    def update(done: int, detail: int | None) -> None:
        text = f"{label}: {done}" + (f", {human_bytes(detail)}" if detail is not None else "")
        if text != last[0]:
            stream.write("\r" + text)
            stream.flush()
            last[0] = text

    yield update
    if last[0]:
        stream.write("\n")
        stream.flush()


def human_bytes(size: int) -> str:
    """Say a byte count the way a person reads it: 512 B, 1.5 MiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover
