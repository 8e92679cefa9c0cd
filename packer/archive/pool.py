"""A small thread pool for extraction: bounded backlog, failures reported in archive order.

Inflating (zlib, ISA-L) and file I/O release the GIL, so a few threads write entries in
parallel. The caller sees the failure of the earliest failing job, as a serial loop
would, and no thread is still writing once the pool's `with` block is left.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

MAX_WORKERS = 4


def default_workers() -> int:
    """Return the thread count for extraction: the cores, between 2 and MAX_WORKERS."""
    return min(MAX_WORKERS, max(2, os.cpu_count() or 2))


class OrderedPool:
    """Run jobs on `workers` threads with at most `backlog` waiting; raise failures in order.

    Use as a context manager: leaving it (normally or by an exception) waits for every
    started job and cancels the ones not started.
    """

    def __init__(self, workers: int, backlog: int) -> None:
        """Start the threads lazily, as ThreadPoolExecutor does."""
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="octopack-extract")
        self._pending: deque[Future[Any]] = deque()
        self._backlog = max(1, backlog)
        self._submitted = 0
        self._failed_at: int | None = None  # number of the earliest job that failed
        self._lock = threading.Lock()

    def __enter__(self) -> OrderedPool:
        """Return the pool."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Wait for started jobs; on an error, skip the ones not started yet."""
        if kind is not None:
            with self._lock:
                self._failed_at = -1
        self._executor.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Queue one job, first waiting (in order) while the backlog is full."""
        while len(self._pending) >= self._backlog:
            self._pending.popleft().result()
        number = self._submitted
        self._submitted += 1
        self._pending.append(self._executor.submit(self._run, number, job, args))

    def wait(self) -> None:
        """Wait for every job; raise the error of the earliest failed one."""
        while self._pending:
            self._pending.popleft().result()

    def _run(self, number: int, job: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """Run a job unless an earlier one failed already (its work would be thrown away)."""
        failed = self._failed_at
        if failed is not None and number > failed:
            return None
        try:
            return job(*args)
        except BaseException:
            with self._lock:
                if self._failed_at is None or number < self._failed_at:
                    self._failed_at = number
            raise
