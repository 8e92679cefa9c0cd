"""tar.gz builders beyond tests/helpers/hostile.py: metadata bombs, pax lies, odd links.

Each builder writes `path` and returns the fragment every refusal must contain.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import Path

from tests.helpers.hostile import tar_info


def _gzip(path: Path, raw: bytes) -> Path:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(packer.compress(raw) + packer.flush())
    return path


def _tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data in members:
            info.mtime = 1_600_000_000
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _member(info: tarfile.TarInfo, fmt: int) -> bytes:
    """One empty member's header block, without the end-of-archive blocks."""
    info.mtime = 1_600_000_000
    return info.tobuf(fmt)


def _pax_block(records: dict[str, str]) -> bytes:
    """One pax extended header (type x) carrying `records`, padded to blocks."""
    body = b""
    for key, value in records.items():
        line = f" {key}={value}\n".encode()
        size = len(line) + len(str(len(line)))
        size = len(line) + len(str(size))
        body += str(size).encode() + line
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(body)
    return header.tobuf(tarfile.USTAR_FORMAT) + body + bytes(-len(body) % 512)


def pax_bomb(path: Path) -> str:
    """80 members, each behind a pax header of almost 1 MiB: 80 MB of metadata in ~80 KB."""
    raw = b""
    filler = "x" * ((1 << 20) - 100)
    for index in range(80):
        raw += _pax_block({"comment": filler})
        raw += _member(tar_info(f"f{index}.txt"), tarfile.USTAR_FORMAT)
    _gzip(path, raw + bytes(1024))
    return "compression ratio"


def pax_chain(path: Path) -> str:
    """Twenty pax headers in a row before one member (each read by recursion in tarfile)."""
    raw = b"".join(_pax_block({"comment": "y"}) for _ in range(20))
    raw += _tar_bytes([(tar_info("a.txt"), b"a")], tarfile.USTAR_FORMAT)
    _gzip(path, raw)
    return "extended headers in a row"


def gnu_longname_bomb(path: Path) -> str:
    """GNU long-name headers ('L') of almost 1 MiB each (a short name, then NUL padding)."""
    raw = b""
    for index in range(80):
        body = b"long%d.txt" % index + bytes((1 << 20) - 600)
        header = tarfile.TarInfo("././@LongLink")
        header.type = tarfile.GNUTYPE_LONGNAME
        header.size = len(body)
        raw += header.tobuf(tarfile.GNU_FORMAT) + body + bytes(-len(body) % 512)
        raw += _member(tar_info(f"x{index}"), tarfile.GNU_FORMAT)
    _gzip(path, raw + bytes(1024))
    return "compression ratio"


def pax_path_dotdot(path: Path) -> str:
    """An innocent ustar name whose pax `path` record climbs out."""
    raw = _pax_block({"path": "../../evil.txt"})
    raw += _tar_bytes([(tar_info("innocent.txt"), b"evil")], tarfile.USTAR_FORMAT)
    _gzip(path, raw)
    return "'..' segment"


def pax_linkpath_escape(path: Path) -> str:
    """A symlink whose pax `linkpath` record points outside."""
    raw = _pax_block({"linkpath": "../../../etc/shadow"})
    raw += _tar_bytes([(tar_info("link", tarfile.SYMTYPE, "inside"), None)], tarfile.USTAR_FORMAT)
    _gzip(path, raw)
    return "points outside"


def pax_nul_name(path: Path) -> str:
    raw = _pax_block({"path": "evil\x00.txt"})
    raw += _tar_bytes([(tar_info("innocent.txt"), b"x")], tarfile.USTAR_FORMAT)
    _gzip(path, raw)
    return "NUL character"


def block_device(path: Path) -> str:
    info = tar_info("sda", tarfile.BLKTYPE)
    _gzip(path, _tar_bytes([(info, None)], tarfile.PAX_FORMAT))
    return "device files"


def sparse_member(path: Path) -> str:
    info = tar_info("holes.img", tarfile.GNUTYPE_SPARSE)
    _gzip(path, info.tobuf(tarfile.GNU_FORMAT) + bytes(1024))
    return "GNU sparse member"


def trailing_garbage(path: Path) -> str:
    raw = _tar_bytes([(tar_info("a.txt"), b"a")], tarfile.PAX_FORMAT)
    _gzip(path, raw + b"\x01" * (2 << 20))
    return "follow the end of the tar archive"


def not_gzip(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x1f\x8c" + bytes(200))
    return "not a valid tar.gz archive"


def hardlink_to_dir(path: Path) -> str:
    members = [
        (tar_info("dir", tarfile.DIRTYPE), None),
        (tar_info("hl", tarfile.LNKTYPE, "dir"), None),
    ]
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))
    return "not an earlier regular file"


def hardlink_to_symlink(path: Path) -> str:
    members = [
        (tar_info("a.txt"), b"a"),
        (tar_info("sl", tarfile.SYMTYPE, "a.txt"), None),
        (tar_info("hl", tarfile.LNKTYPE, "sl"), None),
    ]
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))
    return "not an earlier regular file"


def dir_then_file(path: Path) -> str:
    members = [(tar_info("conf", tarfile.DIRTYPE), None), (tar_info("conf"), b"x")]
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))
    return "duplicate name"


def too_deep(path: Path) -> str:
    _gzip(path, _tar_bytes([(tar_info("d/" * 2500 + "f"), b"x")], tarfile.PAX_FORMAT))
    return "path is longer than 4095 bytes"


def long_segment(path: Path) -> str:
    _gzip(path, _tar_bytes([(tar_info("a" * 300), b"x")], tarfile.PAX_FORMAT))
    return "longer than 255 bytes"


def symlink_loop(path: Path) -> str:
    """Two links pointing at each other: resolution must stop (and refuse), not spin."""
    members = [
        (tar_info("a", tarfile.SYMTYPE, "b/.."), None),
        (tar_info("b", tarfile.SYMTYPE, "a/.."), None),
    ]
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))
    return "points outside"


def tar_case_collision(path: Path) -> None:
    """`Readme` and `README`: two files on Linux, one on Windows or macOS."""
    members = [(tar_info("Readme"), b"one"), (tar_info("README"), b"two")]
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))


def tar_special_modes(path: Path) -> None:
    """setuid, setgid, sticky and world-writable bits, as foreign tools may write them."""
    members = []
    for name, mode, kind in (
        ("bin", 0o1777, tarfile.DIRTYPE),
        ("bin/suid.sh", 0o4777, tarfile.REGTYPE),
        ("bin/sgid", 0o2755, tarfile.REGTYPE),
        ("shared.txt", 0o666, tarfile.REGTYPE),
        ("private.key", 0o600, tarfile.REGTYPE),
    ):
        info = tar_info(name, kind)
        info.mode = mode
        members.append((info, None if kind == tarfile.DIRTYPE else b"x\n"))
    _gzip(path, _tar_bytes(members, tarfile.PAX_FORMAT))
