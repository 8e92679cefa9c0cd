"""The adversarial corpus: every hostile case, and the odd-but-allowed ones, in one list.

`CASES` holds the first-wave corpus (tests/helpers/hostile.py) plus the builders of
corpus_zip.py and corpus_tar.py. A case with a `fragment` must be refused, with that text
in the message, by every push endpoint and by `deploy --file`; a case without one must
be accepted, and `check` looks at what deploy extracted.
"""

from __future__ import annotations

import inspect
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.adversarial import corpus_tar as tar
from tests.adversarial import corpus_zip as z
from tests.adversarial.rawzip import Member, build
from tests.helpers.hostile import HOSTILE_CASES, zip_lying_sizes

VERSION = "1.0.0"


@dataclass(frozen=True)
class Case:
    """One archive: how to write it as `{package_id}.1.0.0.{extension}`, and what must happen."""

    name: str
    extension: str  # zip | nupkg | tar.gz
    write_to: Callable[[Path, str], str | None]  # (path, package_id) -> refusal fragment
    check: Callable[[Path], None] | None = None  # accepted cases: look at the release

    @property
    def identity(self) -> bool:
        """True when the nuspec's id or version is the attack: the archive itself is sound,
        so the feed's and the target's identity checks refuse it, not the validator."""
        return self.name.startswith(("nupkg_id_", "nupkg_version_"))

    def write(self, directory: Path, package_id: str) -> tuple[Path, str | None]:
        """Write the archive into `directory`; return its path and the refusal fragment."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{package_id}.{VERSION}.{self.extension}"
        return path, self.write_to(path, package_id)


def _plain(builder: Callable[[Path], str | None]) -> Callable[[Path, str], str | None]:
    """Adapt a builder that takes only the path (its package id is fixed or irrelevant)."""
    return lambda path, _package_id: builder(path)


def _hostile(case) -> Case:  # type: ignore[no-untyped-def]
    """Adapt a first-wave case of tests/helpers/hostile.py."""
    return Case(case.name, case.extension, lambda path, _id: case.build(path)[1])


def _modes(release: Path) -> dict[str, int]:
    return {
        p.relative_to(release).as_posix(): stat.S_IMODE(p.lstat().st_mode)
        for p in release.rglob("*")
    }


def _check_special_modes(release: Path) -> None:
    """No setuid, setgid, sticky; no group or other write; owner read and write kept."""
    assert _modes(release) == {
        "bin": 0o755,
        "bin/suid.sh": 0o755,
        "bin/sgid": 0o755,
        "shared.txt": 0o644,
        "private.key": 0o600,
    }


def _check_zip_modes(release: Path) -> None:
    assert _modes(release) == {"run.sh": 0o755, "open.txt": 0o644, "dir": 0o755}


def _check_two_files(*names: str) -> Callable[[Path], None]:
    def check(release: Path) -> None:
        found = {p.name for p in release.iterdir()} - {"Hostile.nuspec"}
        assert set(names) <= found, found

    return check


def _zip_special_modes(path: Path, package_id: str) -> None:
    members = [
        Member(b"run.sh", b"#!/bin/sh\n", mode=stat.S_IFREG | 0o6777),
        Member(b"open.txt", b"x", mode=stat.S_IFREG | 0o666),
        Member(b"dir/", b"", mode=stat.S_IFDIR | 0o1777),
    ]
    path.write_bytes(build(members))


def _nupkg_case_collision(path: Path, package_id: str) -> None:
    members = [z.nuspec(package_id), Member(b"lib/App.dll", b"1"), Member(b"lib/app.dll", b"2")]
    path.write_bytes(build(members))


def _nupkg_nfc_collision(path: Path, package_id: str) -> None:
    nfc, nfd = "caf\u00e9.txt".encode(), "cafe\u0301.txt".encode()
    path.write_bytes(build([z.nuspec(package_id), Member(nfc, b"nfc"), Member(nfd, b"nfd")]))


def _zip_nfkc_collision(path: Path, package_id: str) -> None:
    """`ﬁle.txt` (with the fi ligature) and `file.txt`: equal after NFKC."""
    path.write_bytes(build([Member("\ufb01le.txt".encode(), b"1"), Member(b"file.txt", b"2")]))


def _nupkg_deep(path: Path, package_id: str) -> None:
    """200 nested folders: deep, but well within what every target opens."""
    members = [z.nuspec(package_id), Member(b"d/" * 200 + b"leaf.txt", b"deep\n")]
    path.write_bytes(build(members))


def _check_deep(release: Path) -> None:
    assert (release / ("d/" * 200 + "leaf.txt")).read_bytes() == b"deep\n"


def _new_cases() -> list[Case]:
    """The builders of corpus_zip and corpus_tar, by module order."""
    found = []
    for module, extension in ((z, "zip"), (tar, "tar.gz")):
        for name, builder in vars(module).items():
            if not inspect.isfunction(builder) or builder.__module__ != module.__name__:
                continue
            if name.startswith("_") or name in (
                "nuspec",
                "tar_case_collision",
                "tar_special_modes",
            ):
                continue
            params = len(inspect.signature(builder).parameters)
            kind = "nupkg" if name.startswith("nupkg_") or name == "crc_nupkg" else extension
            write = builder if params == 2 else _plain(builder)
            label = name if name.startswith("nupkg") else f"{extension.split('.')[0]}_{name}"
            found.append(Case(label, kind, write))
    return found


REFUSED: list[Case] = (
    [_hostile(case) for case in HOSTILE_CASES]
    + [Case("zip_lying_sizes", "zip", lambda path, _id: zip_lying_sizes(path)[1])]
    + _new_cases()
)

ACCEPTED: list[Case] = [
    Case(
        "tar_case_collision",
        "tar.gz",
        _plain(tar.tar_case_collision),
        _check_two_files("Readme", "README"),
    ),
    Case("tar_special_modes", "tar.gz", _plain(tar.tar_special_modes), _check_special_modes),
    Case("zip_special_modes", "zip", _zip_special_modes, _check_zip_modes),
    Case(
        "zip_nfkc_collision",
        "zip",
        _zip_nfkc_collision,
        _check_two_files("\ufb01le.txt", "file.txt"),
    ),
    Case("nupkg_case_collision", "nupkg", _nupkg_case_collision),
    Case("nupkg_nfc_collision", "nupkg", _nupkg_nfc_collision),
    Case("nupkg_deep_path", "nupkg", _nupkg_deep, _check_deep),
]

CASES: list[Case] = REFUSED + ACCEPTED
