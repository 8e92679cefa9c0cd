"""The raw push spool: pieces counted and hashed, and a failed background writeback refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from feed.core.bodyspool import BodySpool
from packer.archive.writeback import Writeback
from storage.errors import StorageError


def test_pieces_are_written_and_hashed(tmp_path: Path) -> None:
    pieces = [os.urandom(1 << 20), b"tail"]
    with BodySpool(str(tmp_path), max_bytes=10 << 20) as spool:
        for piece in pieces:
            spool.write(piece)
        upload = spool.upload()
        assert upload.path.read_bytes() == b"".join(pieces)
        assert upload.sha256 == hashlib.sha256(b"".join(pieces)).hexdigest()
        assert (upload.size, upload.sha1, upload.sha512, upload.movable) == (
            len(pieces[0]) + 4,
            "",
            "",
            True,
        )
    assert not Path(spool.path).exists()  # not moved into a store: removed


def test_a_failed_writeback_fails_the_upload(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # fdatasync on a pipe fails (EINVAL), as a disk error would
    try:
        with BodySpool(str(tmp_path), max_bytes=1 << 20) as spool:
            spool._writeback = Writeback(write_end, every=1)
            spool.write(b"piece")
            with pytest.raises(StorageError, match="writing the upload spool failed"):
                spool.upload()
        assert not Path(spool.path).exists()
    finally:
        os.close(read_end)
        os.close(write_end)
