"""A full disk is a named error (StorageFull), never a half-written object or a stray temp."""

from __future__ import annotations

import errno
import io

import pytest

from storage import StorageDenied, StorageError, StorageFull
from storage.disk import DiskStorage
from storage.errors import os_failure
from tests.helpers.small_disk import small_tmpfs


def test_os_errors_map_to_named_kinds() -> None:
    assert isinstance(os_failure("w", OSError(errno.ENOSPC, "No space")), StorageFull)
    assert isinstance(os_failure("w", OSError(errno.EDQUOT, "Quota")), StorageFull)
    assert isinstance(os_failure("w", OSError(errno.EACCES, "Denied")), StorageDenied)
    plain = os_failure("w", OSError(errno.EIO, "I/O error"))
    assert type(plain) is StorageError and "I/O error" in str(plain)


def test_put_blob_on_a_full_disk_raises_storage_full_and_leaves_nothing() -> None:
    with small_tmpfs(1024 * 1024) as disk:
        store = DiskStorage(disk / "store")
        store.put_blob("small/blob", io.BytesIO(b"x" * 1000))
        with pytest.raises(StorageFull, match="No space left"):
            store.put_blob("big/blob", io.BytesIO(b"y" * 3 * 1024 * 1024))
        assert [info.key for info in store.list()] == ["small/blob"]
        leftovers = [p.name for p in (disk / "store").rglob(".octopack-tmp-*")]
        assert leftovers == []
        # the disk has room again: writing works as before
        store.put_blob("after/blob", io.BytesIO(b"z" * 1000))
        assert store.open_blob("after/blob").read() == b"z" * 1000
