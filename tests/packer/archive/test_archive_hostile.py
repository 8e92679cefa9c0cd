"""Every hostile archive is refused by inspection and by extraction, and nothing is written."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from packer.archive.validator import NAME_COLLISION, Limits, extract_archive, inspect_archive
from packer.model.errors import OperationFailed, UnsafeArchive
from tests.helpers.hostile import (
    HOSTILE_CASES,
    HostileCase,
    RawMember,
    raw_zip,
    too_many_entries_zip,
    zip_lying_sizes,
)


def _ids(case: HostileCase) -> str:
    return case.name


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=_ids)
def test_inspect_refuses_hostile_archive(case: HostileCase, tmp_path: Path) -> None:
    path, fragment = case.write(tmp_path)
    before = path.read_bytes()
    with pytest.raises(UnsafeArchive) as caught:
        inspect_archive(path)
    assert fragment in str(caught.value)
    assert path.read_bytes() == before  # inspection never touches the package


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=_ids)
def test_extract_refuses_hostile_archive_and_writes_nothing(
    case: HostileCase, tmp_path: Path
) -> None:
    path, fragment = case.write(tmp_path / "in")
    missing = tmp_path / "out" / "new"
    with pytest.raises(UnsafeArchive) as caught:
        extract_archive(path, None, missing)
    assert fragment in str(caught.value)
    assert not missing.exists()
    assert not (tmp_path / "out").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnsafeArchive):
        extract_archive(path, None, empty)
    assert list(empty.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "in"]


def test_cases_have_unique_names_and_known_extensions(tmp_path: Path) -> None:
    assert len({case.name for case in HOSTILE_CASES}) == len(HOSTILE_CASES)
    assert {case.extension for case in HOSTILE_CASES} == {"zip", "nupkg", "tar.gz"}
    path, _ = HOSTILE_CASES[0].write(tmp_path)
    assert path.name == f"Hostile.1.0.0.{HOSTILE_CASES[0].extension}"


def test_messages_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(raw_zip([RawMember(b"ok.txt", b"1"), RawMember(b"a/../../boom.sh", b"2")]))
    with pytest.raises(UnsafeArchive, match=r"refusing entry 'a/\.\./\.\./boom\.sh': .*'\.\.'"):
        inspect_archive(path)


def test_too_many_entries_with_a_small_limit_zip(tmp_path: Path) -> None:
    path, fragment = too_many_entries_zip(tmp_path / "many.zip", count=11)
    assert len(inspect_archive(path, limits=Limits(max_entries=11)).entries) == 11
    with pytest.raises(UnsafeArchive, match="too many entries: 11 \\(the limit is 10\\)"):
        inspect_archive(path, limits=Limits(max_entries=10))
    with pytest.raises(UnsafeArchive, match=fragment):
        extract_archive(path, None, tmp_path / "out", Limits(max_entries=10))
    assert not (tmp_path / "out").exists()


def test_too_many_entries_with_a_small_limit_tar(tmp_path: Path) -> None:
    path = tmp_path / "many.tar"
    with tarfile.open(path, "w") as archive:
        for index in range(6):
            info = tarfile.TarInfo(f"f{index}")
            archive.addfile(info, io.BytesIO(b""))
    assert len(inspect_archive(path, limits=Limits(max_entries=6)).entries) == 6
    with pytest.raises(UnsafeArchive, match="too many entries: 6"):
        inspect_archive(path, limits=Limits(max_entries=5))


def test_declared_uncompressed_total_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "a" * 600)
        archive.writestr("b.txt", "b" * 600)
    inspect_archive(path, limits=Limits(max_uncompressed_bytes=1200))
    with pytest.raises(
        UnsafeArchive, match="uncompressed size 1200 bytes is over the limit of 1199"
    ):
        inspect_archive(path, limits=Limits(max_uncompressed_bytes=1199))


def test_ratio_limit_is_total_over_package_size(tmp_path: Path) -> None:
    path = tmp_path / "r.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", bytes(100_000))
    ratio = 100_000 / path.stat().st_size
    inspect_archive(path, limits=Limits(max_ratio=ratio + 0.01))
    with pytest.raises(UnsafeArchive, match="compression ratio .* over the limit of 10:1"):
        inspect_archive(path, limits=Limits(max_ratio=10))


def test_package_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(raw_zip([RawMember(b"a", b"x" * 100)]))
    size = path.stat().st_size
    inspect_archive(path, limits=Limits(max_package_bytes=size))
    with pytest.raises(UnsafeArchive, match=f"p.zip is {size} bytes, over the limit of {size - 1}"):
        inspect_archive(path, limits=Limits(max_package_bytes=size - 1))


def test_nuspec_over_the_size_limit(tmp_path: Path) -> None:
    nuspec = (
        b'<?xml version="1.0"?><package><metadata><id>A</id><version>1.0.0</version>'
        b"<description>" + b"d" * 2000 + b"</description></metadata></package>"
    )
    path = tmp_path / "A.1.0.0.nupkg"
    path.write_bytes(raw_zip([RawMember(b"A.nuspec", nuspec, deflate=True)]))
    assert inspect_archive(path).nuspec.id == "A"
    with pytest.raises(UnsafeArchive, match=r"nuspec 'A.nuspec' is \d+ bytes, over 1000"):
        inspect_archive(path, limits=Limits(max_nuspec_bytes=1000))


def test_nupkg_without_nuspec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "A.1.0.0.nupkg"
    path.write_bytes(raw_zip([RawMember(b"lib/a.dll", b"MZ")]))
    with pytest.raises(UnsafeArchive, match="has no .nuspec at its root"):
        inspect_archive(path)


def test_nuspec_below_the_root_does_not_count(tmp_path: Path) -> None:
    nuspec = b"<package><metadata><id>A</id><version>1.0.0</version></metadata></package>"
    path = tmp_path / "A.1.0.0.nupkg"
    path.write_bytes(
        raw_zip([RawMember(b"A.nuspec", nuspec), RawMember(b"content/B.nuspec", b"not xml")])
    )
    info = inspect_archive(path)
    assert info.nuspec_name == "A.nuspec"


def test_lying_sizes_are_caught_by_inspection_and_during_extraction(tmp_path: Path) -> None:
    path, fragment = zip_lying_sizes(tmp_path / "lie.zip")
    # The headers agree with each other, only the data lies: full strength decodes it.
    with pytest.raises(UnsafeArchive, match=fragment):
        inspect_archive(path)
    destination = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match=fragment) as caught:
        extract_archive(path, None, destination)
    assert "small.txt" in str(caught.value)
    # The caller deletes the partial destination; nothing beyond the declared size was written.
    written = destination / "small.txt"
    assert not written.exists() or written.stat().st_size <= 5


def test_corrupt_data_is_refused_by_inspection_and_extraction(tmp_path: Path) -> None:
    data = bytearray(raw_zip([RawMember(b"a.txt", b"hello world\n")]))
    data[data.index(b"hello")] = ord("j")  # stored data no longer matches its CRC
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="entry 'a.txt' of crc.zip is corrupt: Bad CRC-32"):
        inspect_archive(path)
    with pytest.raises(UnsafeArchive, match="entry 'a.txt' of crc.zip is corrupt: Bad CRC-32"):
        extract_archive(path, None, tmp_path / "out")


def test_not_an_archive_at_all(tmp_path: Path) -> None:
    for name in ("junk.zip", "junk.tar.gz", "junk.tar.bz2", "junk.tar", "junk.nupkg"):
        path = tmp_path / name
        path.write_bytes(b"this is not an archive\n" * 3)
        with pytest.raises(UnsafeArchive, match=f"{name} is not a valid .* archive"):
            inspect_archive(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar.gz"
    path.write_bytes(b"")
    with pytest.raises(UnsafeArchive, match="not a valid tar.gz archive"):
        inspect_archive(path)


def test_destination_must_be_empty(tmp_path: Path) -> None:
    path = tmp_path / "ok.zip"
    path.write_bytes(raw_zip([RawMember(b"a.txt", b"a")]))
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "keep.txt").write_text("mine")
    with pytest.raises(OperationFailed, match="is not empty"):
        extract_archive(path, None, destination)
    assert [p.name for p in destination.iterdir()] == ["keep.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OperationFailed, match="is not a directory"):
        extract_archive(path, None, afile)


def test_symlink_inside_is_allowed_but_nothing_may_go_through_it(tmp_path: Path) -> None:
    path = tmp_path / "links.tar"
    with tarfile.open(path, "w") as archive:
        for name, kind, target in [
            ("app", tarfile.DIRTYPE, ""),
            ("current", tarfile.SYMTYPE, "app"),
            ("app/self", tarfile.SYMTYPE, "../app/./"),
        ]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            archive.addfile(info)
    info = inspect_archive(path)
    assert [e.kind for e in info.entries] == ["dir", "symlink", "symlink"]
    with tarfile.open(path, "a") as archive:
        archive.addfile(tarfile.TarInfo("current/x"), io.BytesIO(b""))
    with pytest.raises(UnsafeArchive, match="'current/x': lies below 'current', which is a sym"):
        inspect_archive(path)


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.tar"
    with tarfile.open(path, "w") as archive:
        for name, target in [("a", "b/x"), ("b", "a/y")]:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    with pytest.raises(UnsafeArchive, match="points outside"):
        inspect_archive(path)


def test_folders_spelled_two_ways_warn_and_are_refused_where_names_fold(tmp_path: Path) -> None:
    path = tmp_path / "case.zip"
    path.write_bytes(raw_zip([RawMember(b"App/a.txt", b"a"), RawMember(b"app/b.txt", b"b")]))
    [warning] = inspect_archive(path).warnings
    assert warning.kind == NAME_COLLISION and warning.names == ("App", "app")
    assert "'App' and 'app' are equal after case folding" in warning.message
    extract_archive(path, None, tmp_path / "sensitive")  # two folders where names do not fold
    assert sorted(p.name for p in (tmp_path / "sensitive").iterdir()) == ["App", "app"]
    with pytest.raises(UnsafeArchive, match="'app': its name equals 'App' on this file system"):
        extract_archive(path, None, tmp_path / "folding", refuse_folded=True)
    assert not (tmp_path / "folding").exists()
    path.write_bytes(raw_zip([RawMember(b"App/a.txt", b"a"), RawMember(b"App/b.txt", b"b")]))
    assert [e.name for e in inspect_archive(path).entries] == ["App/a.txt", "App/b.txt"]


def test_gnu_sparse_members_are_refused(tmp_path: Path) -> None:
    member = tarfile.TarInfo("holes.img")
    member.type = tarfile.GNUTYPE_SPARSE
    block = member.tobuf(tarfile.GNU_FORMAT)
    path = tmp_path / "sparse.tar"
    path.write_bytes(block + bytes(1024))
    with pytest.raises(UnsafeArchive, match="GNU sparse member 'holes.img' is not supported"):
        inspect_archive(path)


def test_oversized_central_directory_is_refused_before_reading_it(tmp_path: Path) -> None:
    data = bytearray(raw_zip([RawMember(b"a.txt", b"x")]))
    end = data.rfind(b"PK\x05\x06")
    data[end + 12 : end + 16] = (300 << 20).to_bytes(4, "little")  # declared directory size
    path = tmp_path / "cd.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="central directory of 314572800 bytes is over"):
        inspect_archive(path)
