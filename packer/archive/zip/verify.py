"""Full-strength checks of a zip's data, as the feed runs them on push.

Decoding every entry once (and throwing the bytes away) proves each CRC-32 and each real
inflated size, so the feed never stores a package that every target would refuse. The
entries are decoded by a few threads (ISA-L releases the GIL); a refusal names the first
failing entry in archive order, as a serial loop would.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

from packer.archive.pool import OrderedPool, default_workers
from packer.archive.rules import refuse as refuse_entry
from packer.archive.zip.data import Member, member_chunks
from packer.archive.zip.directory import CentralDirectory

BATCH_FILES = 64
BATCH_BYTES = 8 << 20
BACKLOG_PER_WORKER = 4
_DESCRIPTOR_MAGIC = b"PK\x07\x08"
_DESCRIPTOR_FLAG = 0x08


def verify_members(fd: int, path: Path, members: Iterable[Member]) -> None:
    """Decode every member of the zip open as `fd`; raise the first refusal in archive order."""
    workers = default_workers()
    with OrderedPool(workers, workers * BACKLOG_PER_WORKER) as pool:
        batch: list[Member] = []
        size = 0
        for member in members:
            batch.append(member)
            size += member.size
            if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
                pool.submit(_decode_batch, fd, path, batch)
                batch, size = [], 0
        if batch:
            pool.submit(_decode_batch, fd, path, batch)
        pool.wait()


def _decode_batch(fd: int, path: Path, batch: list[Member]) -> None:
    """Decode some members, keeping nothing (runs on a pool thread)."""
    for member in batch:
        for _chunk in member_chunks(fd, path, member):
            pass


def check_descriptors(fd: int, found: CentralDirectory) -> None:
    """Refuse a data descriptor whose CRC or sizes disagree with the central directory.

    An entry written with flag bit 3 has zeros in its local header and the truth after its
    data (with or without the optional signature, in 32-bit or zip64 form); the central
    record must say the same as one of those forms.
    """
    for index, flags in enumerate(found.flags):
        if not flags & _DESCRIPTOR_FLAG:
            continue
        at = found.starts[index] + found.csizes[index]
        block = os.pread(fd, 28, at)
        body = block[4:] if block[:4] == _DESCRIPTOR_MAGIC else block
        expected = (found.crcs[index], found.csizes[index], found.usizes[index])
        if _descriptor_says(body) != expected and _descriptor_says(body, wide=True) != expected:
            raise refuse_entry(
                found.names[index],
                "its data descriptor's CRC or sizes disagree with the central directory",
            )


def _descriptor_says(body: bytes, wide: bool = False) -> tuple[int, int, int] | None:
    """Read (crc, compressed, uncompressed) from a descriptor body; None when too short."""
    layout = struct.Struct("<IQQ" if wide else "<III")
    if len(body) < layout.size:
        return None
    return layout.unpack_from(body)
