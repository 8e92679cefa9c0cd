"""Small valid packages the fuzzers mutate: one per format the readers take."""

from __future__ import annotations

import io
import tarfile
from functools import cache

from tests.adversarial.corpus_zip import nuspec
from tests.adversarial.rawzip import Member, build

FORMATS = ("zip", "nupkg", "tar", "tar.gz", "tar.bz2")


@cache
def seed(fmt: str) -> bytes:
    """A valid archive of `fmt` with a folder, files (stored and deflated) and a symlink."""
    if fmt in ("zip", "nupkg"):
        members = [
            Member(b"app/", b"", mode=0o40755),
            Member(b"app/run.sh", b"#!/bin/sh\necho hi\n" * 4, deflate=True, mode=0o100755),
            Member(b"app/data.txt", b"plain data\n"),
            Member(b"latest", b"app/run.sh", mode=0o120777),
        ]
        if fmt == "nupkg":
            members.insert(0, nuspec("Fuzz"))
        return build(members)
    buffer = io.BytesIO()
    mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2"}[fmt]
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:
        for name, data in (("app/run.sh", b"#!/bin/sh\necho hi\n"), ("app/data.txt", b"x" * 300)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("latest")
        link.type = tarfile.SYMTYPE
        link.linkname = "app/run.sh"
        archive.addfile(link)
    return buffer.getvalue()
