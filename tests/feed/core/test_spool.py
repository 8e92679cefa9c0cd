"""Hashing a local upload: the parallel hash of a file and the size cap."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from feed.core.errors import PackageTooLarge
from feed.core.uploads import CHUNK, hash_file
from tests.feed.upload_hashes import MAX_MESSAGE, described, expected


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 5])
def test_hash_file_of_a_plain_file_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "plain.bin"
    path.write_bytes(data)
    with hash_file(path, size) as upload:
        assert described(upload) == expected(data)
        assert upload.path == path
    assert path.read_bytes() == data  # the caller's file is left alone


def test_hash_file_refuses_an_oversize_file_with_the_limit_named(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"0" * 101)
    with pytest.raises(PackageTooLarge) as caught, hash_file(path, 100):
        pass
    assert str(caught.value) == MAX_MESSAGE.format(100)
