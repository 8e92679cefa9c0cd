"""A real `octopack serve` process for the promotion tests, and what they do with it.

`served_feed` starts the feed on disk or on the session's moto S3 server; `push_app`
puts real zip packages on it; `deploy` runs a real deploy in this process.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner, Result

from packer.cli import main
from packer.client.feed import FeedClient
from tests.helpers.backends import Backend, open_backend
from tests.helpers.feed_server import ADMIN_KEY, FeedProcess, feed_process
from tests.packer.target.packages import write_zip


@contextmanager
def served_feed(backend: Backend, port: int | None = None) -> Iterator[FeedProcess]:
    """Run `octopack serve` over the backend's storage (one worker)."""
    with feed_process(backend.location, env=backend.env, port=port) as feed:
        yield feed


def backend_for(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A fresh disk store or S3 prefix (request.param names which)."""
    return open_backend(request.param, tmp_path, request)


def push_app(url: str, folder: Path, package_id: str, versions: dict[str, int]) -> None:
    """Push `package_id` in each version; the value is the exit code of its Deploy.sh."""
    folder.mkdir(parents=True, exist_ok=True)
    with FeedClient(url, ADMIN_KEY) as client:
        for version, deploy_exit in versions.items():
            files = {
                "version.txt": (version.encode(), 0o644),
                "Deploy.sh": (f"#!/bin/sh\nexit {deploy_exit}\n".encode(), 0o755),
            }
            package = write_zip(folder / f"{package_id}.{version}.zip", files)
            assert client.push(package).ok


def octopack(*args: Any) -> Result:
    """Run `octopack ARGS...` in this process."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def deploy(url: str, root: Path, package_id: str, environment: str, *args: Any) -> Result:
    """Deploy from the feed with the admin key; JSON on stdout."""
    return octopack(
        "deploy", package_id, "--root", root, "--environment", environment, "--server", url,
        "--api-key", ADMIN_KEY, "--output-format", "json", *args,
    )  # fmt: skip


def deployed_version(result: Result) -> str:
    """The version a successful deploy reports."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["version"]


def listed(url: str, *args: Any) -> list[dict[str, Any]]:
    """`octopack deployments ... --output-format json` as a list."""
    result = octopack("deployments", *args, "--server", url, "--api-key", ADMIN_KEY,
                      "--output-format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["deployments"]


def environments(url: str) -> dict[str, dict[str, dict[str, Any]]]:
    """GET /api/octopack/environments as {environment: {package id: entry}}."""
    answer = requests.get(f"{url}/api/octopack/environments",
                          headers={"X-Octopus-ApiKey": ADMIN_KEY}, timeout=30)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return {
        env["name"]: {p["package_id"]: p for p in env["packages"]}
        for env in answer.json()["environments"]
    }


def outbox_files(root: Path) -> list[Path]:
    """The reports waiting in a target's outbox."""
    return sorted((root / ".octopack" / "outbox").glob("*.json"))


Deploy = Callable[..., Result]
