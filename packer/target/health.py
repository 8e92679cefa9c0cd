"""The health check of `[health]`: after PostDeploy, before `current` moves.

The command runs in a shell with the release's environment and the release folder as its
working directory, until it exits 0, up to `attempts` times, `interval_seconds` apart. Each
attempt is stopped (its whole process group) after `timeout_seconds`. The sleeper is
injectable so tests never wait on the clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from packer.model.manifest import HealthCheck
from packer.target.scripts import StepResult

HEALTH_STEP = "HealthCheck"
TIMED_OUT_EXIT = 124


def run_health_check(
    check: HealthCheck,
    command: str,
    cwd: Path,
    env: Mapping[str, str],
    mask: Callable[[str], str],
    echo: Callable[[str], None],
    log: TextIO,
    sleep: Callable[[float], None] = time.sleep,
) -> StepResult:
    """Run `command` (variables already substituted) until it succeeds or attempts run out."""
    prefix = f"[{HEALTH_STEP}] "

    def say(text: str) -> None:
        line = prefix + mask(text)
        echo(line)
        log.write(line + "\n")
        log.flush()

    code: int | None = 1
    for attempt in range(1, check.attempts + 1):
        say(f"attempt {attempt} of {check.attempts}: {command}")
        code, output = _attempt(command, cwd, env, check.timeout_seconds)
        for line in output.splitlines():
            say(line)
        if code == 0:
            say("healthy")
            return StepResult(HEALTH_STEP, None, 0)
        if code is None:
            say(f"timed out after {check.timeout_seconds:g} seconds")
        else:
            say(f"exited with code {code}")
        if attempt < check.attempts:
            sleep(check.interval_seconds)
    last = "timed out" if code is None else f"exit code {code}"
    message = f"{HEALTH_STEP}: not healthy after {check.attempts} attempt(s); last {last}"
    say(message)
    return StepResult(HEALTH_STEP, None, TIMED_OUT_EXIT if code is None else code, mask(message))


def _attempt(
    command: str, cwd: Path, env: Mapping[str, str], timeout: float
) -> tuple[int | None, str]:
    """Run one attempt in its own process group; kill the group when it overruns (code None)."""
    process = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        output, _ = process.communicate()
        return None, output.decode("utf-8", "replace")
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    return process.returncode, output.decode("utf-8", "replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the shell and everything it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
