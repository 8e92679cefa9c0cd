"""What a stored package carries for its deployment: root deploy scripts and `octopack.toml`.

Zips (and nupkgs) are read by a few byte-range reads of the central directory and of the
manifest entry (as `nuspecs` reads a nuspec), never the whole blob. Tars have no directory,
so they are streamed, and only up to `TAR_SCAN_LIMIT` bytes. A blob never changes (its
key holds its SHA-256), so answers are kept per blob key in a small per-process cache.
"""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from feed.core.nuspecs import Opener, RangeFile
from feed.core.records import PackageRecord
from packer.model.conventions import script_step
from packer.model.errors import BadInput
from packer.model.formats import archive_format
from packer.model.manifest import MANIFEST_NAME, Manifest, parse_manifest

TAR_SCAN_LIMIT = 256 * 1024 * 1024  # larger tars are not streamed for a page view
CACHE_ENTRIES = 512


@dataclass(frozen=True)
class PackageContents:
    """The deploy scripts (paths as packed) and the parsed process of one stored version.

    `manifest_text` is the file as packed (None when absent); `problem` says why the
    contents could not be read, or what is wrong with the manifest.
    """

    scripts: tuple[str, ...] = ()
    manifest: Manifest | None = None
    manifest_text: str | None = None
    problem: str | None = None


_cache: OrderedDict[str, PackageContents] = OrderedDict()
_cache_lock = threading.Lock()


def read_contents(
    record: PackageRecord, opener: Opener, max_manifest_bytes: int
) -> PackageContents:
    """Return the scripts and process a stored version carries (cached per blob)."""
    with _cache_lock:
        if record.blob in _cache:
            _cache.move_to_end(record.blob)
            return _cache[record.blob]
    contents = _read(record, opener, max_manifest_bytes)
    with _cache_lock:
        _cache[record.blob] = contents
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return contents


def _read(record: PackageRecord, opener: Opener, max_bytes: int) -> PackageContents:
    """Read names and the manifest by the archive's family; say why when that fails."""
    try:
        family = archive_format(record.format).family
    except BadInput:
        return PackageContents(problem=f"format {record.format!r} is not known to this feed")
    try:
        if family == "zip":
            names, text = _read_zip(record, opener, max_bytes)
        elif record.size > TAR_SCAN_LIMIT:
            return PackageContents(
                problem=f"not read: tar packages over {TAR_SCAN_LIMIT // 2**20} MiB are not "
                "scanned for a page"
            )
        else:
            names, text = _read_tar(record, opener, max_bytes)
    except _TooLarge:
        return PackageContents(problem=f"{MANIFEST_NAME} is over {max_bytes} bytes")
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, NotImplementedError) as error:
        return PackageContents(problem=f"the archive could not be read: {error}")
    return _contents(names, text)


class _TooLarge(Exception):
    """The manifest is larger than the feed reads."""


def _read_zip(
    record: PackageRecord, opener: Opener, max_bytes: int
) -> tuple[list[str], bytes | None]:
    """Return entry names and the root manifest's bytes of a stored zip, by ranged reads."""
    with (
        io.BufferedReader(RangeFile(record.size, opener), 64 * 1024) as source,
        zipfile.ZipFile(source) as archive,
    ):
        names = [info.filename for info in archive.infolist() if not info.is_dir()]
        for info in archive.infolist():
            if info.filename == MANIFEST_NAME:
                if info.file_size > max_bytes:
                    raise _TooLarge()
                return names, archive.read(info)
    return names, None


def _read_tar(
    record: PackageRecord, opener: Opener, max_bytes: int
) -> tuple[list[str], bytes | None]:
    """Stream a stored tar (any compression) for its names and root manifest."""
    names: list[str] = []
    text = None
    with opener(0, record.size - 1) as stream, tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if not member.isfile():
                continue
            names.append(name)
            if name == MANIFEST_NAME:
                if member.size > max_bytes:
                    raise _TooLarge()
                extracted = tar.extractfile(member)
                text = extracted.read() if extracted is not None else None
    return names, text


def _contents(names: Iterable[str], raw: bytes | None) -> PackageContents:
    """Parse the manifest and pick the scripts that run: at the root or in its scripts folder."""
    manifest, text, problem = None, None, None
    if raw is not None:
        text = raw.decode("utf-8", errors="replace")
        try:
            manifest = parse_manifest(text)
        except BadInput as error:
            problem = str(error)
    folder = (manifest.scripts or "").strip("/") if manifest is not None else ""
    scripts = sorted(
        name
        for name in names
        if script_step(name) is not None and name.rpartition("/")[0] == folder
    )
    return PackageContents(tuple(scripts), manifest, text, problem)
