"""The health check: retried with a fake sleeper, stopped on a bounded real timeout."""

from __future__ import annotations

import io
import os
from pathlib import Path

from packer.model.manifest import HealthCheck
from packer.target.health import TIMED_OUT_EXIT, run_health_check


def run(tmp_path: Path, health: HealthCheck, command: str) -> tuple:
    lines: list[str] = []
    slept: list[float] = []
    env = dict(os.environ, SECRET="hunter2")
    result = run_health_check(
        health, command, tmp_path, env, lambda t: t.replace("hunter2", "***"), lines.append,
        io.StringIO(), slept.append,
    )  # fmt: skip
    return result, lines, slept


def test_passes_on_a_later_attempt_sleeping_between_attempts(tmp_path: Path) -> None:
    # fails twice (the counter file grows a line per attempt), then succeeds
    command = 'echo x >> tries; echo "try $(wc -l < tries) $SECRET"; [ $(wc -l < tries) -ge 3 ]'
    result, lines, slept = run(tmp_path, HealthCheck(command, 5, 2.5, 10), command)
    assert result.exit_code == 0 and result.name == "HealthCheck"
    assert slept == [2.5, 2.5]  # two waits: after attempts 1 and 2
    assert "[HealthCheck] try 3 ***" in lines and "[HealthCheck] healthy" in lines
    assert (tmp_path / "tries").read_text() == "x\nx\nx\n"  # ran in the release folder


def test_fails_when_attempts_run_out(tmp_path: Path) -> None:
    command = "echo down; exit 7"
    result, lines, slept = run(tmp_path, HealthCheck(command, 3, 1, 10), command)
    assert result.exit_code == 7
    assert result.message == "HealthCheck: not healthy after 3 attempt(s); last exit code 7"
    assert slept == [1, 1]
    assert lines.count("[HealthCheck] down") == 3


def test_an_attempt_that_overruns_is_stopped(tmp_path: Path) -> None:
    # bounded real time: each attempt is killed after 0.3 s, far below the 30 s the child sleeps
    command = "sleep 30 & wait; echo never"
    result, lines, slept = run(tmp_path, HealthCheck(command, 2, 0, 0.3), command)
    assert result.exit_code == TIMED_OUT_EXIT
    assert result.message == "HealthCheck: not healthy after 2 attempt(s); last timed out"
    assert lines.count("[HealthCheck] timed out after 0.3 seconds") == 2
    assert "[HealthCheck] never" not in lines and slept == [0]
