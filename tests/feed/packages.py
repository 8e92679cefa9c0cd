"""Small real packages for feed tests: zip, tar.gz and nupkg built in the test's tmp_path."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

FILES = {"Deploy.sh": b"#!/bin/sh\necho deployed\n", "app/readme.txt": b"hello feed\n"}


def make_zip(folder: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    """Write a zip package `name` with the given files."""
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in (files or FILES).items():
            archive.writestr(entry, data)
    return path


def make_targz(folder: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    """Write a tar.gz package `name` with the given files."""
    path = folder / name
    with tarfile.open(path, "w:gz") as archive:
        for entry, data in (files or FILES).items():
            info = tarfile.TarInfo(entry)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


NUSPEC = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>{id}</id>
    <version>{version}</version>
    <title>{id} title</title>
    <authors>Ann, Bob</authors>
    <description>The {id} package.</description>
    <summary>Short summary.</summary>
    <releaseNotes>Fixed things.</releaseNotes>
    <tags>web api</tags>
  </metadata>
</package>
"""

CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="txt" ContentType="application/octet" />
</Types>
"""


def make_nupkg(folder: Path, name: str, package_id: str, version: str) -> Path:
    """Write a nupkg (nuspec at the root plus OPC parts) under any file name."""
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr(f"{package_id}.nuspec", NUSPEC.format(id=package_id, version=version))
        archive.writestr("content/readme.txt", b"hello nuget\n")
    return path


def digests(path: Path) -> dict[str, str]:
    """Return sha1, sha256 and sha512 of a file, as the feed reports them."""
    data = path.read_bytes()
    return {
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha512": hashlib.sha512(data).hexdigest(),
    }
