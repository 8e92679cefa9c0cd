"""Reference figures for the transfer benchmark, taken in the same run as push and download.

read+SHA-256 (one Python process, OpenSSL) is the least a feed must do with a pushed
package; `cp` is the page-cache copy a download is held against; disk write+fdatasync is
what any durable copy can reach; validation is the push's archive check alone. Curl and
the other download ceilings are in `bench/download.py`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

READ_BLOCK = 4 << 20


def settle() -> None:
    """Write back dirty pages first, so no figure pays for an earlier step's writes."""
    os.sync()


def read_sha256_seconds(path: Path) -> float:
    """Seconds to read `path` and SHA-256 it in this process."""
    settle()
    began = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb", buffering=0) as stream:
        while block := stream.read(READ_BLOCK):
            digest.update(block)
    digest.hexdigest()
    return time.perf_counter() - began


def cp_seconds(path: Path, dest: Path) -> float:
    """Seconds `cp` takes to copy `path` (the copy is removed)."""
    settle()
    began = time.perf_counter()
    subprocess.run(["cp", str(path), str(dest)], check=True)
    elapsed = time.perf_counter() - began
    dest.unlink()
    return elapsed


def validation_seconds(path: Path) -> float:
    """Seconds the feed's full-strength archive validation takes on `path` alone."""
    from packer.archive.validator import Limits, inspect_archive

    began = time.perf_counter()
    inspect_archive(path, "zip", Limits())
    return time.perf_counter() - began


def durable_write_seconds(size: int, dest: Path) -> float:
    """Seconds to write `size` bytes to `dest` and fdatasync them (dd conv=fdatasync; removed).

    The feed makes a pushed blob durable before it answers and the client makes a download
    durable before it renames it, so the disk's write speed bounds both; cp does not sync.
    """
    block = bytes(READ_BLOCK)
    settle()
    began = time.perf_counter()
    with dest.open("wb", buffering=0) as out:
        for _ in range(size // READ_BLOCK):
            out.write(block)
        out.write(block[: size % READ_BLOCK])
        os.fdatasync(out.fileno())
    elapsed = time.perf_counter() - began
    dest.unlink()
    return elapsed
