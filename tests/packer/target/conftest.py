"""Fixtures of the deploy tests: a target root and a CLI runner."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from packer.cli import main


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty target root."""
    path = tmp_path / "target"
    path.mkdir()
    return path


@pytest.fixture
def octopack() -> Callable[..., Result]:
    """Run `octopack ARGS...` in-process and return click's result."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return run


def journal(root: Path) -> list[dict]:
    """Read the target's journal entries."""
    return json.loads((root / ".octopack" / "journal.json").read_text())["deployments"]


def files_below(path: Path) -> set[str]:
    """Every path below `path`, relative, as POSIX strings."""
    return {p.relative_to(path).as_posix() for p in path.rglob("*")}
