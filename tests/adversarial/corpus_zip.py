"""Zip and nupkg builders beyond tests/helpers/hostile.py: CRCs, zip64, header disagreements.

Each builder writes `path` and returns the fragment every refusal must contain.
"""

from __future__ import annotations

import stat
import struct
import zlib
from pathlib import Path

from tests.adversarial.rawzip import DESCRIPTOR, UTF8, Member, build, deflate, zip64_extra

_TEXT = b"hello world, this is a perfectly ordinary file\n" * 20
_NUSPEC = (
    '<?xml version="1.0" encoding="utf-8"?><package><metadata><id>{id}</id>'
    "<version>{version}</version><authors>a</authors><description>d</description>"
    "</metadata></package>"
)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def nuspec(package_id: str, version: str = "1.0.0", body: str | None = None) -> Member:
    """The root nuspec member of a nupkg (`body` replaces the whole XML)."""
    text = body if body is not None else _NUSPEC.format(id=package_id, version=version)
    return Member(b"Package.nuspec", text.encode(), deflate=True)


def _ok() -> Member:
    return Member(b"ok.txt", b"fine\n")


# -- corrupt data ------------------------------------------------------------------------


def crc_stored(path: Path) -> str:
    """A stored entry whose CRC (the same in both headers) does not match its data."""
    bad = zlib.crc32(_TEXT) ^ 0x1
    _write(path, build([_ok(), Member(b"a.txt", _TEXT, central={"crc": bad}, local={"crc": bad})]))
    return "Bad CRC-32"


def crc_deflated(path: Path) -> str:
    """A deflated entry whose CRC does not match what inflates."""
    bad = zlib.crc32(_TEXT) ^ 0x80
    member = Member(b"a.txt", _TEXT, deflate=True, central={"crc": bad}, local={"crc": bad})
    _write(path, build([_ok(), member]))
    return "Bad CRC-32"


def crc_nupkg(path: Path, package_id: str) -> str:
    """A nupkg whose content file fails its CRC (the feed once stored such packages)."""
    bad = zlib.crc32(_TEXT) ^ 0x2
    member = Member(b"content/a.txt", _TEXT, central={"crc": bad}, local={"crc": bad})
    _write(path, build([nuspec(package_id), member]))
    return "Bad CRC-32"


def data_longer_with_descriptor(path: Path) -> str:
    """Flag bit 3: local header zeros; central and descriptor say 5 bytes; 1 MiB inflates."""
    data = b"hello" + b"A" * ((1 << 20) - 5)
    payload = deflate(data)
    truth = (zlib.crc32(b"hello"), len(payload), 5)
    member = Member(
        b"small.txt",
        data,
        deflate=True,
        central={"crc": truth[0], "usize": 5},
        descriptor=truth,
    )
    _write(path, build([member]))
    return "holds more data than its declared size"


def data_shorter(path: Path) -> str:
    """Both headers declare 1,000 bytes; the stream inflates to 10 (with the right CRC)."""
    data = b"0123456789"
    member = Member(
        b"short.txt", data, deflate=True, central={"usize": 1000}, local={"usize": 1000}
    )
    _write(path, build([member]))
    return "holds 10 bytes, not 1000"


def deflate_cut(path: Path) -> str:
    """A deflate stream cut short (sizes say so consistently)."""
    payload = deflate(bytes(range(256)) * 64)[:-20]
    member = Member(b"cut.bin", bytes(range(256)) * 64, deflate=True, payload=payload)
    _write(path, build([member]))
    return "corrupt"


def descriptor_disagrees(path: Path) -> str:
    """A data descriptor whose CRC differs from the central directory's."""
    member = Member(b"a.txt", _TEXT, descriptor=(zlib.crc32(_TEXT) ^ 1, len(_TEXT), len(_TEXT)))
    _write(path, build([member]))
    return "data descriptor"


# -- central directory vs local header, field by field -------------------------------------


def local_method(path: Path) -> str:
    member = Member(b"a.txt", _TEXT, local={"method": 8})
    _write(path, build([member]))
    return "compression method disagrees"


def local_crc(path: Path) -> str:
    member = Member(b"a.txt", _TEXT, local={"crc": 0xDEADBEEF})
    _write(path, build([member]))
    return "local header CRC or sizes disagree"


def local_csize(path: Path) -> str:
    member = Member(b"a.txt", _TEXT, deflate=True, local={"csize": 7})
    _write(path, build([member]))
    return "local header CRC or sizes disagree"


def local_name_case(path: Path) -> str:
    """The local header spells the name in another case."""
    _write(path, build([Member(b"a.txt", _TEXT, local={"name": b"A.TXT"})]))
    return "local header name"


def local_name_encoding(path: Path) -> str:
    """The same bytes, UTF-8 in the central directory and cp437 in the local header."""
    name = "caf\u00e9.txt".encode()
    _write(path, build([Member(name, _TEXT, local={"flags": 0})]))
    return "local header name"


def offset_past_end(path: Path) -> str:
    _write(path, build([_ok(), Member(b"far.txt", _TEXT, central={"offset": 1 << 30})]))
    return "no valid local header"


def offset_into_directory(path: Path) -> str:
    """An offset that points at the central directory itself."""
    members = [_ok(), Member(b"b.txt", b"b")]
    first = build(members)
    directory = first.index(b"PK\x01\x02")
    members[1].central["offset"] = directory
    _write(path, build(members))
    return "no valid local header"


# -- overlaps (the "better zip bomb") -------------------------------------------------------


def full_overlap(path: Path) -> str:
    """Three central records share one local header and kernel (Fifield's full overlap)."""
    kernel = Member(b"k", bytes(1 << 16), deflate=True)
    data = bytearray(build([kernel]))
    central_at = data.index(b"PK\x01\x02")
    record = bytes(data[central_at:-22])
    body = bytes(data[:central_at])
    directory = record * 3
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 3, 3, len(directory), len(body), 0)
    _write(path, body + directory + end)
    return "overlapping entries"


def overlap_directory(path: Path) -> str:
    """The last entry's compressed size runs into the central directory."""
    size = len(_TEXT)
    member = Member(b"a.txt", _TEXT, central={"csize": size + 30}, local={"csize": size + 30})
    _write(path, build([member]))
    return "overlaps the central directory"


# -- zip64 oddities -------------------------------------------------------------------------


def zip64_huge_size(path: Path) -> str:
    """A zip64 extra field declaring 2**40 bytes for a 5-byte file."""
    extra = zip64_extra(1 << 40, 5)
    fields = {"usize": 0xFFFFFFFF, "csize": 0xFFFFFFFF, "extra": extra, "version": 45}
    _write(path, build([Member(b"huge.bin", b"hello", central=fields, local=dict(fields))]))
    return "over the limit"


def zip64_missing_extra(path: Path) -> str:
    """Sizes of 0xFFFFFFFF with no zip64 field: taken at face value, 4 GiB from 5 bytes."""
    fields = {"usize": 0xFFFFFFFF}
    _write(path, build([Member(b"big.bin", b"hello", central=fields, local=dict(fields))]))
    return "compression ratio"


def zip64_short_extra(path: Path) -> str:
    """A zip64 extra field too short for the size it must hold."""
    fields = {"usize": 0xFFFFFFFF, "extra": struct.pack("<HHI", 1, 4, 5)}
    _write(path, build([Member(b"odd.bin", b"hello", central=fields)]))
    return "zip64"


def zip64_end_count(path: Path) -> str:
    """A zip64 end record declaring 2**40 entries for a one-entry archive."""
    plain = build([_ok()])
    directory_at = plain.index(b"PK\x01\x02")
    body, directory = plain[:directory_at], plain[directory_at:-22]
    count = 1 << 40
    end64 = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), len(body)
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, len(body) + len(directory), 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    _write(path, body + directory + end64 + locator + end)
    return "too many entries"


# -- methods, flags, versions -----------------------------------------------------------------


def encrypted(path: Path) -> str:
    _write(path, build([Member(b"secret.txt", _TEXT, central={"flags": UTF8 | 1})]))
    return "encrypted entries are not supported"


def unknown_method(path: Path) -> str:
    fields = {"method": 99}
    _write(path, build([Member(b"a.txt", _TEXT, central=fields, local=dict(fields))]))
    return "unsupported compression method 99"


def future_version(path: Path) -> str:
    _write(path, build([Member(b"a.txt", _TEXT, central={"version": 99})]))
    return "zip file version"


def descriptor_flag_mismatch(path: Path) -> str:
    """Flag bit 3 only in the local header, with zeros there: sizes then disagree nowhere,
    but the data descriptor that should follow is missing."""
    member = Member(b"a.txt", _TEXT, local={"flags": UTF8 | DESCRIPTOR, "crc": 0})
    member.central["flags"] = UTF8 | DESCRIPTOR
    _write(path, build([member]))
    return "data descriptor"


# -- types, modes, names ------------------------------------------------------------------------


def socket_entry(path: Path) -> str:
    _write(path, build([Member(b"sock", b"", mode=stat.S_IFSOCK | 0o777)]))
    return "sockets are not allowed"


def block_device(path: Path) -> str:
    _write(path, build([Member(b"disk", b"", mode=stat.S_IFBLK | 0o660)]))
    return "device files are not allowed"


def fifo_entry(path: Path) -> str:
    _write(path, build([Member(b"pipe", b"", mode=stat.S_IFIFO | 0o644)]))
    return "FIFOs"


def long_symlink(path: Path) -> str:
    target = b"a/" * 2100 + b"b"
    _write(path, build([Member(b"link", target, mode=stat.S_IFLNK | 0o777)]))
    return "symlink target longer than"


def symlink_case_escape(path: Path) -> str:
    """`Up` -> ../.. stays inside from a/b; `a/b/t` -> up/../x escapes where names fold."""
    members = [
        Member(b"a/b/Up", b"../..", mode=stat.S_IFLNK | 0o777),
        Member(b"a/b/t", b"up/../x", mode=stat.S_IFLNK | 0o777),
    ]
    _write(path, build(members))
    return "points outside the destination"


def too_deep(path: Path) -> str:
    """3,000 nested folders: more than any Linux target can open (PATH_MAX)."""
    _write(path, build([Member(b"d/" * 3000 + b"f.txt", b"deep\n")]))
    return "path is longer than 4095 bytes"


def exact_duplicate_dir(path: Path) -> str:
    """A file `data` and a folder `data/`: one name twice."""
    members = [Member(b"data", b"x"), Member(b"data/", b"", mode=stat.S_IFDIR | 0o755)]
    _write(path, build(members))
    return "duplicate name"


def nupkg_escaped_nul(path: Path, package_id: str) -> str:
    """A part name that holds NUL once URI-unescaped."""
    _write(path, build([nuspec(package_id), Member(b"content/a%00.txt", b"x")]))
    return "NUL character"


def nupkg_nuspec_external_entity(path: Path, package_id: str) -> str:
    body = (
        '<?xml version="1.0"?><!DOCTYPE package [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        f"<package><metadata><id>{package_id}</id><version>1.0.0</version>"
        "<description>&x;</description></metadata></package>"
    )
    _write(path, build([nuspec(package_id, body=body)]))
    return "DTD"


def nupkg_nuspec_too_big(path: Path, package_id: str) -> str:
    pad = "x" * (1 << 20)
    body = _NUSPEC.format(id=package_id, version="1.0.0").replace(
        "<authors>", f"<!--{pad}--><authors>"
    )
    _write(path, build([nuspec(package_id, body=body)]))
    return "over"


def nupkg_nuspec_not_xml(path: Path, package_id: str) -> str:
    _write(path, build([nuspec(package_id, body="this is { not xml")]))
    return "nuspec"


def nupkg_id_traversal(path: Path, package_id: str) -> str:
    _write(path, build([nuspec("../../etc"), Member(b"content/a.txt", b"x")]))
    return "invalid package id"


def nupkg_id_too_long(path: Path, package_id: str) -> str:
    _write(path, build([nuspec("A" * 120)]))
    return "characters long"


def nupkg_version_traversal(path: Path, package_id: str) -> str:
    _write(path, build([nuspec(package_id, version="1.0.0/../../x")]))
    return "version"


def nupkg_version_empty(path: Path, package_id: str) -> str:
    _write(path, build([nuspec(package_id, version="")]))
    return "<version> is missing or empty"


def nupkg_nuspec_below_root(path: Path, package_id: str) -> str:
    member = nuspec(package_id)
    member.name = b"sub/" + member.name
    _write(path, build([member, Member(b"content/a.txt", b"x")]))
    return "no .nuspec at its root"


def nupkg_two_nuspecs_by_case(path: Path, package_id: str) -> str:
    other = nuspec(package_id)
    other.name = other.name.upper()
    _write(path, build([nuspec(package_id), other]))
    return "more than one .nuspec"
