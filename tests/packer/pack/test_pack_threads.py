"""--threads: the same tree gives the same bytes whatever the thread count, in every format.

Stored packages are also held to the digests the writer gave before --threads existed: their
bytes are all framing (headers, offsets, central directory), which no compression library
version changes. Deflated ones were compared by hand (same digests at fast and optimal); a
library upgrade may change those, so they are not pinned here.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.packer.conftest import run_pack, write

FORMATS = [("zip", "fast"), ("zip", "optimal"), ("zip", "none"), ("nupkg", "fast"),
           ("nupkg", "none"), ("tar.gz", "fast")]  # fmt: skip
STORED_BEFORE_THREADS = {
    ("zip", "none"): "680153147b99e0d562cfff9747fb2d36828dcf74cccc2f1282c669e6be6fe098",
    ("nupkg", "none"): "8b6972f31e3189a862a5632664f5755dd5538a2e759c1159becb3928b96f4770",
}


def words(seed: int, count: int) -> str:
    """Compressible text that is the same on every machine."""
    rng = random.Random(seed)
    vocabulary = [f"word{n}" for n in range(400)]
    return " ".join(rng.choice(vocabulary) for _ in range(count))


def make_tree(base: Path) -> Path:
    """Small files in batches, an empty one, a 6 MiB file cut into chunks, a 20 MiB one
    chunked at every level, and incompressible ones that are stored."""
    for index in range(300):
        write(base / f"src/d{index % 7}/f{index:03d}.txt", words(index, index * 13))
    write(base / "empty.txt", "")
    write(base / "Deploy.sh", "echo hi\n", 0o755)
    write(base / "big/six.log", words(1, 1_100_000))
    write(base / "big/twenty.log", words(2, 3_700_000))
    rng = random.Random(3)
    (base / "bin").mkdir()
    for index in range(3):
        (base / f"bin/r{index}.bin").write_bytes(rng.randbytes(100_000 + index * 3_000_000))
    return base


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


def pack_sha(tree: Path, out: Path, *extra: str, env: dict | None = None) -> str:
    run = run_pack("--id", "Same", "--version", "1.0.0", "--base-path", str(tree),
                   "--out-folder", str(out), "--output-format", "json", *extra, env=env)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return run.json()["sha256"]


@pytest.mark.parametrize(("fmt", "level"), FORMATS)
def test_same_bytes_whatever_the_thread_count(
    tree: Path, tmp_path: Path, fmt: str, level: str
) -> None:
    digests = {
        threads: pack_sha(
            tree,
            tmp_path / threads,
            "--format",
            fmt,
            "--compression-level",
            level,
            "--threads",
            threads,
        )  # fmt: skip
        for threads in ("1", "2", "5")
    }
    assert len(set(digests.values())) == 1, digests
    if (fmt, level) in STORED_BEFORE_THREADS:
        assert digests["1"] == STORED_BEFORE_THREADS[(fmt, level)]


def test_threads_from_the_environment(tree: Path, tmp_path: Path) -> None:
    one = pack_sha(tree, tmp_path / "one", "--compression-level", "none", "--threads", "1")
    env = pack_sha(tree, tmp_path / "env", "--compression-level", "none",
                   env={"OCTOPACK_THREADS": "3"})  # fmt: skip
    assert one == env == STORED_BEFORE_THREADS[("zip", "none")]


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_bad_thread_count_is_refused(tmp_path: Path, value: str) -> None:
    write(tmp_path / "app/a.txt")
    run = run_pack("--id", "Bad", "--base-path", str(tmp_path / "app"),
                   "--out-folder", str(tmp_path / "out"), "--threads", value)  # fmt: skip
    assert run.exit_code == 2
    assert "--threads" in run.stderr
    assert not (tmp_path / "out").exists()


def test_pack_options_refuse_zero_threads(tmp_path: Path) -> None:
    from packer.model.errors import BadInput
    from packer.pack.build import PackOptions, pack

    write(tmp_path / "a.txt")
    with pytest.raises(BadInput, match="--threads must be at least 1, not 0"):
        pack(PackOptions("Zero", "1.0.0", base_path=str(tmp_path), out_folder=str(tmp_path),
                         threads=0))  # fmt: skip


def test_the_environment_is_read(tmp_path: Path) -> None:
    """OCTOPACK_THREADS reaches the option: a bad value there is refused like one on the line."""
    write(tmp_path / "app/a.txt")
    run = run_pack("--id", "Bad", "--base-path", str(tmp_path / "app"),
                   "--out-folder", str(tmp_path / "out"), env={"OCTOPACK_THREADS": "0"})  # fmt: skip
    assert run.exit_code == 2
    assert "--threads" in run.stderr


def test_fast_zip_is_the_same_pack_after_pack(tree: Path, tmp_path: Path) -> None:
    """Packed again and again at the default level, with the thread counts mixed, the bytes
    stay the same; on a difference, name the entries that differ (ISA-L's level 1 once gave
    a file a byte or two different in about one pack in twenty)."""
    import zipfile

    runs = ["1", "2", "2", "5", "1", "3"]
    paths = []
    for index, threads in enumerate(runs):
        out = tmp_path / f"r{index}"
        pack_sha(tree, out, "--threads", threads)
        paths.append(out / "Same.1.0.0.zip")
    first = paths[0].read_bytes()
    for path in paths[1:]:
        if path.read_bytes() != first:
            with zipfile.ZipFile(paths[0]) as a, zipfile.ZipFile(path) as b:
                differ = [x.filename for x, y in zip(a.infolist(), b.infolist(), strict=True)
                          if (x.compress_size, x.header_offset) != (y.compress_size, y.header_offset)]  # fmt: skip
            pytest.fail(f"{path.parent.name} differs from the first pack; entries: {differ[:5]}")
