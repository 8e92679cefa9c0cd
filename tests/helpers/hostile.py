"""Builders of hostile archives, shared by the archive, feed and deploy tests.

Each builder writes one archive to the path it is given and returns (path, fragment):
a piece of the message every refusal must contain. `HOSTILE_CASES` lists them all, each
with the extension its file needs; `case.write(directory)` names the file Id.Version.ext.
Zips are written by hand here (zipfile cannot write NUL names or lying headers).
"""

from __future__ import annotations

import io
import stat
import struct
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HOSTILE_ID = "Hostile"
HOSTILE_VERSION = "1.0.0"

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_DOS_TIME, _DOS_DATE = 0, (2020 - 1980) << 9 | 1 << 5 | 1  # 2020-01-01 00:00
_UTF8 = 0x800


@dataclass(frozen=True)
class RawMember:
    """One zip member as it should appear on disk, lies included."""

    name: bytes
    data: bytes = b""
    deflate: bool = False
    unix_mode: int | None = 0o100644
    local_name: bytes | None = None  # a different name in the local header
    local_size: int | None = None  # a different uncompressed size in the local header


def raw_zip(members: list[RawMember]) -> bytes:
    """Write a zip byte for byte, so its headers can say whatever a test needs."""
    out = bytearray()
    central = bytearray()
    for member in members:
        payload = _deflate(member.data) if member.deflate else member.data
        crc = zlib.crc32(member.data)
        method = 8 if member.deflate else 0
        offset = len(out)
        local_name = member.local_name if member.local_name is not None else member.name
        local_size = member.local_size if member.local_size is not None else len(member.data)
        out += _local_header(local_name, method, crc, len(payload), local_size) + payload
        central += _central_header(
            member.name, method, crc, len(payload), len(member.data), offset, member.unix_mode
        )
    return bytes(out + central + _end(len(members), len(central), len(out)))


def _deflate(data: bytes) -> bytes:
    """Raw deflate, as zip stores it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def _local_header(name: bytes, method: int, crc: int, csize: int, usize: int) -> bytes:
    """A local file header without a data descriptor."""
    return (
        _LOCAL.pack(
            b"PK\x03\x04", 20, _UTF8, method, _DOS_TIME, _DOS_DATE, crc, csize, usize, len(name), 0
        )
        + name
    )


def _central_header(
    name: bytes, method: int, crc: int, csize: int, usize: int, offset: int, mode: int | None
) -> bytes:
    """A central directory record; a unix mode makes it 'made by unix'."""
    made_by = (3 << 8 | 20) if mode is not None else 20
    external = (mode or 0) << 16
    fields = (b"PK\x01\x02", made_by, 20, _UTF8, method, _DOS_TIME, _DOS_DATE, crc, csize, usize)
    return _CENTRAL.pack(*fields, len(name), 0, 0, 0, 0, external, offset) + name


def _end(count: int, size: int, offset: int) -> bytes:
    """The end of central directory record."""
    return _END.pack(b"PK\x05\x06", 0, 0, count, count, size, offset, 0)


def _write(path: Path, data: bytes) -> Path:
    """Write bytes to a path, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _one_entry_zip(path: Path, name: bytes, fragment: str) -> tuple[Path, str]:
    """A zip whose only oddity is one entry's name."""
    members = [RawMember(b"ok.txt", b"fine\n"), RawMember(name, b"evil\n")]
    return _write(path, raw_zip(members)), fragment


def zip_dotdot(path: Path) -> tuple[Path, str]:
    """An entry that climbs out of the destination (zip slip)."""
    return _one_entry_zip(path, b"../evil.txt", "'..' segment")


def zip_deep_dotdot(path: Path) -> tuple[Path, str]:
    """A `..` hidden in the middle of a path."""
    return _one_entry_zip(path, b"app/../../evil.txt", "'..' segment")


def zip_absolute(path: Path) -> tuple[Path, str]:
    """An absolute path."""
    return _one_entry_zip(path, b"/etc/x", "absolute path")


def zip_drive_letter(path: Path) -> tuple[Path, str]:
    """A Windows drive letter."""
    return _one_entry_zip(path, b"C:\\x", "drive letter")


def zip_backslash(path: Path) -> tuple[Path, str]:
    """A backslash, which Windows tools treat as a separator."""
    return _one_entry_zip(path, b"dir\\..\\..\\evil.txt", "backslash")


def zip_nul(path: Path) -> tuple[Path, str]:
    """A NUL byte in a name (zipfile would silently cut the name there)."""
    return _one_entry_zip(path, b"evil.txt\x00.jpg", "NUL character")


def zip_control(path: Path) -> tuple[Path, str]:
    """An escape character in a name."""
    return _one_entry_zip(path, b"evil\x1b[2J.txt", "control character")


def zip_empty_name(path: Path) -> tuple[Path, str]:
    """An entry with an empty name."""
    return _one_entry_zip(path, b"", "empty name")


def zip_duplicate(path: Path) -> tuple[Path, str]:
    """The same name twice (the second would silently replace the first).

    Names equal only after case folding are a warning, not a refusal (see
    tests/adversarial): they are two files where the file system does not fold names.
    """
    members = [RawMember(b"Readme.txt", b"one\n"), RawMember(b"Readme.txt", b"two\n")]
    return _write(path, raw_zip(members)), "duplicate name"


def zip_file_and_dir(path: Path) -> tuple[Path, str]:
    """A file and a directory of the same name."""
    members = [RawMember(b"data", b"file\n"), RawMember(b"data/", b"", unix_mode=0o40755)]
    return _write(path, raw_zip(members)), "duplicate name"


def zip_below_file(path: Path) -> tuple[Path, str]:
    """An entry below a name that is a file."""
    members = [RawMember(b"data", b"file\n"), RawMember(b"data/inner.txt", b"x\n")]
    return _write(path, raw_zip(members)), "not a directory"


def zip_symlink_out(path: Path) -> tuple[Path, str]:
    """A unix symlink entry pointing out of the destination."""
    link = RawMember(b"link", b"../../etc/passwd", unix_mode=stat.S_IFLNK | 0o777)
    return _write(path, raw_zip([RawMember(b"ok.txt", b"x"), link])), "points outside"


def zip_symlink_absolute(path: Path) -> tuple[Path, str]:
    """A unix symlink entry with an absolute target."""
    link = RawMember(b"link", b"/etc/passwd", unix_mode=stat.S_IFLNK | 0o777)
    return _write(path, raw_zip([link])), "points outside"


def zip_device(path: Path) -> tuple[Path, str]:
    """A character device in unix mode bits."""
    device = RawMember(b"dev/null", b"", unix_mode=stat.S_IFCHR | 0o666)
    return _write(path, raw_zip([device])), "device files"


def zip_overlap(path: Path) -> tuple[Path, str]:
    """The overlapping-entries bomb: entry b's header and data lie inside entry a's data."""
    inner_data = b"x" * 64
    inner = _local_header(b"b", 0, zlib.crc32(inner_data), 64, 64) + inner_data
    outer_name = b"a"
    inner_offset = _LOCAL.size + len(outer_name)
    body = _local_header(outer_name, 0, zlib.crc32(inner), len(inner), len(inner)) + inner
    central = _central_header(
        outer_name, 0, zlib.crc32(inner), len(inner), len(inner), 0, 0o100644
    ) + _central_header(b"b", 0, zlib.crc32(inner_data), 64, 64, inner_offset, 0o100644)
    return _write(path, body + central + _end(2, len(central), len(body))), "overlapping entries"


def zip_local_name_mismatch(path: Path) -> tuple[Path, str]:
    """A local header that names another file than the central directory does."""
    member = RawMember(b"good.txt", b"data\n", local_name=b"evil.sh\x20")
    return _write(path, raw_zip([member])), "local header"


def zip_local_size_mismatch(path: Path) -> tuple[Path, str]:
    """A local header whose size disagrees with the central directory."""
    member = RawMember(b"good.txt", b"data\n", local_size=999_999)
    return _write(path, raw_zip([member])), "local header"


def zip_lying_sizes(path: Path) -> tuple[Path, str]:
    """Both headers say 5 bytes (with the CRC of those 5), the data inflates to 1 MiB.

    The headers agree: only decoding the data (full-strength inspection, extraction)
    sees it, and extraction must stop past the declared size. Not in HOSTILE_CASES, whose
    extraction test expects nothing written: extraction refuses it part way (the
    adversarial suite pushes and deploys it).
    """
    data = b"hello" + b"A" * ((1 << 20) - 5)
    payload = _deflate(data)
    crc = zlib.crc32(b"hello")
    body = _local_header(b"small.txt", 8, crc, len(payload), 5) + payload
    central = _central_header(b"small.txt", 8, crc, len(payload), 5, 0, 0o100644)
    end = _end(1, len(central), len(body))
    return _write(path, body + central + end), "holds more data than its declared size"


@cache
def _zeros_deflated(size: int) -> bytes:
    """Deflate `size` zero bytes once per process."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


@cache
def _zip_of_zeros(size: int) -> bytes:
    """A zip of one deflated member of `size` zero bytes, built once per process."""
    payload = _zeros_deflated(size)
    crc = zlib.crc32(bytes(size))
    body = _local_header(b"zeros.bin", 8, crc, len(payload), size) + payload
    central = _central_header(b"zeros.bin", 8, crc, len(payload), size, 0, 0o100644)
    return body + central + _end(1, len(central), len(body))


def zip_ratio_bomb(path: Path) -> tuple[Path, str]:
    """32 MiB of zeros deflated into about 32 KiB: a ratio far over 500:1."""
    return _write(path, _zip_of_zeros(32 << 20)), "compression ratio"


@cache
def _many_entries_zip(count: int) -> bytes:
    """A real zip of `count` empty files, built once per process."""
    out, central = bytearray(), bytearray()
    crc = zlib.crc32(b"")
    for index in range(count):
        name = b"%x" % index
        central += _central_header(name, 0, crc, 0, 0, len(out), 0o100644)
        out += _local_header(name, 0, crc, 0, 0)
    return bytes(out + central + _end_any(count, len(central), len(out)))


def _end_any(count: int, size: int, offset: int) -> bytes:
    """An end record for any count: zip64 records when it does not fit 16 bits."""
    if count < 0xFFFF:
        return _end(count, size, offset)
    zip64_end = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, offset + size, 1)
    plain = _END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, size, offset, 0)
    return zip64_end + locator + plain


def too_many_entries_zip(path: Path, count: int = 250_001) -> tuple[Path, str]:
    """A zip with `count` entries: over the default limit of 250,000 (21 MB)."""
    return _write(path, _many_entries_zip(count)), "too many entries"


def zip_truncated(path: Path) -> tuple[Path, str]:
    """A good zip cut in half (no central directory left)."""
    data = raw_zip([RawMember(b"a.txt", b"hello " * 200, deflate=True)])
    return _write(path, data[: len(data) // 2]), "truncated or corrupt"


def _nuspec(package_id: str = HOSTILE_ID, doctype: str = "") -> bytes:
    """A small nuspec, optionally with a DOCTYPE."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}'
        '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">'
        f"<metadata><id>{package_id}</id><version>{HOSTILE_VERSION}</version>"
        "<authors>a</authors><description>d</description></metadata></package>"
    ).encode()


def nupkg_two_nuspecs(path: Path) -> tuple[Path, str]:
    """A nupkg with two root nuspecs (which one is the truth?)."""
    members = [
        RawMember(f"{HOSTILE_ID}.nuspec".encode(), _nuspec()),
        RawMember(b"Other.nuspec", _nuspec("Other")),
        RawMember(b"content/a.txt", b"a"),
    ]
    return _write(path, raw_zip(members)), "more than one .nuspec"


def nupkg_nuspec_dtd(path: Path) -> tuple[Path, str]:
    """A nupkg whose nuspec carries a DTD with an entity (billion laughs in miniature)."""
    doctype = '<!DOCTYPE package [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    members = [RawMember(f"{HOSTILE_ID}.nuspec".encode(), _nuspec(doctype=doctype))]
    return _write(path, raw_zip(members)), "DTD"


def nupkg_escaped_dotdot(path: Path) -> tuple[Path, str]:
    """A nupkg part name that is `..` once URI-unescaped, as NuGet unescapes part names."""
    members = [
        RawMember(f"{HOSTILE_ID}.nuspec".encode(), _nuspec()),
        RawMember(b"%2e%2e/evil.txt", b"evil"),
    ]
    return _write(path, raw_zip(members)), "'..' segment"


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str) -> Path:
    """Write a tar (mode 'w', 'w:gz' or 'w:bz2') from prepared headers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            info.mtime = 1_600_000_000
            if data is not None:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return path


def tar_info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    """A tar header of a given type."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


def tar_dotdot(path: Path) -> tuple[Path, str]:
    """A tar member that climbs out (tar slip)."""
    return _tar(path, [(tar_info("../evil.txt"), b"evil")], "w:gz"), "'..' segment"


def tar_absolute(path: Path) -> tuple[Path, str]:
    """An absolute tar member name."""
    return _tar(path, [(tar_info("/etc/cron.d/evil"), b"evil")], "w:gz"), "absolute path"


def tar_symlink_out(path: Path) -> tuple[Path, str]:
    """A tar symlink to an absolute path outside."""
    members = [(tar_info("link", tarfile.SYMTYPE, "/etc/passwd"), None)]
    return _tar(path, members, "w:gz"), "points outside"


def tar_symlink_chain(path: Path) -> tuple[Path, str]:
    """Two links that each look inside but escape together: a/b/up -> ../.., a/b/t -> up/../x."""
    members = [
        (tar_info("a/b/up", tarfile.SYMTYPE, "../.."), None),
        (tar_info("a/b/t", tarfile.SYMTYPE, "up/../etc"), None),
    ]
    return _tar(path, members, "w:gz"), "points outside"


def tar_write_through_symlink(path: Path) -> tuple[Path, str]:
    """A symlink to a folder followed by a file below the link (writes through the link)."""
    members = [
        (tar_info("dir", tarfile.SYMTYPE, "."), None),
        (tar_info("dir/evil.txt"), b"evil"),
    ]
    return _tar(path, members, "w:gz"), "not a directory"


def tar_hardlink_later(path: Path) -> tuple[Path, str]:
    """A hard link to a member that only comes later."""
    members = [
        (tar_info("link", tarfile.LNKTYPE, "later.txt"), None),
        (tar_info("later.txt"), b"x"),
    ]
    return _tar(path, members, "w:gz"), "hard link"


def tar_hardlink_missing(path: Path) -> tuple[Path, str]:
    """A hard link to a member that does not exist."""
    return _tar(
        path, [(tar_info("link", tarfile.LNKTYPE, "nowhere.txt"), None)], "w:gz"
    ), "hard link"


def tar_hardlink_outside(path: Path) -> tuple[Path, str]:
    """A hard link to a file outside the archive (/etc/passwd)."""
    members = [(tar_info("link", tarfile.LNKTYPE, "/etc/passwd"), None)]
    return _tar(path, members, "w:gz"), "hard link"


def tar_device(path: Path) -> tuple[Path, str]:
    """A character device member."""
    info = tar_info("dev/null", tarfile.CHRTYPE)
    info.devmajor, info.devminor = 1, 3
    return _tar(path, [(info, None)], "w:gz"), "device files"


def tar_fifo(path: Path) -> tuple[Path, str]:
    """A FIFO member."""
    return _tar(path, [(tar_info("pipe", tarfile.FIFOTYPE), None)], "w:gz"), "FIFOs"


def tar_duplicate(path: Path) -> tuple[Path, str]:
    """The same name twice (the second would silently replace the first)."""
    members = [(tar_info("app.cfg"), b"one"), (tar_info("app.cfg"), b"two")]
    return _tar(path, members, "w:gz"), "duplicate name"


@cache
def _tar_gz_of_zeros(size: int) -> bytes:
    """A tar.gz of one member of `size` zero bytes, built once per process."""
    header = tar_info("zeros.bin")
    header.size = size
    header.mtime = 1_600_000_000
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(header.tobuf(tarfile.PAX_FORMAT))]
    parts += [packer.compress(bytes(1 << 20)) for _ in range(size >> 20)]
    parts.append(packer.compress(bytes(1024)))  # end-of-archive blocks
    return b"".join(parts) + packer.flush()


def tar_ratio_bomb(path: Path) -> tuple[Path, str]:
    """A tar.gz holding 32 MiB of zeros: about 1000:1."""
    return _write(path, _tar_gz_of_zeros(32 << 20)), "compression ratio"


def tar_truncated(path: Path) -> tuple[Path, str]:
    """A tar.gz cut in the middle of a member's data."""
    data = bytes(range(256)) * 400
    full = _tar(path, [(tar_info("a.bin"), data), (tar_info("b.bin"), data)], "w:gz").read_bytes()
    return _write(path, full[: len(full) // 2]), "truncated or corrupt"


def tar_damaged_header(path: Path) -> tuple[Path, str]:
    """A tar.gz whose second header fails its checksum (tarfile alone would stop there quietly,
    deploying half a package)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in ("a.txt", "b.txt"):
            info = tar_info(name)
            info.size = 3
            archive.addfile(info, io.BytesIO(b"abc"))
    data = bytearray(buffer.getvalue())
    data[1024 + 1] ^= 0x01  # the name of the second header: its checksum no longer matches
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return _write(path, packer.compress(bytes(data)) + packer.flush()), "invalid tar header"


def tar_huge_pax_header(path: Path) -> tuple[Path, str]:
    """A pax extended header declaring 4 GiB, which tarfile would read into memory at once."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 4 << 30
    block = header.tobuf(tarfile.USTAR_FORMAT)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = packer.compress(block + b"x" * 4096) + packer.flush()
    return _write(path, data), "extended header"


def tar_gz_bad_crc(path: Path) -> tuple[Path, str]:
    """A tar.gz whose gzip trailer CRC does not match the data."""
    good = _tar(path, [(tar_info("a.txt"), b"hello\n")], "w:gz").read_bytes()
    data = bytearray(good)
    data[-8] ^= 0xFF  # first byte of the CRC32 in the trailer
    return _write(path, bytes(data)), "truncated or corrupt"


@dataclass(frozen=True)
class HostileCase:
    """One hostile archive: its name, file extension and builder."""

    name: str
    extension: str
    build: Callable[[Path], tuple[Path, str]]

    def __call__(self, path: Path) -> tuple[Path, str]:
        """Write the archive to `path`; return (path, expected message fragment)."""
        return self.build(path)

    def write(
        self, directory: Path, package_id: str = HOSTILE_ID, version: str = HOSTILE_VERSION
    ) -> tuple[Path, str]:
        """Write the archive as `{directory}/{package_id}.{version}.{extension}`."""
        return self.build(Path(directory) / f"{package_id}.{version}.{self.extension}")


HOSTILE_CASES: list[HostileCase] = [
    HostileCase(builder.__name__, extension, builder)
    for extension, builder in [
        ("zip", zip_dotdot),
        ("zip", zip_deep_dotdot),
        ("zip", zip_absolute),
        ("zip", zip_drive_letter),
        ("zip", zip_backslash),
        ("zip", zip_nul),
        ("zip", zip_control),
        ("zip", zip_empty_name),
        ("zip", zip_duplicate),
        ("zip", zip_file_and_dir),
        ("zip", zip_below_file),
        ("zip", zip_symlink_out),
        ("zip", zip_symlink_absolute),
        ("zip", zip_device),
        ("zip", zip_overlap),
        ("zip", zip_local_name_mismatch),
        ("zip", zip_local_size_mismatch),
        ("zip", zip_ratio_bomb),
        ("zip", too_many_entries_zip),
        ("zip", zip_truncated),
        ("nupkg", nupkg_two_nuspecs),
        ("nupkg", nupkg_nuspec_dtd),
        ("nupkg", nupkg_escaped_dotdot),
        ("tar.gz", tar_dotdot),
        ("tar.gz", tar_absolute),
        ("tar.gz", tar_symlink_out),
        ("tar.gz", tar_symlink_chain),
        ("tar.gz", tar_write_through_symlink),
        ("tar.gz", tar_hardlink_later),
        ("tar.gz", tar_hardlink_missing),
        ("tar.gz", tar_hardlink_outside),
        ("tar.gz", tar_device),
        ("tar.gz", tar_fifo),
        ("tar.gz", tar_duplicate),
        ("tar.gz", tar_ratio_bomb),
        ("tar.gz", tar_truncated),
        ("tar.gz", tar_damaged_header),
        ("tar.gz", tar_gz_bad_crc),
        ("tar.gz", tar_huge_pax_header),
    ]
]
"""Every hostile archive; loop over it to check each one is refused."""
