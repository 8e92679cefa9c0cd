"""Deploy scripts that travel in a package ("scripts as code"): find, choose and run them.

Scripts sit at the package root as PreDeploy, Deploy, PostDeploy and DeployFailed (names
matched case-insensitively) with `.sh`, `.py` or `.ps1`; on Linux one script runs per step,
`.sh` before `.py` before `.ps1`. Output streams live, prefixed by the step, masked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from packer.model.conventions import SCRIPT_EXTENSIONS, SCRIPT_STEPS, script_step

MISSING_INTERPRETER_EXIT = 127


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step: its name, script, exit code and a message when it failed."""

    name: str
    script: str | None
    exit_code: int
    message: str | None = None


def find_scripts(install_dir: Path) -> dict[str, list[Path]]:
    """Map each step to its scripts at the root of `install_dir`, in preference order."""
    found: dict[str, list[Path]] = {step: [] for step in SCRIPT_STEPS}
    for path in install_dir.iterdir():
        step = script_step(path.name) if path.is_file() else None
        if step:
            found[step].append(path)
    for paths in found.values():
        paths.sort(key=lambda p: SCRIPT_EXTENSIONS.index(p.suffix.lower()))
    return found


def command_for(
    script: Path, which: Callable[[str], str | None] = shutil.which
) -> list[str] | None:
    """Return the command line that runs `script`, or None when its interpreter is missing."""
    ext = script.suffix.lower()
    if ext == ".sh":
        bash = which("bash")
        return [bash, str(script)] if bash else None
    if ext == ".py":
        return [sys.executable, str(script)]
    pwsh = which("pwsh")
    return [pwsh, "-NoProfile", "-NonInteractive", "-File", str(script)] if pwsh else None


def choose_script(
    scripts: list[Path], which: Callable[[str], str | None] = shutil.which
) -> tuple[Path, list[str] | None]:
    """Pick the first script by preference whose interpreter exists (else the first one)."""
    for script in scripts:
        command = command_for(script, which)
        if command:
            return script, command
    return scripts[0], None


def run_step(
    name: str,
    scripts: list[Path],
    cwd: Path,
    env: Mapping[str, str],
    mask: Callable[[str], str],
    echo: Callable[[str], None],
    log: TextIO,
    which: Callable[[str], str | None] = shutil.which,
) -> StepResult:
    """Run the step's chosen script, streaming masked, prefixed output to `echo` and `log`."""
    script, command = choose_script(scripts, which)
    prefix = f"[{name}] "
    if command is None:
        message = (
            f"{name}: {script.name} needs PowerShell (pwsh), which is not installed here; "
            f"install pwsh or ship a {name}.sh or {name}.py"
        )
        echo(prefix + message)
        log.write(prefix + message + "\n")
        return StepResult(name, script.name, MISSING_INTERPRETER_EXIT, message)
    header = f"running {script.name}"
    echo(prefix + header)
    log.write(prefix + header + "\n")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = mask(raw.decode("utf-8", "replace").rstrip("\r\n"))
            echo(prefix + line)
            log.write(prefix + line + "\n")
            log.flush()
        code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    message = None if code == 0 else f"{name}: {script.name} exited with code {code}"
    if message:
        echo(prefix + message)
        log.write(prefix + message + "\n")
    return StepResult(name, script.name, code, message)
