"""`octopack pack` with an octopack.toml: validated against the packed files, listed in output."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.packer.conftest import leftovers, run_pack, write

MANIFEST = """\
[process]
scripts = "deploy/"
substitute = ["config/*.conf"]
structured = [
  "appsettings.json",
  "config/*.yaml",
]

[variables]
Port = "8080"

[environments.Production.variables]
Port = "80"

[secrets]
required = ["ConnectionStrings:Main"]

[health]
command = "curl -fsS http://127.0.0.1:#{Port}/health"
attempts = 10
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    base = tmp_path / "app"
    write(base / "octopack.toml", MANIFEST)
    write(base / "appsettings.json", "{}")
    write(base / "config/app.yaml", "a: 1\n")
    write(base / "config/web.conf", "port=#{Port}\n")
    write(base / "deploy/Deploy.sh", "echo hi", 0o755)
    write(base / "deploy/PreDeploy.py", "print('hi')")
    write(base / "PostDeploy.sh", "echo never", 0o755)
    return base


def pack(app: Path, out: Path, *extra: str):
    return run_pack(
        "--id", "App", "--version", "1.0.0", "--base-path", str(app), "--out-folder", str(out),
        *extra,
    )  # fmt: skip


def test_json_lists_the_process_and_scripts_of_the_scripts_folder(
    app: Path, tmp_path: Path
) -> None:
    run = pack(app, tmp_path / "out", "--output-format", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["process"] == {
        "scripts": "deploy",
        "substitute": ["config/*.conf"],
        "structured": ["appsettings.json", "config/*.yaml"],
        "environments": ["Production"],
        "secrets": ["ConnectionStrings:Main"],
        "health": {
            "command": "curl -fsS http://127.0.0.1:#{Port}/health",
            "attempts": 10,
            "interval_seconds": 1.0,
            "timeout_seconds": 30.0,
        },
    }
    assert doc["scripts"] == ["deploy/Deploy.sh", "deploy/PreDeploy.py"]
    assert doc["warnings"] == [
        "PostDeploy.sh looks like a deploy script but is not in the scripts folder deploy/ "
        "named by octopack.toml; it will not run"
    ]
    with zipfile.ZipFile(doc["path"]) as archive:
        assert archive.read("octopack.toml").decode() == MANIFEST


def test_text_lists_the_process(app: Path, tmp_path: Path) -> None:
    run = pack(app, tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    assert "  process (octopack.toml):" in run.stdout
    assert "    structured:     appsettings.json, config/*.yaml" in run.stdout
    assert "    health:         curl -fsS http://127.0.0.1:#{Port}/health" in run.stdout


def test_without_a_manifest_the_json_has_no_process_key(app: Path, tmp_path: Path) -> None:
    (app / "octopack.toml").unlink()
    run = pack(app, tmp_path / "out", "--output-format", "json")
    assert run.exit_code == 0, run.stderr
    assert "process" not in run.json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t.replace('Port = "8080"', "Port = 8080 8080"),
            "octopack.toml:10: not valid TOML",
        ),
        (lambda t: t + "\n[healthcheck]\ncommand = 'x'\n", "octopack.toml:22: unknown table"),
        (
            lambda t: t.replace("attempts = 10", "tries = 10"),
            "octopack.toml:20: unknown key 'tries'",
        ),
        (
            lambda t: t.replace('Port = "80"', 'Port = "80"\n"ConnectionStrings:Main" = "x"'),
            "octopack.toml:14: 'ConnectionStrings:Main' is a required secret",
        ),
        (
            lambda t: t.replace('"deploy/"', '"scripts/"'),
            "octopack.toml:2: scripts folder 'scripts'",
        ),
        (
            lambda t: t.replace('"config/*.yaml"', '"config/*.yml"'),
            "octopack.toml:6: structured glob 'config/*.yml' matches no file",
        ),
        (
            lambda t: t.replace('["config/*.conf"]', '["conf/*.conf"]'),
            "octopack.toml:3: substitute glob 'conf/*.conf' matches no file",
        ),
        (lambda t: t.replace('"config/*.conf"', '"../x"'), "octopack.toml:3: bad glob '../x'"),
    ],
)
def test_manifest_errors_exit_2_naming_the_line_and_write_nothing(
    app: Path, tmp_path: Path, change, message: str
) -> None:
    manifest = app / "octopack.toml"
    manifest.write_text(change(manifest.read_text()))
    out = tmp_path / "out"
    run = pack(app, out)
    assert run.exit_code == 2
    assert run.stderr.startswith(f"error: {message}"), run.stderr
    assert not (out / "App.1.0.0.zip").exists()
    assert leftovers(out) == []


def test_a_glob_matching_only_excluded_files_is_refused(app: Path, tmp_path: Path) -> None:
    run = pack(app, tmp_path / "out", "--exclude", "appsettings.json")
    assert run.exit_code == 2
    assert "octopack.toml:5: structured glob 'appsettings.json' matches no file" in run.stderr


def test_an_excluded_manifest_is_not_checked_but_said(app: Path, tmp_path: Path) -> None:
    run = pack(app, tmp_path / "out", "--exclude", "octopack.toml", "--output-format", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert "process" not in doc
    assert (
        "octopack.toml is excluded, so the package carries no deployment process" in doc["warnings"]
    )
