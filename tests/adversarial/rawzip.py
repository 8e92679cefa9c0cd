"""A zip writer whose every header field can lie: the adversarial corpus's zip primitive.

tests/helpers/hostile.py's `raw_zip` lies about names and one size; these members can
also lie about the CRC, each size, the method, flags, version, offset and data
descriptor, in the central directory and the local header apart.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_DATE = (2020 - 1980) << 9 | 1 << 5 | 1
UTF8 = 0x800
DESCRIPTOR = 0x08


@dataclass
class Member:
    """One entry: the truth is computed from `data`; `central` and `local` override fields.

    Field names: name (bytes), method, crc, csize, usize, flags, version, offset (central
    only), extra (bytes). `payload` replaces the stored bytes; `descriptor` appends a data
    descriptor (crc, csize, usize) after them.
    """

    name: bytes
    data: bytes = b""
    deflate: bool = False
    mode: int | None = 0o100644
    payload: bytes | None = None
    central: dict[str, object] = field(default_factory=dict)
    local: dict[str, object] = field(default_factory=dict)
    descriptor: tuple[int, int, int] | None = None


def deflate(data: bytes) -> bytes:
    """Raw deflate, as zip stores it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def build(members: list[Member]) -> bytes:
    """Write the members, their central directory and an end record."""
    out, central = bytearray(), bytearray()
    for member in members:
        payload = member.payload
        if payload is None:
            payload = deflate(member.data) if member.deflate else member.data
        truth: dict[str, object] = {
            "name": member.name,
            "method": 8 if member.deflate else 0,
            "crc": zlib.crc32(member.data),
            "csize": len(payload),
            "usize": len(member.data),
            "flags": UTF8 | (DESCRIPTOR if member.descriptor else 0),
            "version": 20,
            "extra": b"",
            "offset": len(out),
        }
        local = {**truth, **member.local}
        if member.descriptor and "crc" not in member.local:
            local.update(crc=0, csize=0, usize=0)
        out += _local(local) + payload
        if member.descriptor:
            out += struct.pack("<4sIII", b"PK\x07\x08", *member.descriptor)
        central += _central({**truth, **member.central}, member.mode)
    count = len(members)
    end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), len(out), 0)
    return bytes(out + central + end)


def _local(f: dict[str, object]) -> bytes:
    name, extra = f["name"], f["extra"]
    assert isinstance(name, bytes) and isinstance(extra, bytes)
    fields = (f["version"], f["flags"], f["method"], 0, _DATE, f["crc"], f["csize"], f["usize"])
    return _LOCAL.pack(b"PK\x03\x04", *fields, len(name), len(extra)) + name + extra


def _central(f: dict[str, object], mode: int | None) -> bytes:
    name, extra = f["name"], f["extra"]
    assert isinstance(name, bytes) and isinstance(extra, bytes)
    made_by = (3 << 8 | 20) if mode is not None else 20
    fields = (made_by, f["version"], f["flags"], f["method"], 0, _DATE, f["crc"], f["csize"])
    return (
        _CENTRAL.pack(
            b"PK\x01\x02",
            *fields,
            f["usize"],
            len(name),
            len(extra),
            0,
            0,
            0,
            (mode or 0) << 16,
            f["offset"],
        )  # fmt: skip
        + name
        + extra
    )


def zip64_extra(*values: int) -> bytes:
    """A zip64 extended information extra field holding the given 8-byte values."""
    return struct.pack("<HH", 1, 8 * len(values)) + b"".join(struct.pack("<Q", v) for v in values)
