"""Bad input to `octopack pack`: one clear line, exit code 2, and no file left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from packer.model.errors import BadInput
from packer.pack.build import PackOptions, pack
from tests.packer.conftest import leftovers, need_tool, run_pack, sha256, write

REPO = Path(__file__).resolve().parents[3]


def args(app: Path, out: Path, *extra: str) -> list[str]:
    return ["--id", "App", "--version", "1.0.0", "--base-path", str(app),
            "--out-folder", str(out), *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--id", "bad id!"], "invalid package id 'bad id!'"),
        (["--id", ""], "invalid package id ''"),
        (["--version", "1.0.0.0.0"], "1.0.0.0.0"),
        (["--version", "one"], "'one'"),
        (["--include", "[oops"], "bad glob '[oops'"),
        (["--exclude", "..\\x"], "bad glob"),
        (["--include", "nothing/**"], "nothing to pack"),
        (["--exclude", "**"], "nothing to pack"),
        (["--release-notes-file", "/nonexistent/notes.md"], "/nonexistent/notes.md"),
        (["--release-notes", "a", "--release-notes-file", "/etc/hostname"], "not both"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    app: Path, out: Path, extra: list[str], message: str
) -> None:
    run = run_pack(*args(app, out), *extra)
    assert run.exit_code == 2
    assert message in run.stderr
    assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1
    assert run.stdout == ""
    assert leftovers(out) == []


def test_unknown_option_values_are_usage_errors(app: Path, out: Path) -> None:
    for extra in (["--format", "rar"], ["--compression-level", "max"], ["--bogus"]):
        run = run_pack(*args(app, out), *extra)
        assert run.exit_code == 2, extra
    assert leftovers(out) == []


def test_missing_base_path(tmp_path: Path, out: Path) -> None:
    run = run_pack(*args(tmp_path / "nope", out))
    assert run.exit_code == 2
    assert f"base path {tmp_path / 'nope'} does not exist" in run.stderr
    assert leftovers(out) == []


def test_existing_output_needs_overwrite_and_is_kept_intact(app: Path, out: Path) -> None:
    assert run_pack(*args(app, out)).exit_code == 0
    package = out / "App.1.0.0.zip"
    before = sha256(package)
    write(app / "changed.txt", "new content")
    run = run_pack(*args(app, out))
    assert run.exit_code == 2
    assert f"{package} already exists; pass --overwrite" in run.stderr
    assert sha256(package) == before
    assert leftovers(out) == ["App.1.0.0.zip"]


def test_bad_source_date_epoch(app: Path, out: Path) -> None:
    run = run_pack(*args(app, out), env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert run.exit_code == 2 and "SOURCE_DATE_EPOCH 'yesterday'" in run.stderr
    assert leftovers(out) == []


def _drop_read_override() -> list[str]:
    """As root, run the CLI without the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = need_tool("setpriv")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("fmt", ["zip", "nupkg", "tar.gz"])
def test_unreadable_file_fails_half_way_and_leaves_nothing(app: Path, out: Path, fmt: str) -> None:
    write(app / "zz" / "big.bin", "data" * 100_000)
    secret = write(app / "zz" / "unreadable.txt", "secret", 0o000)
    command = [*_drop_read_override(), sys.executable, "-c", "from packer.cli import main; main()",
               "pack", *args(app, out), "--format", fmt]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    secret.chmod(0o644)
    assert result.returncode == 2, result.stderr
    assert f"cannot read {secret}: Permission denied" in result.stderr
    assert result.stderr.count("\n") == 1
    assert leftovers(out) == []


def test_out_folder_that_is_a_file(app: Path, tmp_path: Path) -> None:
    blocker = write(tmp_path / "blocker", "not a folder")
    run = run_pack(*args(app, blocker))
    assert run.exit_code == 2 and "cannot write to out folder" in run.stderr
    assert blocker.read_text() == "not a folder"


def test_library_refuses_unknown_format_and_level(app: Path, out: Path) -> None:
    with pytest.raises(BadInput, match="unknown format 'rar'"):
        pack(PackOptions("App", "1.0.0", str(app), "rar", str(out)))
    with pytest.raises(BadInput, match="unknown compression level 'max'"):
        pack(PackOptions("App", "1.0.0", str(app), out_folder=str(out), compression_level="max"))
    assert leftovers(out) == []
