"""Drive Debian's `nuget` (NuGet 2.8 on mono) in tests: bounded, isolated, in a pseudo-terminal.

Why a pseudo-terminal: NuGet 2.8's `list` wraps its output to the console width, which mono
reports as 0 when stdout is a pipe, and then prints empty lines forever. Why run it in the
package's folder with relative names: it reads a positional argument starting with `/` as a
switch.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT_SECONDS = float(os.environ.get("OCTOPACK_NUGET_TIMEOUT", "120"))
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


@dataclass(frozen=True)
class NuGetRun:
    """What one nuget invocation printed and how it ended."""

    args: tuple[str, ...]
    returncode: int
    output: str

    def lines(self) -> list[str]:
        """Return the non-empty output lines."""
        return [line.strip() for line in self.output.splitlines() if line.strip()]


def require_nuget() -> str:
    """Return the nuget executable; skip with a printed reason, or fail when CI is set."""
    found = shutil.which("nuget")
    if found is None:
        reason = "Debian's nuget (NuGet 2.8, mono) is not installed; .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    return found


def run_nuget(executable: str, args: list[str], cwd: Path, home: Path) -> NuGetRun:
    """Run nuget with a private HOME in a 200-column pseudo-terminal; kill it past the limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUGET")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), TERM="xterm")
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    process = subprocess.Popen(
        [executable, *args, "-NonInteractive"],
        cwd=cwd,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    output = _read_until_exit(process, master)
    return NuGetRun(tuple(args), process.returncode, _ESCAPES.sub("", output))


def _read_until_exit(process: subprocess.Popen, master: int) -> str:
    """Collect the terminal output until nuget exits; stop it by its own group past the limit."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + TIMEOUT_SECONDS
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                tail = b"".join(chunks)[-2000:].decode("utf-8", "replace")
                raise AssertionError(
                    f"nuget did not finish in {TIMEOUT_SECONDS}s; last output: {tail!r}"
                )
            ready, _, _ = select.select([master], [], [], min(remaining, 1.0))
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the terminal closed because nuget exited
                    data = b""
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        process.wait(timeout=TIMEOUT_SECONDS)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")
