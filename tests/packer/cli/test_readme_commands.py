"""The README's round trip and deploy commands run as written against the example app
(issue 14.3).

The commands are read from README.md itself, so the test fails when the README drifts.
They run through bash against a real feed on loopback; the only edits are the feed's
address and the target roots (`/tmp/targets`, `/srv/apps`, `http://feed:8080`), which
point into the test's own folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.feed_server import running_feed
from tests.packer.cli.cli_process import ROOT


def readme_block(heading: str) -> list[str]:
    """Return the commands of the first code block under a README heading (joined lines)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, f"no code block under '## {heading}'"
    joined = block.group(1).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


@pytest.fixture
def shell(tmp_path: Path):
    """Run one README line in bash, with `octopack` this tree's command, in a scratch folder."""
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    wrapper = bin_dir / "octopack"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -c "from packer.cli import main; main()" "$@"\n'
    )
    wrapper.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))

    def run(line: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f"set -euo pipefail; {line}"],
            cwd=work,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def test_readme_round_trip_and_deploy_commands_run_as_written(shell, tmp_path: Path) -> None:
    round_trip = readme_block("A round trip")
    deploying = readme_block("Deploying on a target")
    assert any("--substitute" in line for line in round_trip + deploying)
    targets, apps = tmp_path / "targets", tmp_path / "apps"
    with running_feed(tmp_path / "store") as feed:
        env = {"OCTOPACK_SERVER": feed.url, "OCTOPACK_API_KEY": feed.admin_key}
        for line in round_trip:
            if line.startswith("export "):
                assert "OCTOPACK_SERVER" in line and "OCTOPACK_API_KEY" in line
                continue
            result = shell(line.replace("/tmp/targets", str(targets)), env)
            assert result.returncode == 0, (line, result.stdout, result.stderr)
            if line.startswith("octopack versions"):
                assert result.stdout.split() == ["1.0.0"]
        for line in deploying:
            line = line.replace("http://feed:8080", feed.url).replace("/srv/apps", str(apps))
            result = shell(line, {"OCTOPACK_API_KEY": feed.admin_key})
            assert result.returncode == 0, (line, result.stdout, result.stderr)
    release = targets / "Test" / "Hello.App" / "1.0.0"
    conf = (release / "config" / "app.conf").read_text()
    assert "greeting = Hello\n" in conf and "#{...}" in conf  # the hint stays as text
    assert (targets / "Test" / "Hello.App" / "current").resolve() == release.resolve()
    production = apps / "Production" / "Hello.App" / "1.0.0" / "config" / "app.conf"
    assert "greeting = Hi\n" in production.read_text()
    assert (apps / "Hello.App" / "1.0.0").is_dir()  # the offline drop
