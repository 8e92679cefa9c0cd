"""The storage contract: every test runs against disk and against S3 (moto over HTTP)."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest

from storage import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    Storage,
    StorageError,
)

MIB = 1024 * 1024


class TrickleStream(io.RawIOBase):
    """A non-seekable stream that hands out at most `step` bytes per read."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = data
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class PatternStream(io.RawIOBase):
    """`size` bytes of a repeating pattern, generated on the fly (never held whole)."""

    def __init__(self, size: int, fail_at: int | None = None) -> None:
        self._size = size
        self._pos = 0
        self._fail_at = fail_at

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self._fail_at is not None and self._pos >= self._fail_at:
            raise OSError("client went away half way through the upload")
        n = min(len(buffer), self._size - self._pos, 256 * 1024)
        buffer[:n] = pattern_bytes(self._pos, n)
        self._pos += n
        return n


_PERIOD = bytes(i * 7 % 251 for i in range(251))


def pattern_bytes(offset: int, n: int) -> bytes:
    """Bytes `offset`..`offset+n` of an endless pattern with period 251 (not a power of 2)."""
    start = offset % 251
    return (_PERIOD * (n // 251 + 2))[start : start + n]


def read_all(storage: Storage, key: str, start: int = 0, end: int | None = None) -> bytes:
    with storage.open_blob(key, start, end) as f:
        return f.read()


# -- blobs -----------------------------------------------------------------------------


def test_put_blob_streams_and_reads_back(storage: Storage) -> None:
    data = b"0123456789" * 1000
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = storage.put_blob("packages/foo/1.0.0/abc.zip", TrickleStream(data, step=333))
    assert info.key == "packages/foo/1.0.0/abc.zip"
    assert info.size == len(data)
    assert info.etag and '"' not in info.etag
    assert info.modified >= before
    assert read_all(storage, "packages/foo/1.0.0/abc.zip") == data
    stat = storage.stat("packages/foo/1.0.0/abc.zip")
    assert (stat.key, stat.size, stat.etag) == (info.key, info.size, info.etag)
    assert stat.modified.tzinfo is not None


def test_empty_blob(storage: Storage) -> None:
    info = storage.put_blob("empty.bin", io.BytesIO(b""))
    assert info.size == 0
    assert read_all(storage, "empty.bin") == b""
    assert storage.stat("empty.bin").size == 0


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, b"0"),
        (2, 5, b"2345"),
        (7, None, b"789"),
        (8, 100, b"89"),  # an end past the object is clamped, as in HTTP
        (0, None, b"0123456789"),
        (9, 9, b"9"),
    ],
)
def test_open_blob_ranges(storage: Storage, start: int, end: int | None, expected: bytes) -> None:
    storage.put_blob("r.bin", io.BytesIO(b"0123456789"))
    assert read_all(storage, "r.bin", start, end) == expected


def test_open_blob_range_past_the_end_is_refused(storage: Storage) -> None:
    storage.put_blob("r.bin", io.BytesIO(b"0123456789"))
    with pytest.raises(RangeNotSatisfiable, match="r.bin"):
        storage.open_blob("r.bin", 10, None)
    with pytest.raises(ValueError, match="start=5 end=4"):
        storage.open_blob("r.bin", 5, 4)
    with pytest.raises(ValueError, match="start=-1"):
        storage.open_blob("r.bin", -1, None)


def test_large_blob_round_trips(storage: Storage, backend: str) -> None:
    """~11 MiB: on S3 with 5 MiB parts that is a three-part multipart upload."""
    size = 11 * MIB + 12345
    info = storage.put_blob("big/blob.bin", PatternStream(size))
    assert info.size == size
    expected = hashlib.sha256(pattern_bytes(0, size)).hexdigest()
    digest = hashlib.sha256()
    with storage.open_blob("big/blob.bin") as f:
        while block := f.read(MIB):
            digest.update(block)
    assert digest.hexdigest() == expected
    assert storage.stat("big/blob.bin").size == size
    assert read_all(storage, "big/blob.bin", 6 * MIB, 6 * MIB + 9) == pattern_bytes(6 * MIB, 10)
    if backend == "s3":
        assert storage.calls["upload_part"] == 3
        assert storage.calls["complete_multipart_upload"] == 1
        assert storage.calls["put_object"] == 0


@pytest.mark.parametrize("size", [100, 7 * MIB])
def test_failed_put_leaves_nothing(storage: Storage, backend: str, size: int) -> None:
    """A stream that breaks half way (single put or multipart): no object, nothing listed."""
    storage.put_blob("keep/other.bin", io.BytesIO(b"other"))
    with pytest.raises(OSError, match="half way"):
        storage.put_blob("keep/new.bin", PatternStream(size, fail_at=size // 2))
    with pytest.raises(ObjectNotFound):
        storage.stat("keep/new.bin")
    assert [o.key for o in storage.list("")] == ["keep/other.bin"]
    assert read_all(storage, "keep/other.bin") == b"other"


def test_put_blob_over_existing_key_replaces_it(storage: Storage) -> None:
    storage.put_blob("b.bin", io.BytesIO(b"first"))
    storage.put_blob("b.bin", io.BytesIO(b"second!"))
    assert read_all(storage, "b.bin") == b"second!"


# -- records ---------------------------------------------------------------------------


def test_create_read_record(storage: Storage) -> None:
    etag = storage.create_record("packages/foo/1.0.0/package.json", b'{"v": 1}')
    data, read_etag = storage.read_record("packages/foo/1.0.0/package.json")
    assert (data, read_etag) == (b'{"v": 1}', etag)
    assert storage.stat("packages/foo/1.0.0/package.json").etag == etag


def test_create_record_refuses_existing_and_keeps_it(storage: Storage) -> None:
    storage.create_record("r.json", b"original")
    with pytest.raises(ObjectExists, match="r.json"):
        storage.create_record("r.json", b"intruder")
    assert storage.read_record("r.json")[0] == b"original"


def test_create_record_race_has_exactly_one_winner(storage: Storage) -> None:
    """20 threads create the same record at once: exactly one wins, its bytes are stored.

    On S3 this runs against moto, which checks If-None-Match without a lock, so the fixture
    serialises conditional writes in a proxy: the test shows our logic (412 ->
    ObjectExists, no overwrite), not S3's atomicity. On disk the atomicity is real
    (os.link fails when the name exists).
    """
    barrier = threading.Barrier(20)
    winners: list[int] = []
    losers: list[int] = []
    errors: list[BaseException] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            storage.create_record("race/package.json", f"writer {n}".encode())
            winners.append(n)
        except ObjectExists:
            losers.append(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(winners) == 1, winners
    assert len(losers) == 19
    assert storage.read_record("race/package.json")[0] == f"writer {winners[0]}".encode()


def test_replace_record_compare_and_swap(storage: Storage) -> None:
    first = storage.create_record("r.json", b"one")
    second = storage.replace_record("r.json", b"two", first)
    assert second != first
    assert storage.read_record("r.json") == (b"two", second)
    with pytest.raises(PreconditionFailed, match="r.json"):
        storage.replace_record("r.json", b"stale writer", first)
    assert storage.read_record("r.json") == (b"two", second)
    third = storage.replace_record("r.json", b"three", second)
    assert len({first, second, third}) == 3


def test_replace_missing_record(storage: Storage) -> None:
    etag = storage.create_record("gone.json", b"x")
    storage.delete_record("gone.json", etag)
    with pytest.raises(ObjectNotFound, match="gone.json"):
        storage.replace_record("gone.json", b"y", etag)
    with pytest.raises(ObjectNotFound):
        storage.read_record("gone.json")


def test_delete_record_compare_and_delete(storage: Storage) -> None:
    first = storage.create_record("d.json", b"one")
    second = storage.replace_record("d.json", b"two", first)
    with pytest.raises(PreconditionFailed, match="d.json"):
        storage.delete_record("d.json", first)
    assert storage.read_record("d.json") == (b"two", second)
    storage.delete_record("d.json", second)
    with pytest.raises(ObjectNotFound):
        storage.read_record("d.json")
    with pytest.raises(ObjectNotFound, match="d.json"):
        storage.delete_record("d.json", second)


def test_replace_race_has_exactly_one_winner(storage: Storage) -> None:
    """Ten writers holding the same etag: one replace succeeds, nine see PreconditionFailed.

    On S3 (moto behind the serialising proxy) this shows our logic, not S3's atomicity.
    """
    etag = storage.create_record("cas.json", b"start")
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            storage.replace_record("cas.json", f"writer {n}".encode(), etag)
            outcomes.append(f"won {n}")
        except PreconditionFailed:
            outcomes.append("lost")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [o for o in outcomes if o.startswith("won")]
    assert len(outcomes) == 10
    assert len(won) == 1, outcomes
    assert storage.read_record("cas.json")[0] == f"writer {won[0].split()[1]}".encode()


def test_recreated_record_gets_a_new_etag(storage: Storage) -> None:
    first = storage.create_record("again.json", b"same bytes")
    storage.delete_record("again.json", first)
    second = storage.create_record("again.json", b"other bytes")
    with pytest.raises(PreconditionFailed):
        storage.replace_record("again.json", b"stale", first)
    assert second != first


# -- listing ---------------------------------------------------------------------------


def _fill(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        storage.put_blob(key, io.BytesIO(key.encode()))


def test_list_by_prefix_is_a_string_prefix_sorted_and_recursive(storage: Storage) -> None:
    keys = [
        "packages/foo/1.0.0/package.json",
        "packages/foo/1.0.0/aaa.zip",
        "packages/foo/2.0.0/package.json",
        "packages/foo.bar/1.0.0/package.json",
        "packages/foo-x/1.0.0/package.json",
        "packages/foobar/1.0.0/package.json",
        "packages/fo/1.0.0/package.json",
        "keys/admin.json",
        "a",
    ]
    _fill(storage, keys)
    listed = [o.key for o in storage.list("packages/foo/")]
    assert listed == [
        "packages/foo/1.0.0/aaa.zip",
        "packages/foo/1.0.0/package.json",
        "packages/foo/2.0.0/package.json",
    ]
    assert [o.key for o in storage.list("packages/foo")] == sorted(
        k for k in keys if k.startswith("packages/foo")
    )
    assert [o.key for o in storage.list("")] == sorted(keys)
    assert [o.key for o in storage.list("packages/zzz/")] == []
    assert [o.key for o in storage.list("nothing")] == []
    sizes = {o.key: o.size for o in storage.list("keys/")}
    assert sizes == {"keys/admin.json": len(b"keys/admin.json")}


def test_list_never_shows_temp_or_lock_files(storage: Storage) -> None:
    etag = storage.create_record("rec/package.json", b"1")
    etag = storage.replace_record("rec/package.json", b"2", etag)
    with pytest.raises(OSError):
        storage.put_blob("rec/broken.bin", PatternStream(1000, fail_at=500))
    storage.put_blob("rec/blob.bin", io.BytesIO(b"b"))
    assert [o.key for o in storage.list("")] == ["rec/blob.bin", "rec/package.json"]
    storage.delete_record("rec/package.json", etag)
    storage.delete("rec/blob.bin")
    assert list(storage.list("")) == []


def test_list_entries_carry_size_etag_and_time(storage: Storage) -> None:
    etag = storage.create_record("x/r.json", b"12345")
    (info,) = storage.list("x/")
    assert (info.key, info.size, info.etag) == ("x/r.json", 5, etag)
    assert info.modified.tzinfo is not None


# -- missing keys and deletes ------------------------------------------------------------


def test_missing_keys_raise_object_not_found(storage: Storage) -> None:
    for call in (
        lambda: storage.stat("no/such.bin"),
        lambda: storage.open_blob("no/such.bin"),
        lambda: storage.open_blob("no/such.bin", 3, 4),
        lambda: storage.read_record("no/such.json"),
        lambda: storage.replace_record("no/such.json", b"x", "etag"),
        lambda: storage.delete_record("no/such.json", "etag"),
    ):
        with pytest.raises(ObjectNotFound, match="no/such"):
            call()


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.put_blob("a/b/c.bin", io.BytesIO(b"x"))
    storage.put_blob("a/b/d.bin", io.BytesIO(b"y"))
    storage.delete("a/b/c.bin")
    storage.delete("a/b/c.bin")
    storage.delete("never/existed.bin")
    with pytest.raises(ObjectNotFound):
        storage.stat("a/b/c.bin")
    assert [o.key for o in storage.list("")] == ["a/b/d.bin"]
    storage.delete("a/b/d.bin")
    storage.put_blob("a/b/c.bin", io.BytesIO(b"back"))
    assert read_all(storage, "a/b/c.bin") == b"back"


def test_backends_satisfy_the_protocol(storage: Storage) -> None:
    assert isinstance(storage, Storage)
    assert sum(storage.calls.values()) == 0
    storage.create_record("k", b"v")
    assert sum(storage.calls.values()) >= 1


def test_errors_share_one_root(storage: Storage) -> None:
    with pytest.raises(StorageError):
        storage.stat("missing")
    assert issubclass(InvalidKey, StorageError) and issubclass(InvalidKey, ValueError)


# -- hostile keys ------------------------------------------------------------------------

HOSTILE_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "packages/../../outside",
    "a/./b",
    "a//b",
    "a/b/",
    "a\\b",
    "a/b\x00c",
    "a/\nb",
    ".octopack/locks/x",
    "a/.octopack-tmp-123",
    "x" * 300,
    "a/" + "y" * 250,
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_refused_everywhere(storage: Storage, key: str) -> None:
    calls = {
        "put_blob": lambda: storage.put_blob(key, io.BytesIO(b"evil")),
        "create_record": lambda: storage.create_record(key, b"evil"),
        "read_record": lambda: storage.read_record(key),
        "replace_record": lambda: storage.replace_record(key, b"evil", "e"),
        "delete_record": lambda: storage.delete_record(key, "e"),
        "open_blob": lambda: storage.open_blob(key),
        "stat": lambda: storage.stat(key),
        "delete": lambda: storage.delete(key),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidKey) as caught:
            call()
        assert repr(key)[:40].rstrip("'") in str(caught.value), name
    assert list(storage.list("")) == []


@pytest.mark.parametrize("prefix", ["/", "../", "a//", "/abs", "a/../b/"])
def test_hostile_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    with pytest.raises(InvalidKey, match="prefix"):
        storage.list(prefix)


def test_unusual_but_safe_keys_work(storage: Storage) -> None:
    keys = ["a b/c+d=e.zip", "ünïcode/пакет.json", "dots/.hidden", "x/y..z", "...a"]
    for key in keys:
        storage.create_record(key, key.encode())
    for key in keys:
        assert storage.read_record(key)[0] == key.encode()
    assert [o.key for o in storage.list("")] == sorted(keys)
