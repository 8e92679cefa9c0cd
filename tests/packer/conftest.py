"""Fixtures for the pack tests: a small app tree and a runner for `octopack pack`."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from packer.cli import main


@dataclass
class PackRun:
    """The outcome of one `octopack pack` invocation."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_pack(*args: str, env: dict[str, str] | None = None) -> PackRun:
    """Run `octopack pack ARGS` in-process and capture stdout and stderr apart."""
    result = CliRunner().invoke(main, ["pack", *args], env=env, catch_exceptions=False)
    return PackRun(result.exit_code, result.stdout, result.stderr)


def write(path: Path, text: str = "x", mode: int = 0o644) -> Path:
    """Create a file (and its parents) with the given text and mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def need_tool(name: str) -> str:
    """Return the path of an external tool; skip locally when missing, fail under CI."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is a failure)")
    pytest.skip(message)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A small app: root deploy scripts (one executable), config, nested and empty dirs."""
    root = tmp_path / "app"
    write(root / "Deploy.sh", "#!/bin/sh\necho deploy\n", 0o755)
    write(root / "PreDeploy.sh", "#!/bin/sh\necho pre\n")
    write(root / "config" / "app.conf", "greeting = #{Greeting}\n" * 50)
    write(root / "web" / "static" / "app.js", "console.log('hi');\n")
    write(root / "bin" / "tool", "#!/bin/sh\n", 0o750)
    write(root / ".env", "SECRET=1\n")
    (root / "logs" / "empty").mkdir(parents=True)
    return root


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def leftovers(folder: Path) -> list[str]:
    """Names in a folder (empty when it does not exist): nothing half written may remain."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
