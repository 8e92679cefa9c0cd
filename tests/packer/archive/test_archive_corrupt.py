"""Damaged archives (cut short, bytes flipped) give our errors, never a raw traceback."""

from __future__ import annotations

import io
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from packer.archive.validator import extract_archive, inspect_archive
from packer.model.errors import PackerError


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a/one.txt", b"one " * 50)
        archive.writestr("a/two.bin", bytes(range(256)))
        archive.writestr("three.txt", b"three\n", zipfile.ZIP_STORED)
    return buffer.getvalue()


def _tar_bytes(mode: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in (("a/one.txt", b"one " * 50), ("a/two.bin", bytes(range(256)))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


SOURCES = {
    "zip": _zip_bytes,
    "tar": lambda: _tar_bytes("w"),
    "tar.gz": lambda: _tar_bytes("w:gz"),
    "tar.bz2": lambda: _tar_bytes("w:bz2"),
}


def _variants(data: bytes, seed: int) -> list[bytes]:
    """Cut the archive at many offsets and flip single bytes at random places."""
    rng = random.Random(seed)
    meaningful = min(len(data), 2048)  # a plain tar's records end in padding after 2 KiB
    cuts = sorted({0, 1, meaningful - 1, *rng.sample(range(meaningful), 25)})
    variants = [data[:cut] for cut in cuts]
    for _ in range(60):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        variants.append(bytes(flipped))
    return variants


@pytest.mark.parametrize("fmt", sorted(SOURCES))
def test_damaged_archives_fail_cleanly(fmt: str, tmp_path: Path) -> None:
    good = SOURCES[fmt]()
    refused = 0
    for index, variant in enumerate(_variants(good, seed=len(fmt))):
        path = tmp_path / f"v{index}.{fmt}"
        path.write_bytes(variant)
        out = tmp_path / f"out{index}"
        try:
            extract_archive(path, None, out)
        except PackerError as error:
            refused += 1
            assert str(error), "every refusal says why"
            continue
        # Accepted: the damage hit something that does not matter (a timestamp, a comment),
        # or, in a plain tar, file data, which no checksum covers.
        assert sorted(p.name for p in (out / "a").iterdir()) == ["one.txt", "two.bin"]
        if fmt != "tar":
            assert (out / "a/two.bin").read_bytes() == bytes(range(256))
            assert (out / "a/one.txt").read_bytes() == b"one " * 50
    assert refused >= 25  # every archive cut short, at least
    with pytest.raises(PackerError):
        inspect_archive(_write(tmp_path / f"cut.{fmt}", good[: min(len(good), 2048) // 2]))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
