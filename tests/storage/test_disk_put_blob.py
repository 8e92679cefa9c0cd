"""DiskStorage.put_blob from real files (copied in the kernel) and from other streams."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from storage.disk import COPY_CHUNK, DiskStorage

DATA = random.Random(11).randbytes(3 * COPY_CHUNK + 321)


@pytest.fixture
def store(tmp_path: Path) -> DiskStorage:
    return DiskStorage(tmp_path / "store")


def stored(store: DiskStorage, key: str) -> bytes:
    with store.open_blob(key) as stream:
        return stream.read()


def test_put_blob_from_an_open_file_copies_it_whole(store: DiskStorage, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    with source.open("rb") as stream:
        info = store.put_blob("a/blob.bin", stream)
        assert stream.tell() == len(DATA)  # the stream is consumed, as a read loop leaves it
    assert info.size == len(DATA)
    assert stored(store, "a/blob.bin") == DATA
    assert source.read_bytes() == DATA
    assert os.stat(source).st_ino != os.stat(Path(store.root, "a", "blob.bin")).st_ino


@pytest.mark.parametrize("buffering", [0, -1])
def test_put_blob_starts_at_the_stream_position(
    store: DiskStorage, tmp_path: Path, buffering: int
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    with source.open("rb", buffering=buffering) as stream:
        stream.read(1000)  # a buffered reader has read ahead further than this
        store.put_blob("a/rest.bin", stream)
    assert stored(store, "a/rest.bin") == DATA[1000:]


def test_put_blob_from_a_ranged_blob_copies_only_the_range(store: DiskStorage) -> None:
    store.put_blob("a/whole.bin", io.BytesIO(DATA))
    start, end = 5, COPY_CHUNK + 9
    with store.open_blob("a/whole.bin", start, end) as ranged:
        store.put_blob("a/part.bin", ranged)
    assert stored(store, "a/part.bin") == DATA[start : end + 1]


def test_put_blob_from_a_pipe_and_from_memory(store: DiskStorage) -> None:
    read_fd, write_fd = os.pipe()
    with open(write_fd, "wb") as writer:
        writer.write(DATA[:4096])
    with open(read_fd, "rb") as pipe:
        store.put_blob("a/pipe.bin", pipe)
    assert stored(store, "a/pipe.bin") == DATA[:4096]
    store.put_blob("a/memory.bin", io.BytesIO(DATA))
    assert stored(store, "a/memory.bin") == DATA


def test_put_blob_of_an_empty_file(store: DiskStorage, tmp_path: Path) -> None:
    source = tmp_path / "empty.bin"
    source.write_bytes(b"")
    with source.open("rb") as stream:
        assert store.put_blob("a/empty.bin", stream).size == 0
    assert stored(store, "a/empty.bin") == b""


def test_failed_copy_leaves_no_blob_and_no_temp_file(store: DiskStorage, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    stream = source.open("rb")
    stream.close()  # a closed file: the copy must fail, not store a partial object
    with pytest.raises(ValueError, match="closed file"):
        store.put_blob("a/broken.bin", stream)
    assert list(store.list("a/")) == []
    leftovers = [n for _, _, names in os.walk(store.root) for n in names if "tmp" in n]
    assert leftovers == []
