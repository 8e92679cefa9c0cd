"""The parallel zip writer: chunked streaming, zip64, stored fallback, order under any schedule."""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import subprocess
import tracemalloc
import zipfile
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest

from packer.archive.zip.writer import ZipEntry, dos_datetime, write_zip
from packer.model.errors import BadInput, OperationFailed
from tests.packer.conftest import need_tool, write


def mixed_data(size: int, seed: int) -> bytes:
    """Alternate incompressible and compressible 1 MiB stretches."""
    rng = random.Random(seed)
    parts, total, index = [], 0, 0
    while total < size:
        n = min(1 << 20, size - total)
        if index % 2:
            parts.append(rng.randbytes(n))
        else:
            parts.append((b"log line %d: all is well\n" % index) * (n // 24) + b"x" * (n % 24))
            parts[-1] = parts[-1][:n]
        total += len(parts[-1])
        index += 1
    return b"".join(parts)


def file_entry(path: Path, name: str | None = None, mode: int = 0o644) -> ZipEntry:
    return ZipEntry(name or path.name, mode, 315532800, str(path), None, path.stat().st_size)


def build(entries: list[ZipEntry], level: str = "fast", **options) -> bytes:
    buffer = io.BytesIO()
    write_zip(buffer, entries, level, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("level", ["fast", "optimal", "none"])
def test_large_file_is_streamed_in_chunks_with_flat_memory(tmp_path: Path, level: str) -> None:
    data = mixed_data(40 << 20, seed=1)
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    target = tmp_path / "out.zip"
    tracemalloc.start()
    try:
        with open(target, "wb") as handle:
            write_zip(handle, [file_entry(big)], level, chunk_size=1 << 20, budget=6 << 20,
                      whole_limit=4 << 20)  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak} bytes: read-ahead is not bounded"
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo("big.bin")
        assert info.compress_type == (0 if level == "none" else 8)
        assert hashlib.sha256(archive.read("big.bin")).digest() == hashlib.sha256(data).digest()
    if level != "none":
        assert info.compress_size < len(data) * 0.8
    unzip = need_tool("unzip")
    subprocess.run([unzip, "-tq", str(target)], check=True, capture_output=True)


def test_zip64_records_via_a_small_threshold(tmp_path: Path) -> None:
    files = [write(tmp_path / f"f{i}.txt", "hello zip64 " * (200 * i + 1)) for i in range(5)]
    big = tmp_path / "streamed.bin"
    big.write_bytes(mixed_data(3 << 20, seed=2))
    entries = [ZipEntry("dir/"), *(file_entry(f) for f in files), file_entry(big)]
    data = build(entries, chunk_size=1 << 20, zip64_threshold=1000, zip64_count_threshold=3)
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # zip64 end record and locator
    eocd = data[data.rindex(b"PK\x05\x06") :]
    assert struct.unpack("<HH", eocd[8:12]) == (0xFFFF, 0xFFFF)
    target = tmp_path / "z64.zip"
    target.write_bytes(data)
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert len(archive.infolist()) == 7
        for f in [*files, big]:
            assert archive.read(f.name) == f.read_bytes()
        assert any(i.extra.startswith(b"\x01\x00") for i in archive.infolist())
    unzip = need_tool("unzip")
    subprocess.run([unzip, "-tq", str(target)], check=True, capture_output=True)


class ReversingExecutor(Executor):
    """Runs tasks only when a result is wanted, newest first: the worst completion order."""

    def __init__(self) -> None:
        self.queue: list[tuple[Future, object, tuple]] = []
        self.completed: list[int] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future = _LazyFuture(self, len(self.queue))
        self.queue.append((future, fn, args))
        return future

    def run_pending(self) -> None:
        for future, fn, args in reversed(self.queue):
            if not future.done():
                future.set_result(fn(*args))  # type: ignore[operator]
                self.completed.append(future.index)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.run_pending()


class _LazyFuture(Future):
    def __init__(self, executor: ReversingExecutor, index: int) -> None:
        super().__init__()
        self.executor, self.index = executor, index

    def result(self, timeout: float | None = None):
        if not self.done():
            self.executor.run_pending()
        return super().result(timeout)


def test_output_is_identical_whatever_order_tasks_finish_in(tmp_path: Path) -> None:
    rng = random.Random(3)
    entries = [ZipEntry("empty/")]
    for i in range(60):
        path = tmp_path / f"file{i:02d}"
        path.write_bytes(rng.randbytes(rng.randrange(0, 3000)) + b"abc" * rng.randrange(0, 9000))
        entries.append(file_entry(path, f"tree/{i:02d}.bin", 0o755 if i % 7 == 0 else 0o644))
    big = tmp_path / "big"
    big.write_bytes(mixed_data(5 << 20, seed=4))
    entries.append(file_entry(big, "z/big.bin"))
    options = {"chunk_size": 1 << 20, "batch_bytes": 16 << 10, "batch_files": 5}
    reference = build(entries, workers=1, **options)
    reversing = ReversingExecutor()
    assert build(entries, executor=reversing, **options) == reference
    assert reversing.completed != sorted(reversing.completed)  # really out of order
    assert build(entries, workers=8, **options) == reference
    assert build(entries, workers=3, budget=1 << 20, **options) == reference
    with zipfile.ZipFile(io.BytesIO(reference)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [e.name for e in entries]


def test_entries_that_do_not_shrink_are_stored(tmp_path: Path) -> None:
    rng = random.Random(5)
    noise = write(tmp_path / "noise.bin", "")
    noise.write_bytes(rng.randbytes(50_000))
    # compressible only in its first chunk by a few bytes: deflated chunks grow, so stored
    tricky = tmp_path / "tricky.bin"
    tricky.write_bytes(b"\0" * 64 + rng.randbytes((1 << 20) - 64) + rng.randbytes(3 << 20))
    entries = [file_entry(noise), ZipEntry("small.txt", data=b"ab"), file_entry(tricky)]
    data = build(entries, chunk_size=1 << 20)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED, info.filename
        assert archive.read("tricky.bin") == tricky.read_bytes()
        assert archive.read("noise.bin") == noise.read_bytes()
        assert archive.testzip() is None


def test_unix_modes_names_and_times(tmp_path: Path) -> None:
    script = write(tmp_path / "Deploy.sh", "#!/bin/sh\n", 0o700)
    entries = [
        ZipEntry("a/", mtime=1_700_000_000),
        ZipEntry("a/ünï.txt", 0o600, 1_700_000_000, data=b"text"),
        file_entry(script, "Deploy.sh", 0o700),
        ZipEntry("empty.txt", data=b""),
    ]
    with zipfile.ZipFile(io.BytesIO(build(entries))) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    assert infos["a/"].external_attr == (0o040755 << 16) | 0x10
    assert infos["a/ünï.txt"].external_attr >> 16 == 0o100644
    assert infos["a/ünï.txt"].flag_bits & 0x800
    assert infos["Deploy.sh"].external_attr >> 16 == 0o100755
    assert {i.create_system for i in infos.values()} == {3}
    assert infos["a/"].date_time == (2023, 11, 14, 22, 13, 20)
    assert infos["empty.txt"].file_size == 0
    assert dos_datetime(0) == dos_datetime(315532800) == (0, (1 << 5) | 1)


def test_a_file_that_changed_size_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "grown.txt", "0123456789" * 10)
    stale = ZipEntry("grown.txt", 0o644, 315532800, str(path), None, 50)
    with pytest.raises(OperationFailed, match="grown.txt changed while it was being packed"):
        build([stale])
    big = tmp_path / "big"
    big.write_bytes(b"a" * (3 << 20))
    shrunk = ZipEntry("big", 0o644, 315532800, str(big), None, 4 << 20)
    with pytest.raises(OperationFailed, match="changed while"):
        build([shrunk], chunk_size=1 << 20)


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    gone = ZipEntry("gone.txt", 0o644, 315532800, str(tmp_path / "gone.txt"), None, 5)
    with pytest.raises(BadInput, match="cannot read .*gone.txt"):
        build([gone])


def test_unknown_level_is_refused() -> None:
    with pytest.raises(BadInput, match="unknown compression level 'max'"):
        build([ZipEntry("a.txt", data=b"a")], level="max")


def test_many_small_files_round_trip_through_unzip(tmp_path: Path) -> None:
    entries = []
    for i in range(300):
        entries.append(ZipEntry(f"d{i % 7}/f{i:03d}.txt", data=os.urandom(i % 5) + b"z" * i))
    entries.sort(key=lambda e: e.name)
    target = tmp_path / "many.zip"
    target.write_bytes(build(entries, level="optimal", batch_files=16))
    unzip = need_tool("unzip")
    subprocess.run([unzip, "-tq", str(target)], check=True, capture_output=True)
    with zipfile.ZipFile(target) as archive:
        assert [archive.read(e.name) for e in entries] == [e.data for e in entries]


def test_digest_computed_while_writing_matches_the_file(tmp_path: Path) -> None:
    rng = random.Random(6)
    small = write(tmp_path / "small.txt", "small " * 500)
    deflated = tmp_path / "deflated.bin"
    deflated.write_bytes(mixed_data(5 << 20, seed=7))
    stored = tmp_path / "stored.bin"  # deflate grows it: truncated and rewritten as stored
    stored.write_bytes(rng.randbytes(3 << 20))
    entries = [file_entry(small), file_entry(deflated), file_entry(stored), ZipEntry("z/")]
    target = tmp_path / "out.zip"
    with open(target, "w+b") as handle:
        handle.write(b"prefix")  # content before the archive is part of the file's digest
        stats = write_zip(handle, entries, chunk_size=1 << 20, digest=True)
    assert stats.sha256 == hashlib.sha256(target.read_bytes()).hexdigest()
    assert stats.size == target.stat().st_size
    with zipfile.ZipFile(target) as archive:
        assert archive.getinfo("stored.bin").compress_type == zipfile.ZIP_STORED
        assert archive.read("deflated.bin") == deflated.read_bytes()


def test_memory_does_not_grow_with_the_number_of_entries(tmp_path: Path) -> None:
    count = 40_000  # kept central records alone would take about 4 MB

    def entries():
        for i in range(count):
            yield ZipEntry(f"d{i // 500:03d}/f{i:05d}.txt", data=b"x")

    target = tmp_path / "many.zip"
    tracemalloc.start()
    try:
        with open(target, "w+b") as handle:
            stats = write_zip(handle, entries(), workers=1, budget=1 << 20,
                              central_in_memory=64 << 10)  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.entries == count
    assert peak < 2 << 20, f"peak {peak} bytes for {count} entries: something is kept per entry"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert len(names) == count and names[-1] == f"d079/f{count - 1:05d}.txt"
        assert archive.read(names[12345]) == b"x"
