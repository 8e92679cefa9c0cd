"""Names that only a folding file system confuses: probe the destination, refuse there.

A package may hold `mpiCC` beside `mpicc`: two files on Linux, one on Windows and on
macOS (which also treats NFC and NFD spellings of a name as one). Inspection records such
pairs as NAME_COLLISION warnings; a target probes its own file system once per deploy and
refuses them only where the file system would fold them together.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata

from packer.archive.rules import ArchiveInfo
from packer.model.errors import UnsafeArchive

_PROBE_PREFIX = ".octopack-fold-probe-"
_PROBE_STEM = "\u00e9"  # é: precomposed (NFC) here; its NFD twin is e + combining acute


def folds_names(directory: str | os.PathLike[str]) -> bool:
    """Tell whether `directory`'s file system treats names equal after case folding or
    Unicode normalisation as one name (a probe file is made and removed)."""
    fd, path = tempfile.mkstemp(prefix=_PROBE_PREFIX, suffix=f"-aZ{_PROBE_STEM}", dir=directory)
    os.close(fd)
    try:
        head, name = os.path.split(path)
        twins = (name.swapcase(), unicodedata.normalize("NFD", name))
        return any(_same_file(path, os.path.join(head, twin)) for twin in twins)
    finally:
        os.unlink(path)


def _same_file(path: str, twin: str) -> bool:
    """True when `twin` names the very file `path` names."""
    try:
        return os.path.samefile(path, twin)
    except (OSError, ValueError):
        return False


def refuse_collisions(info: ArchiveInfo) -> None:
    """Refuse an archive holding names that a folding destination would merge."""
    collisions = info.collisions
    if not collisions:
        return
    first, second = collisions[0].names
    more = len(collisions) - 1
    also = f" ({more} more such pair{'s' if more > 1 else ''} listed)" if more else ""
    raise UnsafeArchive(
        f"refusing entry {second!r}: its name equals {first!r} on this file system, which "
        f"folds case or Unicode spellings together{also}"
    )
