"""The README's promotion walk-through runs as written against a real feed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.feed_server import running_feed
from tests.packer.cli.test_readme_commands import readme_block, shell  # noqa: F401


def test_readme_promotion_walk_through_runs_as_written(shell, tmp_path: Path) -> None:  # noqa: F811
    lines = readme_block("Promotion: deployments, lifecycles and channels")
    targets = tmp_path / "targets"
    with running_feed(tmp_path / "store") as feed:
        env = {"OCTOPACK_SERVER": feed.url, "OCTOPACK_API_KEY": feed.admin_key}
        outputs = {}
        for line in lines:
            if line.startswith("export "):
                continue
            result = shell(line.replace("/tmp/targets", str(targets)), env)
            assert result.returncode == 0, (line, result.stdout, result.stderr)
            outputs[line.split(" --")[0]] = result.stdout
    listed = json.loads(outputs["octopack deployments Hello.App"])["deployments"]
    assert [(d["environment"], d["version"], d["target"]) for d in listed] == [
        ("Production", "1.1.0", "web-01"),
        ("Test", "1.1.0", "web-01"),
    ]
    assert "default: Test,Production" in outputs["octopack lifecycle show"]
