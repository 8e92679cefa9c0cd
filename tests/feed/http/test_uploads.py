"""Multipart upload spooling: hashes taken while werkzeug writes, the size cap, the re-hash."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest
import requests

from feed.core.errors import PackageTooLarge
from feed.core.uploads import CHUNK
from feed.http.uploads import HashingSpool
from tests.feed.conftest import stored_keys
from tests.feed.packages import make_zip
from tests.feed.upload_hashes import MAX_MESSAGE, described, expected
from tests.helpers.feed_server import running_feed


def write_in_pieces(spool: HashingSpool, data: bytes, seed: int = 1) -> None:
    """Write `data` in uneven pieces (some bigger than a batch, some tiny, some empty)."""
    rng = random.Random(seed)
    position = 0
    while position < len(data):
        step = rng.choice([0, 1, 4096, 65536, CHUNK + 17, 3 * CHUNK])
        spool.write(memoryview(data)[position : position + step])
        position += step


def test_spool_hashes_while_written_and_its_upload_reuses_them(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(5 * CHUNK + 12345)
    spool = HashingSpool(str(tmp_path), max_bytes=len(data))
    write_in_pieces(spool, data)
    spool.seek(0)  # what werkzeug does when the part ends
    path = Path(spool.name)
    assert path.read_bytes() == data
    upload = spool.upload()
    assert described(upload) == expected(data)
    assert upload is spool.describe()  # taken from the spool, not a second pass
    spool.close()
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_empty_spool_has_the_empty_hashes(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path))
    upload = spool.upload()
    assert described(upload) == expected(b"")
    spool.close()


def test_spool_refuses_past_max_bytes_before_writing(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path), max_bytes=100_000)
    spool.write(b"a" * 99_999)
    with pytest.raises(PackageTooLarge) as caught:
        spool.write(b"bc")
    assert str(caught.value) == MAX_MESSAGE.format(100_000)
    assert os.path.getsize(spool.name) == 99_999  # the refused piece was not written
    spool.close()
    assert list(tmp_path.iterdir()) == []
    assert digest_threads() == []  # close joined them


def digest_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("octopack-sha")]


def test_dropped_spool_stops_its_threads_and_removes_its_file(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path))
    spool.write(b"q" * (2 * CHUNK))  # a full batch: the digest threads run
    assert len(digest_threads()) == 3
    del spool  # what happens when werkzeug's parser raises mid-upload
    assert digest_threads() == []
    assert list(tmp_path.iterdir()) == []


def test_rewritten_spool_is_hashed_again_from_disk(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path))
    spool.write(b"x" * (2 * CHUNK))
    spool.seek(10)
    spool.write(b"CHANGED")  # not an append: the running hashes are void
    spool.seek(0)
    data = Path(spool.name).read_bytes()
    assert spool.describe() is None
    upload = spool.upload()
    assert described(upload) == expected(data)
    spool.close()


def test_write_after_describe_is_not_trusted(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path))
    spool.write(b"first")
    assert spool.describe() is not None
    spool.write(b" second")
    assert spool.describe() is None
    upload = spool.upload()
    assert described(upload) == expected(b"first second")
    spool.close()


def test_file_changed_behind_the_spool_is_hashed_again(tmp_path: Path) -> None:
    spool = HashingSpool(str(tmp_path))
    spool.write(b"y" * 1000)
    first = spool.describe()
    assert first is not None
    with open(spool.name, "ab") as other:  # another handle: the spool cannot see it
        other.write(b"z")
    upload = spool.upload()
    assert described(upload) == expected(b"y" * 1000 + b"z")
    spool.close()


def test_multipart_push_of_several_mib_stores_exact_hashes_and_no_spool(
    disk_backend, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    boundary_like = b"\r\n--" + b"-" * 40 + b"\r\n"  # bytes that look like a part boundary
    payload = random.Random(5).randbytes(3 * CHUNK) + boundary_like * 1000
    path = make_zip(tmp_path, "Acme.Spool.1.0.0.zip", {"payload.bin": payload})
    data = path.read_bytes()
    with running_feed(disk_backend.storage, upload_dir=str(uploads)) as feed:
        with path.open("rb") as stream:
            response = requests.post(
                f"{feed.url}/api/packages/raw",
                files={"file": (path.name, stream, "application/octet-stream")},
                headers={"X-Octopus-ApiKey": feed.admin_key},
                timeout=60,
            )
        assert response.status_code == 201, response.text
        body = response.json()
        _, sha1, sha256, sha512 = expected(data)
        assert (body["PackageSizeBytes"], body["Hash"], body["Sha256"], body["Sha512"]) == (
            len(data),
            sha1,
            sha256,
            sha512,
        )
        raw = requests.get(f"{feed.url}{body['Links']['Raw']}", timeout=60)
        assert raw.content == data
    assert list(uploads.iterdir()) == []


def test_oversize_multipart_push_is_413_at_once_and_leaves_nothing(
    disk_backend, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    noise = random.Random(9).randbytes(2 * CHUNK)
    path = make_zip(tmp_path, "Acme.Big.1.0.0.zip", {"big.bin": noise})
    limit = CHUNK // 2
    with running_feed(
        disk_backend.storage, max_package_bytes=limit, upload_dir=str(uploads)
    ) as feed:
        with path.open("rb") as stream:
            response = requests.post(
                f"{feed.url}/api/packages/raw",
                files={"file": (path.name, stream, "application/octet-stream")},
                headers={"X-Octopus-ApiKey": feed.admin_key},
                timeout=60,
            )
        assert response.status_code == 413
        assert response.json()["ErrorMessage"] == MAX_MESSAGE.format(limit)
        assert stored_keys(feed.storage) == []
    assert list(uploads.iterdir()) == []
