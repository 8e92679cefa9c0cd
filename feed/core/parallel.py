"""Read many small documents at once: the one helper for "read these keys in parallel".

Reading a record is one storage round trip (an S3 GetObject, a file open): latency, not
CPU, bounds a loop that reads thousands of them one at a time. A small fixed pool of
threads overlaps those waits. READ_THREADS is the one setting; it stays below the S3
client's connection pool (`storage.s3_calls.make_client`: max_pool_connections 32), so no
thread waits for a connection. Results come back in the order of the keys, so callers
stay deterministic; the first failing read (in key order) raises its own error, reads
not yet started are cancelled, running ones finish first, and nothing half read is
returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

READ_THREADS = 16  # threads per batch of reads; 1 reads one at a time (benchmarks' baseline)
BATCH = 256  # keys read per batch by callers that stream a long listing

K = TypeVar("K")
R = TypeVar("R")


def read_all(read: Callable[[K], R], keys: Sequence[K]) -> list[R]:
    """Return `[read(key) for key in keys]`, READ_THREADS reads at a time, in key order."""
    threads = min(READ_THREADS, len(keys))
    if threads <= 1:
        return [read(key) for key in keys]
    with ThreadPoolExecutor(threads, thread_name_prefix="octopack-read") as pool:
        return list(pool.map(read, keys))
