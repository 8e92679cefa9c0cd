"""Every command that takes --storage answers a bad location with one line (issue 14.1).

Each runs as a real subprocess against a missing bucket on moto's S3 (loopback), a file
used as a folder, and a folder that cannot be written; stderr must be one line naming
the storage, with no traceback: exit 2 when the location cannot be used as given, exit 1
when the storage fails at run time.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.feed_server import free_port
from tests.helpers.moto_server import moto_s3_endpoint, s3_environment
from tests.packer.cli.cli_process import run

COMMANDS = {
    "keys list": ["keys", "list"],
    "keys create": ["keys", "create", "--scope", "read"],
    "keys revoke": ["keys", "revoke", "ci"],
    "import": ["import", "{packages}"],
    "retention": ["retention", "--keep-last", "1"],
    "retention policy show": ["retention", "policy", "show"],
    "retention policy set": ["retention", "policy", "set", "--keep-last", "1"],
    "retention policy clear": ["retention", "policy", "clear"],
    "pin": ["pin", "Acme.App", "1.0.0"],
    "unpin": ["unpin", "Acme.App", "1.0.0"],
    "serve": ["serve", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1"],
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_s3_endpoint() as url:
        yield url


@pytest.fixture
def packages(tmp_path: Path) -> Path:
    """A folder with one real package for `import`."""
    import zipfile

    folder = tmp_path / "packages"
    folder.mkdir()
    with zipfile.ZipFile(folder / "Acme.App.1.0.0.zip", "w") as archive:
        archive.writestr("hello.txt", "hello\n")
    return folder


def unwritable_folder(tmp_path: Path) -> str:
    """A folder no one may write: chmod 0555, or where root ignores that, a sysfs folder."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return str(folder / "store")
    candidate = Path("/sys/fs/octopack-store")
    try:
        candidate.mkdir()
    except OSError:
        return str(candidate)
    candidate.rmdir()
    pytest.skip("running as root with no read-only folder to try (chmod does not stop root)")


def check_one_line(result: subprocess.CompletedProcess[str], location: str, code: int) -> None:
    """One line on stderr that names the storage, the expected exit code, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: storage ") and repr(location) in lines[0], lines[0]
    assert result.returncode == code, result.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("kind", ["missing bucket", "file", "unwritable folder"])
def test_bad_storage_is_one_line(
    name: str, kind: str, endpoint: str, packages: Path, tmp_path: Path
) -> None:
    args = [a.format(packages=packages, port=free_port()) for a in COMMANDS[name]]
    env = s3_environment(endpoint)
    if kind == "missing bucket":
        location, code = "s3://no-such-bucket/feed", 1
    elif kind == "file":
        location, code = "/etc/passwd", 2
    else:
        location, code = unwritable_folder(tmp_path), 2
    result = run([*args, "--storage", location], env)
    check_one_line(result, location, code)
    assert "listening" not in result.stderr and "API key" not in result.stdout


def test_s3_endpoint_option_reaches_the_storage(endpoint: str, tmp_path: Path) -> None:
    """--s3-endpoint on the command line, with no endpoint in the environment."""
    from tests.helpers.moto_server import create_bucket

    bucket = create_bucket(endpoint)
    env = s3_environment(endpoint)
    env.pop("AWS_ENDPOINT_URL_S3")
    location = f"s3://{bucket}/feed"
    created = run(
        [
            "keys",
            "create",
            "--scope",
            "read",
            "--name",
            "ci",
            "--storage",
            location,
            "--s3-endpoint",
            endpoint,
        ],
        env,
    )
    assert created.returncode == 0, created.stderr
    listed = run(["keys", "list", "--storage", location, "--s3-endpoint", endpoint], env)
    assert listed.returncode == 0 and listed.stdout.startswith("ci\tread"), listed.stderr
