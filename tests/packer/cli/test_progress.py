"""Progress on a terminal, quiet elsewhere: pack, deploy (download and extraction) and
retention draw on stderr only when it is a TTY and CI is unset. The terminal is a fake
(a StringIO whose isatty says True), so nothing here depends on timing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests

from packer.cli import main
from packer.cli.progress import human_bytes, progress, show_progress
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, running_feed


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def run(monkeypatch: pytest.MonkeyPatch, args: list[str], terminal: bool) -> str:
    """Run `octopack ARGS` in this process with stderr a fake terminal (or a pipe)."""
    stderr = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    with pytest.raises(SystemExit) as exited:
        main.main(args, prog_name="octopack")
    assert exited.value.code in (0, None), stderr.getvalue()
    return stderr.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    base = tmp_path / "app"
    (base / "web").mkdir(parents=True)
    (base / "web" / "index.html").write_text("<p>hello</p>\n" * 100)
    (base / "readme.txt").write_text("read me\n")
    (base / "Deploy.sh").write_text("#!/bin/sh\necho deployed\n")
    return base


def test_the_switch_follows_isatty_and_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert show_progress(FakeTerminal()) is True
    assert show_progress(io.StringIO()) is False
    monkeypatch.setenv("CI", "true")
    assert show_progress(FakeTerminal()) is False


def test_a_count_draws_one_line_and_ends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with progress("packing files", None) as update:
        assert update is not None
        update(1, 10)
        update(2, 3000)
    assert terminal.getvalue() == "\rpacking files: 1, 10 B\rpacking files: 2, 2.9 KiB\n"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"


@pytest.mark.parametrize("terminal", [True, False])
def test_pack_counts_files_and_bytes_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tree: Path, tmp_path: Path, terminal: bool
) -> None:
    monkeypatch.delenv("CI", raising=False)
    args = ["pack", "--id", "Acme.Progress", "--version", "1.0.0", "--base-path", str(tree)]
    stderr = run(monkeypatch, [*args, "--out-folder", str(tmp_path / "out")], terminal)
    if terminal:
        assert "packing files: 3, " in stderr
        assert stderr.endswith("\n")
    else:
        assert stderr == ""


def test_ci_silences_pack_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tree: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("CI", "1")
    args = ["pack", "--id", "Acme.Progress", "--version", "1.0.0", "--base-path", str(tree)]
    assert run(monkeypatch, [*args, "--out-folder", str(tmp_path)], terminal=True) == ""


@pytest.mark.parametrize("terminal", [True, False])
def test_deploy_shows_download_and_extraction(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, terminal: bool
) -> None:
    monkeypatch.delenv("CI", raising=False)
    package = make_zip(tmp_path, "Acme.Shown.1.0.0.zip", {"app/big.txt": b"x" * 100_000})
    with running_feed(tmp_path / "store") as feed:
        with package.open("rb") as stream:
            pushed = requests.post(
                f"{feed.url}/api/packages/raw",
                files={"file": (package.name, stream)},
                headers={"X-Octopus-ApiKey": ADMIN_KEY},
                timeout=30,
            )
        assert pushed.status_code == 201
        args = ["deploy", "Acme.Shown", "--server", feed.url, "--root", str(tmp_path / "root")]
        stderr = run(monkeypatch, [*args, "--output-format", "json"], terminal)
    assert ("downloading Acme.Shown.1.0.0.zip" in stderr) is terminal
    assert ("extracting Acme.Shown.1.0.0.zip" in stderr) is terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_retention_counts_packages_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, terminal: bool
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with running_feed(tmp_path / "store") as feed:
        for version in ("1.0.0", "2.0.0"):
            package = make_zip(tmp_path, f"Acme.Kept.{version}.zip")
            with package.open("rb") as stream:
                requests.post(
                    f"{feed.url}/api/packages/raw",
                    files={"file": (package.name, stream)},
                    headers={"X-Octopus-ApiKey": ADMIN_KEY},
                    timeout=30,
                )
    args = ["retention", "--storage", str(tmp_path / "store"), "--keep-last", "1", "--dry-run"]
    stderr = run(monkeypatch, [*args, "--output-format", "json"], terminal)
    assert ("retention: packages: 1" in stderr) is terminal
