"""Case and Unicode folding on the target: refused only where the file system folds names."""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from packer.archive.validator import extract_archive, folds_names, inspect_archive
from packer.model.errors import PackerError, UnsafeArchive
from packer.target.deploy import DeployOptions, deploy_file
from tests.packer.target.conftest import journal
from tests.packer.target.packages import write_zip

CAFE_NFC = unicodedata.normalize("NFC", "caf\u00e9")
CAFE_NFD = unicodedata.normalize("NFD", "caf\u00e9")


@pytest.mark.parametrize(
    "names,expected",
    [
        (["lib/mpiCC-wrapper-data.txt", "lib/mpicc-wrapper-data.txt"], (0, 1)),
        (["Config/a.txt", "config/b.txt"], ("Config", "config")),  # the folders would merge
        ([f"{CAFE_NFC}.txt", f"{CAFE_NFD}.txt"], (0, 1)),
        (["STRASSE", "stra\u00dfe"], (0, 1)),  # full case folding, not just lower()
        (["a/b.txt", "a/c.txt", "B/b.txt"], None),
    ],
)
def test_folded_collisions_are_found_folder_by_folder(tmp_path, names, expected) -> None:
    package = write_zip(tmp_path / "F.1.0.0.zip", {n: (b"", 0o644) for n in names})
    found = [c.names for c in inspect_archive(package).collisions]
    if expected is None:
        assert found == []
    else:
        pair = tuple(names[i] if isinstance(i, int) else i for i in expected)
        assert found == [pair]


def test_refusal_names_both_entries_and_the_file_system(tmp_path) -> None:
    package = write_zip(tmp_path / "Web.1.0.0.zip", {n: (b"", 0o644) for n in ["App/x", "app/y"]})
    with pytest.raises(UnsafeArchive) as caught:
        extract_archive(package, None, tmp_path / "out", refuse_folded=True)
    message = str(caught.value)
    assert "'app': its name equals 'App'" in message
    assert "folds case or Unicode spellings" in message


def test_the_probe_says_this_file_system_keeps_names_apart_and_leaves_nothing(tmp_path) -> None:
    assert folds_names(tmp_path) is False
    assert os.listdir(tmp_path) == []


def test_the_probe_fails_clearly_where_it_cannot_write(tmp_path) -> None:
    with pytest.raises(OSError):
        folds_names(tmp_path / "missing")


def folded_package(tmp_path: Path) -> Path:
    """Folders spelled in two Unicode forms: one name on APFS, two on ext4."""
    return write_zip(
        tmp_path / "Fold.1.0.0.zip",
        {f"{CAFE_NFC}/a.txt": (b"a", 0o644), f"{CAFE_NFD}/b.txt": (b"b", 0o644)},
    )


def test_folded_names_deploy_where_the_file_system_keeps_them_apart(tmp_path, root) -> None:
    probed: list[Path] = []
    options = DeployOptions(root=root, probe_folding=lambda d: probed.append(d) or False)
    deploy_file(folded_package(tmp_path), options)
    assert probed == [root / "Fold"]  # once per deploy, where the release is made
    release = root / "Fold" / "1.0.0"
    assert (release / CAFE_NFC / "a.txt").exists() and (release / CAFE_NFD / "b.txt").exists()


def test_folded_names_are_refused_where_the_file_system_folds_them(tmp_path, root) -> None:
    options = DeployOptions(root=root, probe_folding=lambda d: True)
    with pytest.raises(UnsafeArchive, match=f"'{CAFE_NFD}': its name equals '{CAFE_NFC}'"):
        deploy_file(folded_package(tmp_path), options)
    assert not (root / "Fold").exists()
    [entry] = journal(root)
    assert entry["status"] == "refused" and "folds case" in entry["message"]


def _validator_accepts_folded_files(tmp_path: Path) -> bool:
    """Whether the archive validator warns (not refuses) on names equal after folding."""
    package = write_zip(tmp_path / "Probe.1.0.0.zip", {"A": (b"", 0o644), "a": (b"", 0o644)})
    try:
        inspect_archive(package)
    except PackerError:
        return False
    return True


def test_files_equal_after_case_folding_deploy_only_where_names_stay_apart(tmp_path, root):
    if not _validator_accepts_folded_files(tmp_path):
        pytest.skip("this validator refuses case-insensitive duplicates everywhere (pre issue 15)")
    package = write_zip(
        tmp_path / "Mpi.1.0.0.zip",
        {"lib/mpiCC-wrapper-data.txt": (b"C", 0o644), "lib/mpicc-wrapper-data.txt": (b"c", 0o644)},
    )
    deploy_file(package, DeployOptions(root=root, probe_folding=lambda d: False))
    assert (root / "Mpi" / "1.0.0" / "lib" / "mpiCC-wrapper-data.txt").read_text() == "C"
    with pytest.raises(UnsafeArchive, match="mpiCC-wrapper-data.txt"):
        deploy_file(package, DeployOptions(root=root / "other", probe_folding=lambda d: True))


@contextmanager
def casefold_folder(tmp_path: Path) -> Iterator[Path]:
    """A case-insensitive folder on a small ext4 image with casefold; skip where impossible."""
    if os.geteuid() != 0 or not Path("/sys/fs/ext4/features/casefold").exists():
        pytest.skip("needs root and a kernel with ext4 casefold to make a folding file system")
    if not shutil.which("mkfs.ext4") or not shutil.which("chattr"):
        pytest.skip("needs mkfs.ext4 and chattr to make a folding file system")
    image, mount = tmp_path / "fold.img", tmp_path / "mnt"
    mount.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(8 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-O", "casefold", str(image)], check=True)
    made = subprocess.run(["mount", "-o", "loop", str(image), str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a loop file system here: {made.stderr.decode().strip()}")
    try:
        folder = mount / "folding"
        folder.mkdir()
        subprocess.run(["chattr", "+F", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_the_probe_sees_a_real_case_insensitive_folder(tmp_path) -> None:
    with casefold_folder(tmp_path) as folder:
        assert folds_names(folder) is True
        assert os.listdir(folder) == []
