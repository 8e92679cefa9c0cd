"""`octopack push`, `import` and `versions` end to end against a real feed on loopback."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from packer.cli import main
from packer.client.feed import FeedClient
from packer.client.transfer import file_sha256
from tests.feed.packages import NUSPEC, make_nupkg
from tests.helpers.feed_server import running_feed
from tests.packer.client.conftest import ADMIN_KEY, make_package


def octopack(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the real CLI in-process; stdout and stderr stay apart."""
    return CliRunner(env={"OCTOPACK_SERVER": None, "OCTOPACK_API_KEY": None, **(env or {})}).invoke(
        main, list(args), catch_exceptions=False
    )


def push(feed, *args: str) -> Result:
    return octopack("push", *args, "--server", feed.url, "--api-key", ADMIN_KEY)


def results(result: Result) -> list[dict[str, str]]:
    return json.loads(result.stdout)["results"]


def feed_versions(feed, package_id: str) -> list[str]:
    with FeedClient(feed.url) as client:
        return [v.version for v in client.versions(package_id, include_prerelease=True)]


# -- push ----------------------------------------------------------------------------------


def test_push_created_conflict_kept_overwritten(feed, tmp_path: Path) -> None:
    first = make_package(tmp_path / "a", "Hello.App.1.0.0.zip", b"one")
    second = make_package(tmp_path / "b", "Hello.App.1.0.0.zip", b"two")

    created = push(feed, str(first), "--output-format", "json")
    assert created.exit_code == 0, created.output
    assert results(created) == [
        {
            "file": str(first),
            "id": "Hello.App",
            "version": "1.0.0",
            "status": "created",
            "message": f"pushed to {feed.url}",
        }
    ]

    conflict = push(feed, str(second), "--output-format", "json")
    assert conflict.exit_code == 1
    assert results(conflict)[0]["status"] == "conflict"
    assert "already exists" in results(conflict)[0]["message"]

    kept = push(feed, str(second), "--overwrite-mode", "ignore-if-exists", "--output-format=json")
    assert (kept.exit_code, results(kept)[0]["status"]) == (0, "kept")

    over = push(feed, str(second), "--overwriteMode", "OverwriteExisting", "--output-format=json")
    assert (over.exit_code, results(over)[0]["status"]) == (0, "overwritten")
    with FeedClient(feed.url) as client:
        assert client.package_detail("Hello.App", "1.0.0")["Sha256"] == file_sha256(second)


def test_push_text_output_and_environment_variables(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.2.0.0.zip")
    env = {"OCTOPACK_SERVER": feed.url, "OCTOPACK_API_KEY": ADMIN_KEY}
    result = octopack("push", str(package), env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"created: Hello.App 2.0.0 ({package}) pushed to {feed.url}\n"
    again = octopack("push", str(package), env=env)
    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr.startswith(f"conflict: Hello.App 2.0.0 ({package})")


def test_push_several_files_with_one_failing(feed, tmp_path: Path) -> None:
    one = make_package(tmp_path / "1", "One.App.1.0.0.zip")
    two = make_package(tmp_path / "2", "Two.App.1.0.0.zip")
    assert push(feed, str(two)).exit_code == 0
    three = make_package(tmp_path / "3", "Three.App.1.0.0.zip")
    result = push(feed, str(one), str(two), str(three), "--output-format", "json")
    assert result.exit_code == 1
    assert [(r["id"], r["status"]) for r in results(result)] == [
        ("One.App", "created"),
        ("Two.App", "conflict"),
        ("Three.App", "created"),
    ]


def test_a_missing_file_stops_everything_before_sending(feed, tmp_path: Path) -> None:
    good = make_package(tmp_path, "Good.App.1.0.0.zip")
    missing = tmp_path / "Gone.App.1.0.0.zip"
    result = push(feed, str(good), str(missing))
    assert result.exit_code == 2
    assert result.stderr == f"error: package file {str(missing)!r} does not exist\n"
    assert feed_versions(feed, "Good.App") == []


def test_a_bad_file_name_is_exit_2(feed, tmp_path: Path) -> None:
    misnamed = make_package(tmp_path, "release.zip")
    result = push(feed, str(misnamed))
    assert result.exit_code == 2
    assert "invalid package file name 'release.zip'" in result.stderr


def test_a_bad_overwrite_mode_is_exit_2(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    result = push(feed, str(package), "--overwrite-mode", "always")
    assert result.exit_code == 2
    assert "unknown overwrite mode 'always'" in result.stderr
    assert feed_versions(feed, "Hello.App") == []


def test_a_wrong_key_is_exit_1_with_a_clear_message(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    result = octopack("push", str(package), "--server", feed.url, "--apiKey", "API-WRONG")
    assert result.exit_code == 1
    assert "refused the API key as wrong or revoked" in result.stderr
    assert feed_versions(feed, "Hello.App") == []


def test_no_server_is_exit_2(tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    result = octopack("push", str(package))
    assert result.exit_code == 2
    assert result.stderr == "error: no feed server: give --server or set OCTOPACK_SERVER\n"


# -- versions ------------------------------------------------------------------------------


@pytest.fixture
def published(feed, tmp_path: Path):
    files = [
        make_package(tmp_path / v, f"Hello.App.{v}.zip")
        for v in ["1.0.0", "1.2.0", "2.0.0-rc.1", "1.10.0"]
    ]
    assert push(feed, *map(str, files)).exit_code == 0
    return feed


def test_versions_json_and_text(published) -> None:
    result = octopack("versions", "Hello.App", "--server", published.url, "--output-format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["id"] == "Hello.App"
    assert [v["version"] for v in document["versions"]] == ["1.10.0", "1.2.0", "1.0.0"]
    assert set(document["versions"][0]) == {"version", "published", "size"}
    assert document["versions"][0]["size"] > 0

    text = octopack("versions", "hello.app", "--server", published.url, "--prerelease")
    assert text.stdout.splitlines() == ["2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0"]


def test_versions_range_and_latest(published) -> None:
    ranged = octopack("versions", "Hello.App", "--server", published.url, "--range", "[1.1,2.0)")
    assert ranged.stdout.splitlines() == ["1.10.0", "1.2.0"]
    latest = octopack("versions", "Hello.App", "--server", published.url, "--latest")
    assert latest.stdout.splitlines() == ["1.10.0"]
    latest_pre = octopack(
        "versions", "Hello.App", "--server", published.url, "--latest", "--prerelease"
    )
    assert latest_pre.stdout.splitlines() == ["2.0.0-rc.1"]


def test_versions_bad_input_and_nothing_found(published) -> None:
    bad_range = octopack("versions", "Hello.App", "--server", published.url, "--range", "[2,1]")
    assert bad_range.exit_code == 2 and "[2,1]" in bad_range.stderr
    bad_id = octopack("versions", "not an id", "--server", published.url)
    assert bad_id.exit_code == 2 and "not an id" in bad_id.stderr
    nothing = octopack("versions", "Other.App", "--server", published.url, "--output-format=json")
    assert nothing.exit_code == 1
    assert json.loads(nothing.stdout) == {"id": "Other.App", "versions": []}
    assert nothing.stderr == f"error: no versions of Other.App on {published.url}\n"


# -- import --------------------------------------------------------------------------------


def mixed_folder(root: Path) -> Path:
    """An Octopus-style folder and a NuGet folder feed, with bad packages mixed in."""
    make_package(root / "Hello.App", "Hello.App.1.0.0.zip")
    make_package(root / "Hello.App", "Hello.App.1.1.0.zip")
    (root / "hello.nuget" / "1.0.0").mkdir(parents=True)
    nuget = make_nupkg(
        root / "hello.nuget" / "1.0.0", "hello.nuget.1.0.0.nupkg", "Hello.NuGet", "1.0.0"
    )
    (nuget.parent / "hello.nuget.1.0.0.nupkg.sha512").write_text("not a package")
    (nuget.parent / "hello.nuget.nuspec").write_text(
        NUSPEC.format(id="Hello.NuGet", version="1.0.0")
    )
    (root / "Broken.App").mkdir()
    (root / "Broken.App" / "Broken.App.1.0.0.zip").write_bytes(b"not a zip at all")
    make_package(root / "cache", "Cached.App@S3.0.0-rc.1@9F86D081884C7D65.zip")
    make_package(root / "misc", "release-notes.zip")
    (root / "misc" / "README.txt").write_text("not a package")
    return root


def test_import_reports_each_package(feed, tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path / "old-feed")
    args = ["import", str(folder), "--server", feed.url, "--api-key", ADMIN_KEY]
    result = octopack(*args, "--output-format", "json")
    assert result.exit_code == 1
    by_file = {Path(r["file"]).name: r for r in results(result)}
    assert sorted(by_file) == [
        "Broken.App.1.0.0.zip",
        "Cached.App@S3.0.0-rc.1@9F86D081884C7D65.zip",
        "Hello.App.1.0.0.zip",
        "Hello.App.1.1.0.zip",
        "hello.nuget.1.0.0.nupkg",
        "release-notes.zip",
    ]
    assert by_file["Hello.App.1.0.0.zip"]["status"] == "created"
    assert by_file["Hello.App.1.1.0.zip"]["status"] == "created"
    assert by_file["hello.nuget.1.0.0.nupkg"]["status"] == "created"
    assert by_file["hello.nuget.1.0.0.nupkg"]["id"] == "Hello.NuGet"
    cached = by_file["Cached.App@S3.0.0-rc.1@9F86D081884C7D65.zip"]
    assert (cached["status"], cached["id"], cached["version"]) == (
        "created",
        "Cached.App",
        "3.0.0-rc.1",
    )
    assert by_file["Broken.App.1.0.0.zip"]["status"] == "refused"
    assert "Broken.App.1.0.0.zip" in by_file["Broken.App.1.0.0.zip"]["message"]
    assert by_file["release-notes.zip"]["status"] == "error"
    assert "invalid package file name" in by_file["release-notes.zip"]["message"]
    assert feed_versions(feed, "Hello.App") == ["1.1.0", "1.0.0"]
    assert feed_versions(feed, "Broken.App") == []

    again = octopack(*args, "--output-format", "json")
    statuses = {Path(r["file"]).name: r["status"] for r in results(again)}
    assert statuses["Hello.App.1.0.0.zip"] == "kept"
    assert statuses["hello.nuget.1.0.0.nupkg"] == "kept"


def test_import_into_storage_directly(tmp_path: Path) -> None:
    folder = tmp_path / "old-feed"
    make_package(folder / "Hello.App", "Hello.App.1.0.0.zip")
    make_package(folder / "Hello.App", "Hello.App.1.1.0.zip")
    storage = tmp_path / "feed"
    result = octopack("import", str(folder), "--storage", str(storage), "--output-format", "json")
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in results(result)] == ["created", "created"]
    with running_feed(storage) as feed:
        assert feed_versions(feed, "Hello.App") == ["1.1.0", "1.0.0"]


def test_import_of_a_missing_or_empty_folder_is_exit_2(tmp_path: Path) -> None:
    missing = octopack("import", str(tmp_path / "nope"), "--server", "http://127.0.0.1:9")
    assert missing.exit_code == 2 and "is not a directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = octopack("import", str(tmp_path / "empty"), "--server", "http://127.0.0.1:9")
    assert empty.exit_code == 2 and "no package files" in empty.stderr


def test_an_unreachable_feed_fails_once_and_sends_nothing_more(tmp_path: Path) -> None:
    one = make_package(tmp_path / "1", "One.App.1.0.0.zip")
    two = make_package(tmp_path / "2", "Two.App.1.0.0.zip")
    with socket.socket() as reserved:  # bound, never listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        result = octopack(
            "push", str(one), str(two), "--server", url, "--retries", "0", "--output-format", "json"
        )
    assert result.exit_code == 1
    first, second = results(result)
    assert first["status"] == "error"
    assert first["message"] == (
        f"pushing One.App.1.0.0.zip to {url} failed after 1 attempt: "
        f"the connection to {url} broke (ConnectionError)"
    )
    assert second["status"] == "error"
    assert second["message"].startswith("not sent: an earlier push failed: pushing One.App")


@pytest.mark.parametrize("fmt", ["nupkg", "tar.gz", "zip"])
def test_pack_push_versions_round_trip(feed, tmp_path: Path, fmt: str) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "index.html").write_text("<h1>hello</h1>\n")
    (app / "Deploy.sh").write_text("#!/bin/sh\necho deployed\n")
    out = tmp_path / "out"
    packed = octopack(
        "pack", "--id", "Packed.App", "--version", "4.5.6", "--base-path", str(app),
        "--out-folder", str(out), "--format", fmt, "--output-format", "json",
    )  # fmt: skip
    assert packed.exit_code == 0, packed.output
    path = json.loads(packed.stdout)["path"]
    pushed = push(feed, path, "--output-format", "json")
    assert pushed.exit_code == 0, pushed.output
    assert results(pushed)[0]["status"] == "created"
    listed = octopack("versions", "Packed.App", "--server", feed.url, "--output-format", "json")
    assert [v["version"] for v in json.loads(listed.stdout)["versions"]] == ["4.5.6"]
    with FeedClient(feed.url) as client:
        assert client.package_detail("Packed.App", "4.5.6")["Sha256"] == file_sha256(Path(path))


@pytest.mark.parametrize("ci", [None, "true"])
def test_progress_bar_only_on_a_terminal_outside_ci(feed, tmp_path: Path, ci: str | None) -> None:
    import os
    import pty
    import subprocess
    import sys

    package = make_package(tmp_path, "Tty.App.1.0.0.zip", size=2_000_000)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci else {})
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from packer.cli import main; main()", "push", str(package)]
            + ["--server", feed.url, "--api-key", ADMIN_KEY],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=120,
        )
        os.close(follower)
        terminal = ""
        while True:
            try:
                block = os.read(leader, 65536)
            except OSError:  # EIO: the terminal has no writer left and nothing more to read
                break
            if not block:
                break
            terminal += block.decode(errors="replace")
    finally:
        os.close(leader)
    assert done.returncode == 0
    assert done.stdout.decode().startswith("created: Tty.App 1.0.0")
    if ci:
        assert terminal == ""
    else:
        assert "Tty.App.1.0.0.zip" in terminal and "100%" in terminal
