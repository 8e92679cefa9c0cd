"""Disk-only behaviour: crashes mid-write, several processes on one directory, layout."""

from __future__ import annotations

import io
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from storage import ObjectExists, ObjectNotFound, PreconditionFailed, StorageError, open_storage
from storage.disk import DiskStorage

KEYS = 40
INCREMENTS = 30


class _DieHalfWay(io.RawIOBase):
    """Hand out `size` bytes, but kill the whole process after `die_at` of them."""

    def __init__(self, size: int, die_at: int) -> None:
        self._size, self._die_at, self._pos = size, die_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self._pos >= self._die_at:
            os._exit(3)  # no cleanup, no finally: like kill -9 or a power cut
        n = min(len(buffer), 4096, self._size - self._pos)
        buffer[:n] = b"x" * n
        self._pos += n
        return n


def _crash_while_putting(root: str) -> None:
    DiskStorage(root).put_blob("packages/foo/1.0.0/blob.zip", _DieHalfWay(100_000, 50_000))


def _create_all(root: str, name: str, barrier, results) -> None:  # noqa: ANN001
    storage = DiskStorage(root)
    barrier.wait()
    won = []
    for n in range(KEYS):
        try:
            storage.create_record(f"records/{n}/package.json", name.encode())
            won.append(n)
        except ObjectExists:
            pass
    results.put((name, won))


def _increment(root: str, barrier, results) -> None:  # noqa: ANN001
    storage = DiskStorage(root)
    barrier.wait()
    conflicts = 0
    for _ in range(INCREMENTS):
        while True:
            data, etag = storage.read_record("counter")
            try:
                storage.replace_record("counter", str(int(data) + 1).encode(), etag)
                break
            except PreconditionFailed:
                conflicts += 1
    results.put(conflicts)


def _run(target, per_process: list[tuple]) -> list:  # noqa: ANN001
    """Run `target(*args, barrier, results)` in one spawned process per args tuple."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(per_process)), ctx.Queue()
    processes = [ctx.Process(target=target, args=(*args, barrier, results)) for args in per_process]
    for p in processes:
        p.start()
    try:
        outputs = [results.get(timeout=60) for _ in processes]
        for p in processes:
            p.join(timeout=60)
            assert p.exitcode == 0
        return outputs
    finally:
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join()


def test_crash_mid_put_leaves_nothing_visible(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=_crash_while_putting, args=(root,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 3
    storage = DiskStorage(root)
    with pytest.raises(ObjectNotFound):
        storage.stat("packages/foo/1.0.0/blob.zip")
    assert list(storage.list("")) == []
    leftovers = [name for _, _, names in os.walk(root) for name in names if "tmp" in name]
    assert len(leftovers) == 1 and leftovers[0].startswith(".octopack-tmp-")
    assert storage.sweep_temp_files(older_than_seconds=3600) == 0  # might be a live writer
    assert storage.sweep_temp_files(older_than_seconds=3600, now=time.time() + 7200) == 1
    assert [name for _, _, names in os.walk(root) for name in names if "tmp" in name] == []


def test_two_processes_race_to_create_each_record_once(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    outputs = dict(_run(_create_all, [(root, "a"), (root, "b")]))
    a, b = set(outputs["a"]), set(outputs["b"])
    assert a.isdisjoint(b)
    assert a | b == set(range(KEYS))
    storage = DiskStorage(root)
    for n in range(KEYS):
        expected = b"a" if n in a else b"b"
        assert storage.read_record(f"records/{n}/package.json")[0] == expected


def test_two_processes_compare_and_swap_without_losing_updates(tmp_path: Path) -> None:
    """flock makes read-compare-replace atomic across processes: no increment is lost."""
    root = str(tmp_path / "store")
    DiskStorage(root).create_record("counter", b"0")
    conflicts = _run(_increment, [(root,), (root,)])
    print(f"compare-and-swap retries: {conflicts}")
    assert DiskStorage(root).read_record("counter")[0] == str(2 * INCREMENTS).encode()


def test_replace_with_identical_bytes_still_changes_the_etag(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path)
    first = storage.create_record("r.json", b"same")
    second = storage.replace_record("r.json", b"same", first)
    third = storage.replace_record("r.json", b"same", second)
    assert len({first, second, third}) == 3
    with pytest.raises(PreconditionFailed):
        storage.replace_record("r.json", b"same", first)


def test_deletes_remove_empty_directories_and_locks_stay_apart(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path)
    etag = storage.create_record("packages/foo/1.0.0/package.json", b"{}")
    etag = storage.replace_record("packages/foo/1.0.0/package.json", b"{1}", etag)
    storage.put_blob("packages/foo/1.0.0/abc.zip", io.BytesIO(b"zip"))
    storage.put_blob("packages/bar/1.0.0/abc.zip", io.BytesIO(b"zip"))
    assert sorted(os.listdir(tmp_path / "packages/foo/1.0.0")) == ["abc.zip", "package.json"]
    storage.delete_record("packages/foo/1.0.0/package.json", etag)
    storage.delete("packages/foo/1.0.0/abc.zip")
    assert sorted(os.listdir(tmp_path)) == [".octopack", "packages"]
    assert os.listdir(tmp_path / "packages") == ["bar"]
    assert storage.create_record("packages/foo/2.0.0/package.json", b"{}")


def test_a_key_below_an_object_is_a_clear_error(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path)
    storage.put_blob("a/b", io.BytesIO(b"file"))
    with pytest.raises(StorageError, match="'a/b'.*is an object"):
        storage.put_blob("a/b/c", io.BytesIO(b"below a file"))
    with pytest.raises(StorageError, match="is an object"):
        storage.create_record("a/b/c", b"below a file")
    with pytest.raises(ObjectNotFound):
        storage.stat("a/b/c")
    with pytest.raises(ObjectNotFound):
        storage.stat("a")  # a directory is not an object
    assert storage.open_blob("a/b").read() == b"file"
    assert [o.key for o in storage.list("")] == ["a/b"]


def test_open_storage_makes_a_disk_store(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "new" / "store"))
    assert isinstance(storage, DiskStorage)
    storage.create_record("k", b"v")
    assert (tmp_path / "new" / "store" / "k").read_bytes() == b"v"
    again = open_storage(f"file://{tmp_path}/new/store", endpoint_url="http://127.0.0.1:9")
    assert again.read_record("k")[0] == b"v"


def test_a_file_in_place_of_the_root_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "occupied").write_bytes(b"not a directory")
    with pytest.raises(StorageError, match="occupied"):
        open_storage(str(tmp_path / "occupied"))


def test_keys_never_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    storage = DiskStorage(root)
    for key in ("../escape", "a/../../escape", "/tmp/escape"):
        with pytest.raises(ValueError, match="escape"):
            storage.create_record(key, b"x")
    assert sorted(os.listdir(tmp_path)) == ["store"]
    assert os.listdir(root) == [".octopack"]
