"""Names that one file system keeps apart and another folds together (case, Unicode form).

`mpiCC` beside `mpicc` is harmless on Linux and a silent overwrite on a case-insensitive
target, so a deploy refuses such names only where `folds_names` says the release folder
folds them. Exact duplicates are the archive validator's job, refused everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from packer.model.errors import UnsafeArchive

_Node = dict[str, tuple[str, str, "_Node"]]  # folded segment -> (spelling, first name, children)


def fold(segment: str) -> str:
    """Return the form a folding file system compares: NFC, case-folded, NFC again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", segment).casefold())


def folded_collision(names: Iterable[str]) -> tuple[str, str] | None:
    """Return the first two names whose paths differ but fold to the same path, or None.

    Compares folder by folder (a trie keyed by folded segments), so `App/a` and `app/b`
    collide too: their folders would merge. Linear in the number of path segments.
    """
    root: _Node = {}
    for name in names:
        node = root
        for segment in name.split("/"):
            key = fold(segment)
            found = node.get(key)
            if found is None:
                found = node[key] = (segment, name, {})
            elif found[0] != segment:
                return found[1], name
            node = found[2]
    return None


def refuse_folded_names(names: Iterable[str], package: str, directory: str) -> None:
    """Refuse a package holding two names the destination would fold into one."""
    collision = folded_collision(names)
    if collision is not None:
        first, second = collision
        raise UnsafeArchive(
            f"{package}: entries {first!r} and {second!r} would be the same file in "
            f"{directory}, whose file system ignores case or Unicode form; "
            "rename one of them, or deploy to a case-sensitive file system"
        )
