"""The progress vocabulary shared by pack, transfers, deploy and the CLI that draws it.

A `Progress` callback takes (done, total); for a job without a known total the second
number is the bytes done so far (pack counts files and bytes), or None. A `ProgressFactory` opens one for a
labelled job with a known total (or None) and closes it when the job ends; the CLI passes
one that draws on a terminal, and library code falls back to `no_progress`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

Progress = Callable[[int, int | None], None]
ProgressFactory = Callable[[str, int | None], AbstractContextManager[Progress | None]]


def no_progress(label: str, total: int | None) -> AbstractContextManager[Progress | None]:
    """Report nothing (the default everywhere outside a terminal)."""
    return nullcontext(None)
