"""Fast extraction keeps every check: many files from threads, big entries streamed,
failures in archive order, compact inspection, the quick name check equal to the full one."""

from __future__ import annotations

import os
import random
import struct
import threading
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer.archive.pool import OrderedPool
from packer.archive.rules import _normalize_slowly, normalize_name
from packer.archive.validator import Limits, extract_archive, inspect_archive
from packer.model.errors import UnsafeArchive
from tests.helpers.hostile import RawMember, nupkg_nuspec_dtd, raw_zip

MTIME = 1_600_000_000
BIG = 3 << 20  # over the 1 MiB step, so the entry is streamed in chunks


def _tree_zip(path: Path, files: int = 800) -> dict[str, tuple[bytes, int]]:
    """Write a zip of many small files in nested folders, some big; return name -> (data, mode)."""
    rng = random.Random(7)
    expected: dict[str, tuple[bytes, int]] = {}
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(files):
            name = f"d{index % 37}/e{index % 5}/f{index}.txt"
            data = (b"line %d\n" % index) * rng.randrange(0, 200)
            if index % 500 == 3:
                data = rng.randbytes(BIG // 2) * 2  # big and compressible
            mode = 0o755 if index % 11 == 0 else 0o640
            info = zipfile.ZipInfo(name, (2020, 5, 17, 10, 20, 30))
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            info.extra = b"UT\x05\x00\x01" + (MTIME + index).to_bytes(4, "little")
            method = zipfile.ZIP_STORED if index % 3 == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(info, data, method)
            expected[name] = (data, mode)
    return expected


def test_many_files_extract_exactly_from_threads(tmp_path: Path) -> None:
    expected = _tree_zip(tmp_path / "tree.zip")
    out = tmp_path / "out"
    info = extract_archive(tmp_path / "tree.zip", None, out)
    assert info.uncompressed_size == sum(len(data) for data, _ in expected.values())
    found = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert found == set(expected)
    for index, (name, (data, mode)) in enumerate(expected.items()):
        path = out / name
        assert path.read_bytes() == data, name
        assert path.stat().st_mode & 0o777 == mode | 0o600
        assert path.stat().st_mtime == MTIME + index
    assert not [t for t in threading.enumerate() if t.name.startswith("octopack-extract")]


def _patch_sizes(path: Path, declared: int, crc: int) -> None:
    """Make both headers of a one-entry zip declare `declared` bytes with checksum `crc`."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 14, crc)
    struct.pack_into("<I", data, 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_big_entry_holding_more_than_declared_is_cut_at_the_declared_size(
    tmp_path: Path, method: int
) -> None:
    payload = random.Random(5).randbytes(BIG)
    path = tmp_path / "lie.zip"
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("big.bin", payload)
    declared = 2 << 20
    _patch_sizes(path, declared, zlib.crc32(payload[:declared]))
    # The headers agree with each other, only the data lies: the full-strength inspection
    # (the feed's) sees it, and so does extraction, which checks while it writes.
    with pytest.raises(UnsafeArchive, match="'big.bin': holds more data than its declared size"):
        inspect_archive(path)
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match="'big.bin': holds more data than its declared size"):
        extract_archive(path, None, out)
    assert (out / "big.bin").stat().st_size <= declared


def test_a_big_entry_with_a_wrong_crc_or_cut_data_is_refused(tmp_path: Path) -> None:
    payload = random.Random(3).randbytes(BIG)
    path = tmp_path / "crc.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", payload)
    _patch_sizes(path, BIG, zlib.crc32(payload) ^ 1)
    with pytest.raises(UnsafeArchive, match="entry 'big.bin' of crc.zip is corrupt: Bad CRC-32"):
        extract_archive(path, None, tmp_path / "out")
    _patch_sizes(path, BIG + 10, zlib.crc32(payload))  # declares more than the data gives
    with pytest.raises(UnsafeArchive, match=f"'big.bin': holds {BIG} bytes, not {BIG + 10}"):
        extract_archive(path, None, tmp_path / "out2")


def test_the_first_failure_in_archive_order_is_reported(tmp_path: Path) -> None:
    members = [RawMember(b"f%04d.txt" % i, b"ok %d\n" % i) for i in range(400)]
    members[100] = RawMember(b"f0100.txt", b"hello world\n")
    members[300] = RawMember(b"f0300.txt", b"x" * 64)
    data = bytearray(raw_zip(members))
    # Spoil the data of entries 100 and 300; both fail their CRC, 100 must be named.
    for needle in (b"hello world\n", b"x" * 64):
        data[data.index(needle)] ^= 0x20
    path = tmp_path / "two.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsafeArchive, match="entry 'f0100.txt' of two.zip is corrupt"):
        inspect_archive(path)  # decoded by threads too: the first in archive order is named
    out = tmp_path / "out"
    with pytest.raises(UnsafeArchive, match="entry 'f0100.txt' of two.zip is corrupt"):
        extract_archive(path, None, out)
    assert (out / "f0099.txt").read_bytes() == b"ok 99\n"  # earlier entries are whole
    assert not [t for t in threading.enumerate() if t.name.startswith("octopack-extract")]


def test_pool_raises_the_earliest_failure_even_when_a_later_one_fails_first() -> None:
    later_failed = threading.Event()
    ran: list[int] = []

    def job(number: int) -> None:
        if number == 3:
            assert later_failed.wait(30), "job 5 never ran"
            raise ValueError("job 3")
        if number == 5:
            later_failed.set()
            raise ValueError("job 5")
        ran.append(number)

    with pytest.raises(ValueError, match="job 3"):
        with OrderedPool(workers=3, backlog=100) as pool:
            for number in range(8):
                pool.submit(job, number)
            pool.wait()
    assert {0, 1, 2, 4} <= set(ran)
    assert 7 not in ran or 6 in ran  # jobs after a failure are skipped, never half-run


def test_a_folder_that_cannot_be_made_fails_after_the_files_before_it(tmp_path: Path) -> None:
    deep = "/".join(f"{i:02d}" + "s" * 240 for i in range(18))  # too long a path for Linux
    members = [RawMember(b"first.txt", b"1"), RawMember(f"{deep}/x".encode(), b"x")]
    members.append(RawMember(b"last.txt", b"3"))
    path = tmp_path / "long.zip"
    path.write_bytes(raw_zip(members))
    out = tmp_path / "out"
    with pytest.raises(Exception, match="too long"):
        extract_archive(path, None, out, Limits(max_name_bytes=1 << 16))
    assert (out / "first.txt").read_bytes() == b"1"
    assert not (out / "last.txt").exists()  # a serial extraction stops there too


def test_dtd_refusal_names_the_nuspec(tmp_path: Path) -> None:
    path, _ = nupkg_nuspec_dtd(tmp_path / "Hostile.1.0.0.nupkg")
    with pytest.raises(UnsafeArchive, match=r"refusing entry 'Hostile.nuspec': .*DTD"):
        inspect_archive(path)


def _many_entries(path: Path, count: int) -> Path:
    """A zip of `count` small files in a few hundred folders (as a real package has)."""
    members = [
        RawMember(b"folder%03d/sub/file-%06d.txt" % (i % 300, i), b"%d" % i) for i in range(count)
    ]
    path.write_bytes(raw_zip(members))
    return path


def test_inspection_memory_is_a_few_hundred_bytes_per_entry(tmp_path: Path) -> None:
    count = 8_000
    path = _many_entries(tmp_path / "many.zip", count)
    tracemalloc.start()
    try:
        info = inspect_archive(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(info.entries) == count
    print(f"inspection peak: {peak / count:.0f} bytes per entry")
    assert peak / count < 700, f"{peak / count:.0f} bytes per entry"  # zipfile alone: ~1 KiB


_name_part = st.sampled_from(
    [
        "a",
        "B",
        ".",
        "..",
        "",
        "C:",
        "x\\y",
        "\x00",
        "\x1f",
        "\x85",
        "é",
        "\udc80",
        "a.b",
        "...",
        ".hidden",
        "1:",
        "a:b",
        "x" * 70,
        "é" * 127,
        "é" * 128,
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_name_part, min_size=1, max_size=5), st.sampled_from(["", "/", "//", "./"]))
def test_quick_name_check_agrees_with_the_full_one(parts: list[str], affix: str) -> None:
    raw = affix + "/".join(parts) if affix == "./" else "/".join(parts) + affix
    try:
        expected: str | None | Exception = _normalize_slowly(raw)
    except UnsafeArchive as error:
        expected = error
    if isinstance(expected, Exception):
        with pytest.raises(UnsafeArchive) as caught:
            normalize_name(raw)
        assert str(caught.value) == str(expected)
    else:
        assert normalize_name(raw) == expected


def test_extraction_writes_nothing_outside_with_a_descriptor_per_root(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    _tree_zip(tmp_path / "t.zip", files=50)
    extract_archive(tmp_path / "t.zip", None, tmp_path / "out")
    assert len(os.listdir("/proc/self/fd")) == before  # every descriptor closed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "t.zip"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o000])
def test_modes_are_the_archives_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "modes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, mode in (("run.sh", 0o755), ("read.txt", 0o644), ("own.key", 0o600)):
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, b"x")
    before = os.umask(umask)
    try:
        extract_archive(path, None, tmp_path / "out")
    finally:
        os.umask(before)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == {"run.sh": 0o755, "read.txt": 0o644, "own.key": 0o600}
