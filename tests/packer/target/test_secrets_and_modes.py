"""Multi-line secrets stay masked, and a target's own state is readable by its owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from packer.client.feed import FeedClient
from packer.target.variables import MASK, Variables
from tests.helpers.feed_server import running_feed
from tests.packer.target.packages import write_zip

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s=\n"
    "-----END PRIVATE KEY-----\n"
)
PEM_LINES = [line for line in PEM.splitlines() if line]
SECRET_PARTS = [line for line in PEM_LINES if "PRIVATE KEY" not in line]


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Run with umask 000, so owner-only modes cannot come from the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_multi_line_value_is_masked_whole_and_line_by_line() -> None:
    variables = Variables({"TlsKey": PEM, "Short": "a\nbb\nccc"}, {"TlsKey", "Short"})
    assert variables.mask(f"key: {PEM}") == f"key: {MASK}"
    for line in PEM_LINES:
        assert variables.mask(f"> {line}  ") == f"> {MASK}  "
    assert variables.mask("  " + PEM_LINES[1] + "\r") == f"  {MASK}\r"
    assert variables.mask(PEM.replace("\n", "\r\n")) == MASK
    # lines under three characters would mask ordinary text: left alone
    assert variables.mask("a bb ccc") == f"a bb {MASK}"


def test_a_pem_key_never_reaches_the_console_or_the_log_in_clear(tmp_path, root, octopack):
    files = {
        "Deploy.sh": (
            b'echo "$TlsKey"\nprintf "%s\\n" "$OCTOPACK_VAR_TLSKEY" >&2\n'
            b'echo "indented:"; echo "$TlsKey" | sed "s/^/    /"\nexit 3\n',
            0o755,
        ),
    }
    package = write_zip(tmp_path / "Tls.1.0.0.zip", files)
    result = octopack(
        "deploy", "--file", package, "--root", root, "--sensitive-variable", f"TlsKey={PEM}"
    )
    assert result.exit_code == 1
    logs = list((root / ".octopack" / "logs").glob("*.log"))
    assert len(logs) == 1
    texts = {"console": result.output, "log": logs[0].read_text()}
    texts["journal"] = (root / ".octopack" / "journal.json").read_text()
    for where, text in texts.items():
        for part in SECRET_PARTS:
            assert part not in text, (where, part)
    assert f"[Deploy] {MASK}" in result.output
    assert f"[Deploy]     {MASK}" in texts["log"]


def test_logs_journal_locks_and_cache_are_owner_only(tmp_path, root, octopack, open_umask):
    state = root / ".octopack"
    (state / "logs").mkdir(parents=True)  # left by an older octopack, open to everyone
    os.chmod(state, 0o755)
    os.chmod(state / "logs", 0o777)
    package = write_zip(tmp_path / "Open.1.0.0.zip", {"Deploy.sh": (b"echo hi\n", 0o755)})
    with running_feed(tmp_path / "store") as feed:
        with FeedClient(feed.url, feed.admin_key) as client:
            assert client.push(package).ok
        result = octopack(
            "deploy", "Open", "--version", "1.0.0", "--root", root,
            "--server", feed.url, "--api-key", feed.admin_key,
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    folders = [state, state / "logs", state / "locks", state / "cache"]
    files = [state / "journal.json", state / "journal.lock"]
    files += [*(state / "logs").iterdir(), *(state / "locks").iterdir()]
    files += list((state / "cache").iterdir())
    assert any(p.name == "Open.1.0.0.zip" for p in files)
    assert {str(p.relative_to(root)): mode(p) for p in folders} == {
        str(p.relative_to(root)): 0o700 for p in folders
    }
    assert {str(p.relative_to(root)): mode(p) for p in files} == {
        str(p.relative_to(root)): 0o600 for p in files
    }


def test_a_chosen_cache_folder_is_created_private_and_an_existing_one_kept(
    tmp_path, root, octopack, open_umask
):
    package = write_zip(tmp_path / "Cached.1.0.0.zip", {"a.txt": (b"a", 0o644)})
    shared = tmp_path / "shared-cache"
    shared.mkdir(mode=0o755)
    with running_feed(tmp_path / "store") as feed:
        with FeedClient(feed.url, feed.admin_key) as client:
            assert client.push(package).ok
        base = ["deploy", "Cached", "--version", "1.0.0", "--server", feed.url]
        for cache in (tmp_path / "new" / "cache", shared):
            result = octopack(*base, "--root", root, "--cache", cache)
            assert result.exit_code == 0, result.output
            assert mode(cache / "Cached.1.0.0.zip") == 0o600
    assert mode(tmp_path / "new") == 0o700 and mode(tmp_path / "new" / "cache") == 0o700
    assert mode(shared) == 0o755  # the operator's folder, as they made it
