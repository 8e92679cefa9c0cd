"""Which files `octopack pack` takes: globs, .octopackignore, .git, out folder, symlinks."""

from __future__ import annotations

import json
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from packer.model.errors import BadInput
from packer.model.globs import compile_glob
from packer.pack.collect import collect_files, iter_files
from tests.packer.conftest import leftovers, run_pack, write


def names_in(package: str | Path) -> list[str]:
    with zipfile.ZipFile(package) as archive:
        return archive.namelist()


def pack_names(app: Path, out: Path, *extra: str) -> list[str]:
    run = run_pack("--id", "App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out), "--output-format", "json", *extra)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return names_in(run.json()["path"])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.txt", "a.txt", True),
        ("*.txt", "dir/a.txt", False),  # anchored at the base path: use **/*.txt
        ("**/*.txt", "dir/sub/a.txt", True),
        ("**/*.txt", "a.txt", True),
        ("bin/**", "bin", True),
        ("bin/**", "bin/x/y", True),
        ("bin/**", "binary", False),
        ("/bin/*.dll", "bin/a.dll", True),
        ("*.TXT", "a.txt", False),  # case-sensitive
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("[ab].md", "b.md", True),
        ("[!ab].md", "b.md", False),
        ("*", ".env", True),  # dotfiles are ordinary names
        ("a.b", "aXb", False),  # '.' is literal
    ],
)
def test_glob_semantics(pattern: str, path: str, matches: bool) -> None:
    assert bool(compile_glob(pattern).fullmatch(path)) is matches


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "it is empty"),
        ("bin\\*.dll", "use '/' as the path separator"),
        ("../secret", "'..' path segments"),
        ("a//b", "empty, '.' or '..'"),
        ("[abc", "'[' without a closing ']'"),
    ],
)
def test_bad_globs_are_refused_with_the_pattern_named(pattern: str, message: str) -> None:
    with pytest.raises(BadInput, match=re.escape(message)) as error:
        compile_glob(pattern)
    assert repr(pattern) in str(error.value)


def test_include_exclude_and_a_matched_directory_covers_its_contents(app: Path, out: Path) -> None:
    names = pack_names(app, out, "--include", "web", "--include", "config/*.conf",
                       "--include", "*.sh", "--exclude", "PreDeploy.sh")  # fmt: skip
    assert names == ["Deploy.sh", "config/app.conf", "web/static/app.js"]


def test_exclude_wins_over_include_for_directories(app: Path, out: Path) -> None:
    write(app / "web" / "index.html", "<p>hi</p>")
    names = pack_names(app, out, "--include", "web/**", "--exclude", "web/static")
    assert names == ["web/index.html"]


def test_exclude_directory_drops_everything_below(app: Path, out: Path) -> None:
    names = pack_names(app, out, "--exclude", "config", "--exclude", "logs", "--exclude", "bin")
    assert names == [".env", "Deploy.sh", "PreDeploy.sh", "web/static/app.js"]


def test_octopackignore_applies_gitignore_rules(app: Path, out: Path) -> None:
    write(app / "debug.log", "log")
    write(app / "web" / "static" / "trace.log", "log")
    write(app / "web" / "static" / "keep.log", "log")
    write(app / "tmp" / "cache.bin", "cache")
    write(app / ".octopackignore", "*.log\n!keep.log\ntmp/\n")
    names = pack_names(app, out)
    assert "debug.log" not in names and "web/static/trace.log" not in names
    assert "web/static/keep.log" in names
    assert not any(n.startswith("tmp/") for n in names)
    assert ".octopackignore" in names and ".env" in names


def test_git_is_never_packed_but_other_dotfiles_are(app: Path, out: Path) -> None:
    write(app / ".git" / "config", "[core]")
    write(app / "vendor" / "lib" / ".git", "gitdir: ../x")
    write(app / ".github" / "ci.yml", "on: push")
    names = pack_names(app, out, "--include", "**")
    assert not any(n == ".git" or n.startswith(".git/") or n.endswith("/.git") for n in names)
    assert ".github/ci.yml" in names and ".env" in names


def test_out_folder_inside_base_is_skipped_and_package_not_packed_into_itself(app: Path) -> None:
    inner = app / "dist"
    write(inner / "Old.1.0.0.zip", "old package")
    first = pack_names(app, inner)
    assert not any(n.startswith("dist") for n in first)
    # out folder == base path: the package itself (and an old one) must not be packed
    again = pack_names(app, app, "--version", "1.0.0")
    assert "App.1.0.0.zip" not in again
    third = pack_names(app, app, "--overwrite")
    assert "App.1.0.0.zip" not in third and third == again


def test_symlink_inside_base_is_packed_as_the_file(app: Path, out: Path) -> None:
    os.symlink("config/app.conf", app / "current.conf")
    os.symlink("web", app / "site")
    run = run_pack("--id", "App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out), "--output-format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    with zipfile.ZipFile(run.json()["path"]) as archive:
        assert archive.read("current.conf") == (app / "config/app.conf").read_bytes()
        assert archive.read("site/static/app.js") == (app / "web/static/app.js").read_bytes()
        assert archive.getinfo("current.conf").external_attr >> 16 == 0o100644


def test_symlink_outside_base_is_an_error_and_nothing_written(
    app: Path, out: Path, tmp_path: Path
) -> None:
    secret = write(tmp_path / "secret.txt", "secret")
    os.symlink(secret, app / "config" / "leak.txt")
    run = run_pack("--id", "App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out))  # fmt: skip
    assert run.exit_code == 2
    assert "symlink config/leak.txt points outside the base path" in run.stderr
    assert leftovers(out) == []
    # excluding the bad link makes the package buildable
    names = pack_names(app, out, "--exclude", "config/leak.txt")
    assert "config/leak.txt" not in names


def test_symlink_loop_and_broken_symlink_are_errors(app: Path, out: Path) -> None:
    os.symlink("..", app / "web" / "up")
    run = run_pack("--id", "App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out))  # fmt: skip
    assert run.exit_code == 2 and "symlink loop at web/up" in run.stderr
    os.unlink(app / "web" / "up")
    os.symlink("missing.txt", app / "dangling")
    run = run_pack("--id", "App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out))  # fmt: skip
    assert run.exit_code == 2 and "broken symlink dangling" in run.stderr
    assert leftovers(out) == []


def test_names_differing_only_in_case_are_packed_with_a_warning(tmp_path: Path) -> None:
    # As in a system library folder: mpiCC-wrapper-data.txt beside mpicc-wrapper-data.txt.
    write(tmp_path / "src" / "lib" / "mpiCC-wrapper-data.txt")
    write(tmp_path / "src" / "lib" / "mpicc-wrapper-data.txt")
    warnings: list[str] = []
    found = list(iter_files(str(tmp_path / "src"), warnings=warnings))
    assert [f.name for f in found] == ["lib/mpiCC-wrapper-data.txt", "lib/mpicc-wrapper-data.txt"]
    assert warnings == [
        "'lib/mpiCC-wrapper-data.txt' and 'lib/mpicc-wrapper-data.txt' differ only in case: "
        "deploying to a file system that folds case (Windows, macOS) is refused"
    ]
    out = tmp_path / "out"
    run = run_pack("--id", "Lib", "--version", "1.0.0", "--base-path", str(tmp_path / "src"),
                   "--out-folder", str(out), "--output-format", "json")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "differ only in case" in " ".join(json.loads(run.stdout)["warnings"])
    with zipfile.ZipFile(out / "Lib.1.0.0.zip") as archive:
        assert len(archive.namelist()) == 2


def test_fifo_is_refused(app: Path) -> None:
    os.mkfifo(app / "pipe")
    with pytest.raises(BadInput, match="cannot pack pipe: not a regular file"):
        collect_files(str(app))


def test_control_characters_in_names_are_refused(app: Path) -> None:
    write(app / "bad\nname.txt")
    with pytest.raises(BadInput, match="control characters"):
        collect_files(str(app))


def test_file_names_that_are_not_utf8_are_refused(app: Path) -> None:
    with open(os.path.join(os.fsencode(app), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    with pytest.raises(BadInput, match="not valid UTF-8"):
        collect_files(str(app))


def test_streamed_walk_comes_out_in_full_path_order(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for name in ("a0", "a-b", "a.txt", "a/b", "a/c/d", "a/c.txt", "A", "b/", "é", "_x"):
        if name.endswith("/"):
            (src / name).mkdir(parents=True)
        else:
            write(src / name, name)
    names = [f.name for f in collect_files(str(src))]
    assert names == sorted(names)
    assert names == ["A", "_x", "a-b", "a.txt", "a/b", "a/c.txt", "a/c/d", "a0", "b/", "é"]


def test_temp_files_of_another_run_in_the_out_folder_are_not_packed(app: Path) -> None:
    write(app / ".octopack-abc123.tmp", "half written by a crashed run")
    names = pack_names(app, app)
    assert not any(n.startswith(".octopack-") for n in names)
    assert "App.1.0.0.zip" not in names


def test_the_walk_keeps_nothing_per_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for d in range(30):
        (src / f"dir{d:02d}").mkdir(parents=True)
        for f in range(100):
            (src / f"dir{d:02d}" / f"some-longer-file-name-{f:03d}.txt").write_bytes(b"")
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_files(str(src)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 3000
    assert peak < 200_000, f"peak {peak} bytes: the walk remembers every file"


def test_case_clash_below_folders_that_differ_only_in_case(tmp_path: Path) -> None:
    write(tmp_path / "ok" / "Docs" / "a.md")
    write(tmp_path / "ok" / "docs" / "b.md")
    assert [f.name for f in collect_files(str(tmp_path / "ok"))] == ["Docs/a.md", "docs/b.md"]
    write(tmp_path / "bad" / "Docs" / "x" / "readme.md")
    write(tmp_path / "bad" / "docs" / "X" / "README.md")
    warnings: list[str] = []
    assert len(list(iter_files(str(tmp_path / "bad"), warnings=warnings))) == 2
    [warning] = warnings
    assert warning.startswith("'Docs/x/readme.md' and 'docs/X/README.md' differ only in case")
