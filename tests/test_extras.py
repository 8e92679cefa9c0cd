"""Dependencies follow the rooms: the base install packs, pushes and deploys without the
feed's or S3's libraries, and a command that needs an extra names it in one line.

Each case runs the real `octopack` in a fresh interpreter whose import system refuses the
extras' modules (a meta-path finder), as on a machine where they were never installed,
and reports every attempt to import one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
FEED_MODULES = ("flask", "werkzeug", "gunicorn")
S3_MODULES = ("boto3", "botocore")
EXTRAS_MODULES = FEED_MODULES + S3_MODULES
FEED_HINT = "install the feed extra: pip install 'octopack[feed]'"
S3_HINT = "install the s3 extra: pip install 'octopack[s3]'"

# Runs in the child: block the named top-level modules, run the CLI, record what happened.
CHILD = """
import json, sys

blocked = set(sys.argv[2].split(","))
attempts = []


class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Refuse())
code = 0
try:
    from packer.cli import main

    main(args=sys.argv[3:], prog_name="octopack")
except SystemExit as stop:
    code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
except BaseException:
    code = 1  # a traceback follows on stderr
    raise
finally:
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in blocked)
    with open(sys.argv[1], "w") as report:
        json.dump({"code": code, "attempts": attempts, "loaded": loaded}, report)
"""


def octopack_without(
    blocked: tuple[str, ...], *args: str, tmp_path: Path
) -> tuple[dict, subprocess.CompletedProcess]:
    """Run `octopack ARGS` with `blocked` modules missing; return its report and process."""
    report = tmp_path / f"report-{len(list(tmp_path.glob('report-*')))}.json"
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    for name in ("OCTOPACK_SERVER", "OCTOPACK_API_KEY", "OCTOPACK_STORAGE"):
        env.pop(name, None)
    process = subprocess.run(
        [sys.executable, "-c", CHILD, str(report), ",".join(blocked), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.exists(), process.stderr
    return json.loads(report.read_text()), process


def make_app(tmp_path: Path) -> Path:
    """A tiny application with a deploy script."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "index.html").write_text("hello\n")
    script = app / "Deploy.sh"
    script.write_text("#!/bin/sh\necho deployed\n")
    script.chmod(0o755)
    return app


def test_the_blocker_really_blocks(tmp_path: Path) -> None:
    """The harness itself: a command that needs a blocked module sees it missing."""
    report, process = octopack_without(
        ("requests",), "versions", "Hello.App", "--server", "http://127.0.0.1:9", tmp_path=tmp_path
    )
    assert report["attempts"] and report["loaded"] == [], process.stderr
    assert report["code"] != 0
    assert "No module named 'requests'" in process.stderr


def test_pack_deploy_admin_api_and_helps_never_import_an_extra(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    runs = [
        ("--help",),
        (
            "pack",
            "--id",
            "Hello.App",
            "--version",
            "1.0.0",
            "--base-path",
            str(app),
            "--out-folder",
            str(tmp_path / "out"),
        ),  # fmt: skip
        (
            "deploy",
            "--file",
            str(tmp_path / "out" / "Hello.App.1.0.0.zip"),
            "--root",
            str(tmp_path / "targets"),
            "--environment",
            "Test",
        ),  # fmt: skip
        ("push", "--help"),
        ("versions", "--help"),
        ("deploy", "--help"),
        ("serve", "--help"),
        ("keys", "--help"),
        ("retention", "--help"),
    ]
    for args in runs:
        report, process = octopack_without(EXTRAS_MODULES, *args, tmp_path=tmp_path)
        assert report == {"code": 0, "attempts": [], "loaded": []}, (args, process.stderr)
    nobody = "http://127.0.0.1:9"  # the admin API commands get as far as the network
    for args in (("keys", "list"), ("retention", "--keep-last", "1"), ("pin", "A.B", "1.0")):
        admin = ("--server", nobody, "--api-key", "k")
        report, process = octopack_without(EXTRAS_MODULES, *args, *admin, tmp_path=tmp_path)
        assert report == {"code": 1, "attempts": [], "loaded": []}, (args, process.stderr)
        assert f"cannot reach {nobody}" in process.stderr
    with zipfile.ZipFile(tmp_path / "out" / "Hello.App.1.0.0.zip") as package:
        assert "Deploy.sh" in package.namelist()
    installed = tmp_path / "targets" / "Test" / "Hello.App" / "1.0.0" / "index.html"
    assert installed.read_text() == "hello\n"


@pytest.fixture
def busy_port() -> Iterator[tuple[str, str]]:
    """`--port` of a port this test holds: a serve that got past the check stops quickly."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield "--port", str(held.getsockname()[1])


@pytest.mark.parametrize("blocked", [FEED_MODULES, ("flask",), ("gunicorn",)])
def test_serve_without_the_feed_extra_exits_2_naming_it(
    tmp_path: Path, blocked: tuple[str, ...], busy_port: tuple[str, str]
) -> None:
    report, process = octopack_without(
        blocked, "serve", "--storage", str(tmp_path / "data"), *busy_port, tmp_path=tmp_path
    )
    assert report["code"] == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("error: ") and lines[0].endswith(FEED_HINT), lines
    assert process.stdout == ""
    assert not (tmp_path / "data").exists(), "nothing may happen before the check"


def test_an_s3_location_without_the_s3_extra_exits_2_naming_it(tmp_path: Path) -> None:
    report, process = octopack_without(
        S3_MODULES, "keys", "list", "--storage", "s3://bucket/prefix", tmp_path=tmp_path
    )
    assert report["code"] == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert lines[0] in {f"error: {m} is not installed; {S3_HINT}" for m in S3_MODULES}, lines


def test_disk_storage_never_imports_the_s3_extra(tmp_path: Path) -> None:
    report, process = octopack_without(
        S3_MODULES, "keys", "list", "--storage", str(tmp_path / "data"), tmp_path=tmp_path
    )
    assert report == {"code": 0, "attempts": [], "loaded": []}, process.stderr


def test_a_missing_module_no_extra_provides_is_not_disguised() -> None:
    """Only the extras' modules get the install hint; anything else stays a real error."""
    from packer.cli.common import missing_extra

    assert missing_extra(ModuleNotFoundError("x", name="flask.json")) == (
        f"flask is not installed; {FEED_HINT}"
    )
    assert missing_extra(ModuleNotFoundError("x", name="botocore.config")) == (
        f"botocore is not installed; {S3_HINT}"
    )
    assert missing_extra(ModuleNotFoundError("x", name="requests")) is None
    assert missing_extra(ModuleNotFoundError("x")) is None


def test_pyproject_keeps_the_extras_out_of_the_base_install() -> None:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    for module in (*EXTRAS_MODULES, "boto"):
        assert module not in base, module
    extras = project["optional-dependencies"]
    assert any(d.startswith("flask") for d in extras["feed"])
    assert any(d.startswith("gunicorn") for d in extras["feed"])
    assert any(d.startswith("boto3") for d in extras["s3"])
    assert "octopack[feed,s3]" in extras["test"]
    assert any(d.startswith("import-linter") for d in extras["test"])
