"""Worker processes write the same zip as threads: shards joined in order, offsets moved."""

from __future__ import annotations

import hashlib
import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from packer.archive.zip import shards
from packer.archive.zip.shards import write_zip_sharded
from packer.archive.zip.writer import ZipEntry, write_zip
from packer.model.errors import OperationFailed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="worker processes need fork")


def make_entries(base: Path) -> list[ZipEntry]:
    """Small text files, a folder, bytes in memory, a file cut in chunks, an incompressible
    file that is stored, and an empty one: every path through the writer."""
    rng = random.Random(5)
    entries = [ZipEntry("a-folder/", 0o755)]
    for index in range(60):
        path = base / f"f{index:02d}.txt"
        path.write_text(" ".join(f"w{rng.randrange(300)}" for _ in range(index * 400)))
        entries.append(ZipEntry(f"f/{index:02d}.txt", 0o644, 315532800, str(path), None,
                                path.stat().st_size))  # fmt: skip
    entries.append(ZipEntry("inline.txt", 0o644, 315532800, None, b"hello " * 999, 5994))
    for name, data in [("big.log", b"line of a log, number %d\n" * 1), ("noise.bin", None)]:
        path = base / name
        path.write_bytes(rng.randbytes(3 << 20) if data is None else
                         b"".join(b"line %d of a log\n" % i for i in range(200_000)))  # fmt: skip
        entries.append(ZipEntry(name, 0o755, 315532800, str(path), None, path.stat().st_size))
    (base / "empty").write_bytes(b"")
    entries.append(ZipEntry("zz/empty", 0o644, 315532800, str(base / "empty"), None, 0))
    return entries


OPTIONS = {"chunk_size": 1 << 20, "whole_limit": 2 << 20, "zip64_threshold": 1 << 20}


@pytest.mark.parametrize("level", ["fast", "optimal", "none"])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_processes_write_the_threads_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, level: str, workers: int
) -> None:
    """Small shards (many joins) and a low zip64 threshold (offsets moved into zip64 extras)."""
    monkeypatch.setattr(shards, "SHARD_BYTES", 256 << 10)
    entries = make_entries(tmp_path)
    threads = io.BytesIO()
    write_zip(threads, entries, level, workers=2, **OPTIONS)
    with open(tmp_path / "out.zip", "w+b") as handle:
        stats = write_zip_sharded(handle, entries, level, workers=workers, folder=str(tmp_path),
                                  digest=True, **OPTIONS)  # fmt: skip
    data = (tmp_path / "out.zip").read_bytes()
    assert data == threads.getvalue()
    assert stats.size == len(data) and stats.entries == len(entries)
    assert stats.sha256 == hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith((".txt", ".log",
                  ".bin", "empty"))) == ["out.zip"]  # fmt: skip


def test_a_file_that_shrank_fails_in_the_worker_and_the_parent_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        forked.append(pid)
        return pid

    monkeypatch.setattr(shards.os, "fork", fork)
    path = tmp_path / "shrinks.txt"
    path.write_text("x" * 1000)
    entries = [ZipEntry("shrinks.txt", 0o644, 315532800, str(path), None, 5000)]
    with open(tmp_path / "out.zip", "w+b") as handle:
        with pytest.raises(OperationFailed, match="changed while it was being packed"):
            write_zip_sharded(handle, entries, "fast", workers=2, folder=str(tmp_path))
    assert forked and 0 not in forked
    for pid in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # every worker was reaped


def test_a_shard_counts_the_buffers_of_its_biggest_member() -> None:
    """The parent's memory budget needs each shard's peak: whole files twice their size (read
    and deflated), files past the whole limit a chunk's worth, whatever their size."""
    small = [ZipEntry(f"s{i}", size=1000) for i in range(3)]
    whole, huge = ZipEntry("whole", size=3 << 20), ZipEntry("huge", size=1 << 30)
    limits = {"whole_limit": 4 << 20, "chunk": 1 << 20}
    [(entries, peak)] = shards._shards([*small, whole], **limits)
    assert len(entries) == 4 and peak == 2 * (3 << 20) + shards.SHARD_OVERHEAD
    [(entries, peak)] = shards._shards([*small, huge], **limits)
    assert len(entries) == 4 and peak == 2 * (1 << 20) + (64 << 10) + shards.SHARD_OVERHEAD
    assert len(list(shards._shards([huge, *small], **limits))) == 2  # the big one ends its run
