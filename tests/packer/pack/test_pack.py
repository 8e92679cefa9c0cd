"""`octopack pack`: each format round trips, real tools read the result, output is reproducible."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packer.conftest import leftovers, need_tool, run_pack, sha256, write

APP_FILES = {
    ".env",
    "Deploy.sh",
    "PreDeploy.sh",
    "bin/tool",
    "config/app.conf",
    "web/static/app.js",
}
JSON_KEYS = [
    "path",
    "id",
    "version",
    "normalized_version",
    "format",
    "size",
    "sha256",
    "file_count",
    "scripts",
    "warnings",
]


def pack_json(app: Path, out: Path, *extra: str, env: dict | None = None) -> dict:
    run = run_pack(
        "--id", "Hello.App", "--version", "1.0.0", "--base-path", str(app),
        "--out-folder", str(out), "--output-format", "json", *extra, env=env,
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return run.json()


def test_zip_round_trip_contents_modes_and_empty_dirs(app: Path, out: Path) -> None:
    doc = pack_json(app, out)
    path = Path(doc["path"])
    assert path == out / "Hello.App.1.0.0.zip"
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        infos = {i.filename: i for i in archive.infolist()}
        assert set(infos) == APP_FILES | {"logs/empty/"}
        assert list(infos) == sorted(infos)
        for name in APP_FILES:
            assert archive.read(name) == (app / name).read_bytes()
            assert infos[name].create_system == 3
        mode = {name: info.external_attr >> 16 for name, info in infos.items()}
    assert mode["Deploy.sh"] == 0o100755
    assert mode["bin/tool"] == 0o100755
    assert mode["PreDeploy.sh"] == 0o100644
    assert mode["logs/empty/"] == 0o040755
    assert doc["file_count"] == len(APP_FILES)
    assert doc["scripts"] == ["Deploy.sh", "PreDeploy.sh"]
    assert doc["size"] == path.stat().st_size
    assert doc["sha256"] == sha256(path)


def test_json_output_has_exactly_the_documented_keys(app: Path, out: Path) -> None:
    doc = pack_json(app, out, "--version", "1.0.0.0-Beta")
    assert list(doc) == JSON_KEYS
    assert doc["version"] == "1.0.0.0-Beta"
    assert doc["normalized_version"] == "1.0.0-Beta"
    assert doc["format"] == "zip"
    assert Path(doc["path"]).name == "Hello.App.1.0.0.0-Beta.zip"


def test_text_output_names_path_size_count_hash_scripts_and_warnings(app: Path, out: Path) -> None:
    write(app / "scripts" / "PostDeploy.ps1", "Write-Host hi")
    run = run_pack("--id", "Hello.App", "--version", "2.0.0", "--base-path", str(app),
                   "--out-folder", str(out))  # fmt: skip
    assert run.exit_code == 0, run.stderr
    package = out / "Hello.App.2.0.0.zip"
    assert str(package) in run.stdout
    assert f"{package.stat().st_size} bytes" in run.stdout
    assert sha256(package) in run.stdout
    assert "files:   7" in run.stdout
    assert "Deploy.sh, PreDeploy.sh" in run.stdout
    assert "warning: scripts/PostDeploy.ps1" in run.stdout and "will not run" in run.stdout


def test_scripts_matched_case_insensitively_and_nested_ones_warned(app: Path, out: Path) -> None:
    write(app / "postdeploy.PY", "print(1)")
    write(app / "DEPLOYFAILED.ps1", "exit 1")
    write(app / "Deployer.sh", "not a script name")
    write(app / "sub" / "PreDeploy.sh", "echo nested")
    doc = pack_json(app, out)
    assert doc["scripts"] == ["DEPLOYFAILED.ps1", "Deploy.sh", "PreDeploy.sh", "postdeploy.PY"]
    assert len(doc["warnings"]) == 1 and doc["warnings"][0].startswith("sub/PreDeploy.sh ")


def test_unzip_accepts_the_zip_and_keeps_deploy_sh_executable(
    app: Path, out: Path, tmp_path: Path
) -> None:
    unzip = need_tool("unzip")
    package = pack_json(app, out)["path"]
    subprocess.run([unzip, "-tq", package], check=True, capture_output=True)
    target = tmp_path / "extracted"
    subprocess.run([unzip, "-q", package, "-d", str(target)], check=True)
    assert os.access(target / "Deploy.sh", os.X_OK)
    assert not os.access(target / "PreDeploy.sh", os.X_OK) or os.geteuid() == 0
    assert stat.S_IMODE((target / "PreDeploy.sh").stat().st_mode) == 0o644
    assert (target / "logs" / "empty").is_dir()
    result = subprocess.run([str(target / "Deploy.sh")], capture_output=True, text=True)
    assert result.stdout == "deploy\n"


@pytest.mark.parametrize("level", ["none", "fast", "optimal"])
def test_every_compression_level_round_trips(app: Path, out: Path, level: str) -> None:
    doc = pack_json(app, out, "--compression-level", level)
    with zipfile.ZipFile(doc["path"]) as archive:
        assert archive.testzip() is None
        methods = {i.compress_type for i in archive.infolist() if not i.is_dir()}
        assert archive.read("config/app.conf") == (app / "config/app.conf").read_bytes()
    assert methods == ({zipfile.ZIP_STORED} if level == "none" else {0, 8})


def test_octo_spellings_are_aliases(app: Path, out: Path) -> None:
    notes = write(app.parent / "notes.txt", "notes")
    run = run_pack("--id", "Hello.App", "--version", "1.0.0", "--basePath", str(app),
                   "--outFolder", str(out), "--compressionLevel", "Optimal", "--format", "NuPkg",
                   "--releaseNotesFile", str(notes), "--output-format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.json()["path"] == str(out / "Hello.App.1.0.0.nupkg")


def test_tar_gz_round_trip_is_pax_with_normalised_owners(app: Path, out: Path) -> None:
    doc = pack_json(app, out, "--format", "tar.gz")
    data = Path(doc["path"]).read_bytes()
    assert doc["path"].endswith("Hello.App.1.0.0.tar.gz")
    assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == APP_FILES | {"logs/empty"}
        for member in members.values():
            assert (member.uid, member.gid, member.uname, member.gname) == (0, 0, "", "")
            assert member.mtime == 315532800
        assert members["Deploy.sh"].mode == 0o755
        assert members["config/app.conf"].mode == 0o644
        assert members["logs/empty"].isdir() and members["logs/empty"].mode == 0o755
        extracted = tar.extractfile("config/app.conf")
        assert extracted is not None
        assert extracted.read() == (app / "config/app.conf").read_bytes()
    assert doc["scripts"] == ["Deploy.sh", "PreDeploy.sh"]


@pytest.mark.parametrize("fmt", ["zip", "nupkg", "tar.gz"])
def test_same_tree_gives_same_bytes_even_after_mtimes_change(
    app: Path, tmp_path: Path, fmt: str
) -> None:
    first = pack_json(app, tmp_path / "a", "--format", fmt)
    for path in app.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    second = pack_json(app, tmp_path / "b", "--format", fmt)
    assert first["sha256"] == second["sha256"]


def test_source_date_epoch_is_honoured_and_clamped(app: Path, tmp_path: Path) -> None:
    doc = pack_json(app, tmp_path / "a", env={"SOURCE_DATE_EPOCH": "1700000000"})
    with zipfile.ZipFile(doc["path"]) as archive:
        assert archive.getinfo("Deploy.sh").date_time == (2023, 11, 14, 22, 13, 20)
    old = pack_json(app, tmp_path / "b", env={"SOURCE_DATE_EPOCH": "5"})
    with zipfile.ZipFile(old["path"]) as archive:
        assert archive.getinfo("Deploy.sh").date_time == (1980, 1, 1, 0, 0, 0)
    plain = pack_json(app, tmp_path / "c", env={"SOURCE_DATE_EPOCH": ""})
    assert plain["sha256"] == old["sha256"] != doc["sha256"]


def test_keep_timestamps_keeps_mtimes_and_differs(app: Path, tmp_path: Path) -> None:
    os.utime(app / "Deploy.sh", (1_600_000_000, 1_600_000_000))
    plain = pack_json(app, tmp_path / "a")
    kept = pack_json(app, tmp_path / "b", "--keep-timestamps")
    assert plain["sha256"] != kept["sha256"]
    with zipfile.ZipFile(kept["path"]) as archive:
        assert archive.getinfo("Deploy.sh").date_time == (2020, 9, 13, 12, 26, 40)


def test_default_version_is_a_utc_timestamp(app: Path, out: Path) -> None:
    run = run_pack("--id", "Hello.App", "--base-path", str(app), "--out-folder", str(out),
                   "--output-format", "json")  # fmt: skip
    assert run.exit_code == 0, run.stderr
    parts = run.json()["version"].split(".")
    assert len(parts) == 4 and int(parts[0]) >= 2024 and 1 <= int(parts[1]) <= 12
    assert int(parts[3]) < 240000
    assert leftovers(out) == [Path(run.json()["path"]).name]


def test_default_version_format_from_an_injected_clock() -> None:
    from datetime import UTC, datetime

    from packer.pack.build import default_version

    assert default_version(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)) == "2026.3.4.50607"
    assert default_version(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == "2026.12.31.235959"
    assert default_version(datetime(2026, 1, 1, 0, 0, 9, tzinfo=UTC)) == "2026.1.1.9"


def test_overwrite_replaces_an_existing_package(app: Path, out: Path) -> None:
    first = pack_json(app, out)
    write(app / "new.txt", "new")
    second = pack_json(app, out, "--overwrite")
    assert first["path"] == second["path"] and first["sha256"] != second["sha256"]
    assert leftovers(out) == ["Hello.App.1.0.0.zip"]


def test_the_example_app_packs_with_its_scripts_and_empty_folder(out: Path) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "hello-app"
    doc = pack_json(example, out)
    assert doc["scripts"] == ["Deploy.sh", "PreDeploy.sh"] and doc["warnings"] == []
    with zipfile.ZipFile(doc["path"]) as archive:
        names = archive.namelist()
        deploy_mode = archive.getinfo("Deploy.sh").external_attr >> 16
    assert "data/empty/" in names and "config/app.conf" in names
    assert "build.log" not in names and "data/empty/.gitkeep" not in names
    assert deploy_mode == 0o100755
