"""Issue 15 in the validator: full strength on inspect, folded names, metadata bombs, modes."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from packer.archive.safe_write import dir_mode, file_mode
from packer.archive.validator import (
    NAME_COLLISION,
    Limits,
    extract_archive,
    folds_names,
    inspect_archive,
)
from packer.model.errors import UnsafeArchive
from tests.adversarial import corpus_tar
from tests.adversarial.rawzip import Member, build


def test_the_probe_says_this_file_system_keeps_names_apart_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    # Linux file systems here are case-sensitive and keep NFC and NFD apart; a Windows or
    # macOS volume (or ext4 with casefold) answers True.
    assert folds_names(tmp_path) is False
    assert list(tmp_path.iterdir()) == []


def test_names_equal_after_nfc_or_nfkc_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "n.zip"
    nfc, nfd = "caf\u00e9.txt", "cafe\u0301.txt"
    path.write_bytes(build([Member(nfc.encode(), b"1"), Member(nfd.encode(), b"2")]))
    [warning] = inspect_archive(path).warnings
    assert warning.kind == NAME_COLLISION and warning.names == (nfc, nfd)
    assert "equal after Unicode normalisation" in warning.message
    extract_archive(path, None, tmp_path / "out")
    assert len(os.listdir(tmp_path / "out")) == 2
    with pytest.raises(UnsafeArchive, match=f"refusing entry {nfd!r}: its name equals {nfc!r}"):
        extract_archive(path, None, tmp_path / "folding", refuse_folded=True)


def test_colliding_pairs_are_listed_up_to_a_bound(tmp_path: Path) -> None:
    members = [Member(b"a%d" % i, b"") for i in range(150)]
    members += [Member(b"A%d" % i, b"") for i in range(150)]
    path = tmp_path / "many.zip"
    path.write_bytes(build(members))
    info = inspect_archive(path)
    assert len(info.collisions) == 100  # the first pairs are listed, not all 150
    with pytest.raises(UnsafeArchive, match=r"\(99 more such pairs listed\)"):
        extract_archive(path, None, tmp_path / "out", refuse_folded=True)


def test_exact_duplicates_are_refused_even_where_case_differs_elsewhere(tmp_path: Path) -> None:
    path = tmp_path / "d.zip"
    path.write_bytes(build([Member(b"A"), Member(b"a"), Member(b"a")]))
    with pytest.raises(UnsafeArchive, match="refusing entry 'a': duplicate name 'a'"):
        inspect_archive(path)


def test_symlinks_are_resolved_as_a_folding_file_system_would_too(tmp_path: Path) -> None:
    path = tmp_path / "l.zip"
    link = stat.S_IFLNK | 0o777
    members = [Member(b"a/b/Up", b"../..", mode=link), Member(b"a/b/t", b"up/../x", mode=link)]
    path.write_bytes(build(members))
    with pytest.raises(UnsafeArchive, match="'a/b/t': symlink to 'up/../x' points outside"):
        inspect_archive(path)


def test_pax_metadata_counts_against_the_uncompressed_limit(tmp_path: Path) -> None:
    path = tmp_path / "pax.tar.gz"
    corpus_tar.pax_bomb(path)
    with pytest.raises(
        UnsafeArchive,
        match=r"over the limit of 1048576 bytes \(at entry 'extended header at offset \d+'\)",
    ):
        inspect_archive(path, limits=Limits(max_uncompressed_bytes=1 << 20, max_ratio=1e9))
    with pytest.raises(UnsafeArchive, match="compression ratio"):
        inspect_archive(path)


def test_a_long_chain_of_extended_headers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chain.tar.gz"
    corpus_tar.pax_chain(path)
    with pytest.raises(UnsafeArchive, match="more than 8 extended headers in a row"):
        inspect_archive(path)


def test_ordinary_pax_headers_still_pass(tmp_path: Path) -> None:
    path = tmp_path / "ok.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("caf\u00e9/" + "long-name-" * 20 + ".txt")
        info.pax_headers = {"comment": "x" * 4000}
        archive.addfile(info)
    [entry] = inspect_archive(path).entries
    assert entry.name.endswith(".txt")


def test_path_length_is_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "deep.zip"
    path.write_bytes(build([Member(b"d/" * 2047 + b"f", b"x")]))  # 4,095 bytes: allowed
    inspect_archive(path)
    with pytest.raises(UnsafeArchive, match="path is longer than 4000 bytes"):
        inspect_archive(path, limits=Limits(max_name_bytes=4000))


@pytest.mark.parametrize(
    ("archived", "file", "folder"),
    [
        (0o6777, 0o755, 0o755),  # setuid, setgid, world write: dropped
        (0o1777, 0o755, 0o755),  # sticky: dropped
        (0o666, 0o644, 0o744),  # group and other write: dropped
        (0o600, 0o600, 0o700),  # private stays private
        (0o000, 0o600, 0o700),  # the owner may always read and write
        (0o711, 0o711, 0o711),
    ],
)
def test_modes_a_target_keeps(archived: int, file: int, folder: int) -> None:
    assert (file_mode(archived), dir_mode(archived)) == (file, folder)
