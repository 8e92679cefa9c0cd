"""Good archives of every format are inspected and extracted with contents, modes and mtimes."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from packer.archive.validator import (
    Limits,
    detect_format,
    extract_archive,
    inspect_archive,
    read_package_metadata,
    remove_tree,
)
from packer.model.errors import BadInput, UnsafeArchive
from packer.model.nuspec import NuspecMetadata, render_nuspec
from tests.helpers.hostile import RawMember, raw_zip

MTIME = 1_600_000_000  # 2020-09-13, an even second so DOS time can hold it


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("A.1.0.0.zip", "zip"),
        ("A.1.0.0.NUPKG", "nupkg"),
        ("A.1.0.0.tar", "tar"),
        ("A.1.0.0.tar.gz", "tar.gz"),
        ("A.1.0.0.tgz", "tar.gz"),
        ("A.1.0.0.tar.bz2", "tar.bz2"),
        ("A.1.0.0.tbz", "tar.bz2"),
    ],
)
def test_detect_format(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt


def test_detect_format_refuses_unknown_extension() -> None:
    with pytest.raises(BadInput, match=r"cannot tell the archive format of 'A.1.0.0.rar'"):
        detect_format("A.1.0.0.rar")


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        inspect_archive(tmp_path / "nope.zip")


def _tar(path: Path, mode: str) -> Path:
    """A tar with a dir, files of several modes, a symlink and a hard link."""
    with tarfile.open(path, mode) as archive:

        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime, info.linkname = kind, mode, MTIME, link
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add(".", tarfile.DIRTYPE, 0o755)
        add("./bin", tarfile.DIRTYPE, 0o750)
        add("./bin/run.sh", tarfile.REGTYPE, 0o4755, b"#!/bin/sh\necho hi\n")
        add("./conf.ini", tarfile.REGTYPE, 0o400, b"[a]\nb=1\n")
        add("./latest", tarfile.SYMTYPE, 0o777, link="bin/run.sh")
        add("./copy.ini", tarfile.LNKTYPE, 0o644, link="./conf.ini")
        add("./sub/deep/file.txt", tarfile.REGTYPE, 0o664, b"deep\n")
    return path


@pytest.mark.parametrize(
    ("suffix", "mode"), [("tar", "w"), ("tar.gz", "w:gz"), ("tar.bz2", "w:bz2")]
)
def test_tar_formats_extract_with_modes_mtimes_and_links(
    suffix: str, mode: str, tmp_path: Path
) -> None:
    path = _tar(tmp_path / f"App.1.0.0.{suffix}", mode)
    info = inspect_archive(path)
    assert info.format == suffix
    assert [(e.name, e.kind) for e in info.entries] == [
        ("bin", "dir"),
        ("bin/run.sh", "file"),
        ("conf.ini", "file"),
        ("latest", "symlink"),
        ("copy.ini", "hardlink"),
        ("sub/deep/file.txt", "file"),
    ]
    # A hard link is written as a copy, so it counts its target's size.
    assert info.uncompressed_size == 18 + 8 + 8 + 5
    out = tmp_path / "out"
    assert extract_archive(path, None, out).entries == info.entries
    assert (out / "bin/run.sh").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert stat.S_IMODE((out / "bin/run.sh").stat().st_mode) == 0o755  # setuid dropped
    assert stat.S_IMODE((out / "conf.ini").stat().st_mode) == 0o600  # owner may always read
    assert stat.S_IMODE((out / "bin").stat().st_mode) == 0o750
    # group write is dropped: no other local user may change a release
    assert stat.S_IMODE((out / "sub/deep/file.txt").stat().st_mode) == 0o644
    assert os.readlink(out / "latest") == "bin/run.sh"
    assert (out / "copy.ini").read_bytes() == b"[a]\nb=1\n"
    assert not (out / "copy.ini").is_symlink()
    for name in ("bin", "bin/run.sh", "conf.ini", "copy.ini", "sub/deep/file.txt"):
        assert (out / name).stat().st_mtime == MTIME, name
    assert (out / "latest").lstat().st_mtime == MTIME


def _zip(path: Path) -> Path:
    """A zip made by unix (modes in external_attr) with a dir, files and a symlink."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, mode: int, data: bytes = b"", date=(2021, 3, 4, 5, 6, 8)) -> None:
            info = zipfile.ZipInfo(name, date)
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)

        add("scripts/", stat.S_IFDIR | 0o700)
        add("scripts/Deploy.sh", stat.S_IFREG | 0o6755, b"#!/bin/sh\nexit 0\n")
        add("web.config", stat.S_IFREG | 0o644, b"<c/>" * 1000)
        add("current", stat.S_IFLNK | 0o777, b"scripts")
        add("empty.txt", stat.S_IFREG | 0o644)
    return path


def test_zip_extracts_with_modes_mtimes_and_symlinks(tmp_path: Path) -> None:
    path = _zip(tmp_path / "App.1.0.0.zip")
    info = inspect_archive(path)
    assert [(e.name, e.kind, e.size) for e in info.entries] == [
        ("scripts", "dir", 0),
        ("scripts/Deploy.sh", "file", 17),
        ("web.config", "file", 4000),
        ("current", "symlink", 0),
        ("empty.txt", "file", 0),
    ]
    out = tmp_path / "out"
    extract_archive(path, "zip", out)
    expected_mtime = time.mktime((2021, 3, 4, 5, 6, 8, 0, 0, -1))
    assert (out / "web.config").read_bytes() == b"<c/>" * 1000
    assert (out / "empty.txt").read_bytes() == b""
    assert stat.S_IMODE((out / "scripts/Deploy.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "scripts").stat().st_mode) == 0o700
    assert os.readlink(out / "current") == "scripts"
    assert (out / "web.config").stat().st_mtime == expected_mtime
    assert (out / "scripts").stat().st_mtime == expected_mtime


def test_zip_from_windows_gets_default_modes(tmp_path: Path) -> None:
    path = tmp_path / "w.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("dir/", "dir/a.txt"):
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.create_system = 0
            archive.writestr(info, b"" if name.endswith("/") else b"a")
    out = tmp_path / "out"
    extract_archive(path, out)  # the (path, destination) order works too
    assert stat.S_IMODE((out / "dir").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "dir/a.txt").stat().st_mode) == 0o644


def test_zip_extended_timestamp_is_utc(tmp_path: Path) -> None:
    path = tmp_path / "ut.zip"
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("a.txt", (1999, 1, 1, 0, 0, 0))
        info.extra = b"UT\x05\x00\x01" + (MTIME + 1).to_bytes(4, "little")
        archive.writestr(info, b"a")
    out = tmp_path / "out"
    extract_archive(path, None, out)
    assert (out / "a.txt").stat().st_mtime == MTIME + 1


def test_zip64_data_descriptors_and_prefixed_data_are_accepted(tmp_path: Path) -> None:
    class Unseekable(io.RawIOBase):
        """A write-only stream, so zipfile writes data descriptors."""

        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b) -> int:  # type: ignore[no-untyped-def]
            self.data += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("streamed.txt", b"s" * 5000)
    streamed = tmp_path / "dd.zip"
    streamed.write_bytes(b"#!/bin/sh\nexec unzip\n" + bytes(sink.data))  # self-extractor stub
    forced = tmp_path / "z64.zip"
    with zipfile.ZipFile(forced, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("big.txt", "w", force_zip64=True) as member:
            member.write(b"b" * 5000)
    for path, name in ((streamed, "streamed.txt"), (forced, "big.txt")):
        out = tmp_path / f"out-{path.stem}"
        extract_archive(path, None, out)
        assert (out / name).read_bytes()[:1] * 5000 == (out / name).read_bytes()


def test_other_zip_methods_extract(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stored.txt", b"stored" * 100, zipfile.ZIP_STORED)
        archive.writestr("bz.txt", b"bzip2" * 100, zipfile.ZIP_BZIP2)
        archive.writestr("xz.txt", b"lzma" * 100, zipfile.ZIP_LZMA)
    out = tmp_path / "out"
    extract_archive(path, None, out)
    assert (out / "stored.txt").read_bytes() == b"stored" * 100
    assert (out / "bz.txt").read_bytes() == b"bzip2" * 100
    assert (out / "xz.txt").read_bytes() == b"lzma" * 100


def _nupkg(path: Path) -> Path:
    meta = NuspecMetadata(id="Acme.Web", version="1.2.3-beta.1", authors="a", description="d")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Acme.Web.nuspec", render_nuspec(meta))
        archive.writestr("_rels/.rels", b"<Relationships/>")
        archive.writestr("package/services/metadata/core-properties/abc.psmdcp", b"<x/>")
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("content/my%20file.txt", b"spaced")
        archive.writestr("Deploy.sh", b"#!/bin/sh\n")
    return path


def test_nupkg_reads_nuspec_and_skips_opc_parts(tmp_path: Path) -> None:
    path = _nupkg(tmp_path / "Acme.Web.1.2.3-beta.1.nupkg")
    info = read_package_metadata(path)
    assert info.nuspec is not None
    assert (info.nuspec.id, info.nuspec.version) == ("Acme.Web", "1.2.3-beta.1")
    assert info.nuspec_name == "Acme.Web.nuspec"
    out = tmp_path / "out"
    extract_archive(path, "nupkg", out)
    found = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert found == ["Deploy.sh", "content/my file.txt"]  # part names are unescaped
    everything = tmp_path / "all"
    extract_archive(path, "nupkg", everything, skip_opc=False)
    assert (everything / "_rels/.rels").is_file()
    assert (everything / "[Content_Types].xml").is_file()
    assert (everything / "Acme.Web.nuspec").is_file()


def test_nupkg_escaped_duplicate_is_refused(tmp_path: Path) -> None:
    from packer.model.errors import UnsafeArchive

    path = tmp_path / "A.1.0.0.nupkg"
    nuspec = render_nuspec(NuspecMetadata(id="A", version="1.0.0"))
    members = [RawMember(b"A.nuspec", nuspec), RawMember(b"a b", b"1"), RawMember(b"a%20b", b"2")]
    path.write_bytes(raw_zip(members))
    with pytest.raises(UnsafeArchive, match="duplicate name"):
        inspect_archive(path)


def test_limits_hold_for_an_honest_archive_at_the_edge(tmp_path: Path) -> None:
    path = _zip(tmp_path / "edge.zip")
    total = inspect_archive(path).uncompressed_size
    limits = Limits(max_uncompressed_bytes=total, max_entries=5)
    extract_archive(path, None, tmp_path / "out", limits)
    assert (tmp_path / "out/web.config").is_file()


def test_remove_tree_deletes_read_only_dirs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a/b").mkdir(parents=True)
    (out / "a/b/f").write_text("x")
    os.chmod(out / "a/b", 0o500)
    os.chmod(out / "a", 0o500)
    remove_tree(out)
    assert not out.exists()


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required in CI but is not installed")
        pytest.skip(f"{tool} is not installed (install p7zip-full to run this test)")
    return found


def test_deflate64_zip_made_by_7z(tmp_path: Path) -> None:
    seven = _need("7z")
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    payload = b"".join(b"line %d of a log that repeats a lot\n" % i for i in range(20_000))
    (source / "big.log").write_bytes(payload)
    (source / "sub/small.txt").write_bytes(b"small\n")
    path = tmp_path / "d64.zip"
    subprocess.run(
        [seven, "a", "-tzip", "-mm=Deflate64", str(path), "big.log", "sub"],
        cwd=source,
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(path) as archive:
        assert 9 in {i.compress_type for i in archive.infolist()}  # 9 is Deflate64
    out = tmp_path / "out"
    info = extract_archive(path, None, out)
    assert info.uncompressed_size == len(payload) + 6
    assert (out / "big.log").read_bytes() == payload
    assert (out / "sub/small.txt").read_bytes() == b"small\n"


def test_write_failure_is_reported_and_left_for_the_caller(tmp_path: Path) -> None:
    from packer.model.errors import OperationFailed

    path = tmp_path / "long.zip"
    deep = "/".join(f"{i:02d}" + "s" * 240 for i in range(18))  # 4,373 characters
    members = [RawMember(b"first.txt", b"1"), RawMember(deep.encode(), b"x")]
    path.write_bytes(raw_zip(members))
    with pytest.raises(UnsafeArchive, match="path is longer than 4095 bytes"):
        inspect_archive(path)  # every segment is legal; the whole path is too long for Linux
    lax = Limits(max_name_bytes=1 << 16)  # let it through to see a write failure
    out = tmp_path / "out"
    with pytest.raises(OperationFailed, match="extracting long.zip into .* failed: .*too long"):
        extract_archive(path, None, out, lax)
    assert (out / "first.txt").read_bytes() == b"1"  # partial: the caller deletes it
    remove_tree(out)
    assert not out.exists()
