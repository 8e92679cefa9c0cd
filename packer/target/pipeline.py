"""The steps of a deploy after extraction, in order, stopping at the first failure.

PreDeploy, SubstituteVariables (`#{Name}` templates), StructuredVariables (JSON, YAML,
.properties), Deploy, PostDeploy, HealthCheck; DeployFailed runs when any of them fails.
Steps with nothing to do are left out of the results. `current` moves only after all of
them succeed (the caller does that).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from packer.model.errors import OperationFailed
from packer.target.health import HEALTH_STEP, run_health_check
from packer.target.process import Process
from packer.target.scripts import StepResult, find_scripts, run_step
from packer.target.structured import apply_structured
from packer.target.substitution import substitute_files, substitute_text

SUBSTITUTE_STEP = "SubstituteVariables"
STRUCTURED_STEP = "StructuredVariables"
ORDER = ("PreDeploy", SUBSTITUTE_STEP, STRUCTURED_STEP, "Deploy", "PostDeploy", HEALTH_STEP)


@dataclass
class StepRun:
    """Everything the steps of one release share."""

    release: Path
    env: dict[str, str]
    process: Process
    echo: Callable[[str], None]
    log: TextIO
    allow_missing_variables: bool = False
    which: Callable[[str], str | None] = shutil.which
    sleep: Callable[[float], None] = time.sleep
    warnings: list[str] = field(default_factory=list)

    def say(self, step: str, line: str) -> None:
        """Echo and log one masked line of a step."""
        text = f"[{step}] " + self.process.variables.mask(line)
        self.echo(text)
        self.log.write(text + "\n")


def run_steps(run: StepRun) -> tuple[list[StepResult], str | None]:
    """Run the steps in order; return their results and the failure message (None: success)."""
    scripts = find_scripts(run.process.scripts_dir(run.release))
    mask = run.process.variables.mask
    results: list[StepResult] = []
    failure: str | None = None
    for step in ORDER:
        if step == SUBSTITUTE_STEP:
            result = _substitute(run)
        elif step == STRUCTURED_STEP:
            result = _structured(run)
        elif step == HEALTH_STEP:
            result = _health(run)
        elif scripts[step]:
            result = run_step(
                step, scripts[step], run.release, run.env, mask, run.echo, run.log, run.which
            )
        else:
            continue
        if result is not None:
            results.append(result)
            if result.exit_code != 0:
                failure = result.message or f"{step} failed"
                break
    if failure is not None and scripts["DeployFailed"]:
        failed_env = dict(run.env, OCTOPACK_FAILED_STEP=results[-1].name)
        results.append(
            run_step(
                "DeployFailed",
                scripts["DeployFailed"],
                run.release,
                failed_env,
                mask,
                run.echo,
                run.log,
                run.which,
            )  # fmt: skip
        )
    return results, failure


def _substitute(run: StepRun) -> StepResult | None:
    """Replace `#{Name}` in the substituted files; None when no globs were given."""
    globs = run.process.substitute
    if not globs:
        return None
    variables = run.process.variables
    try:
        report = substitute_files(run.release, globs, variables, run.allow_missing_variables)
    except (OperationFailed, OSError) as error:
        message = variables.mask(str(error))
        run.say(SUBSTITUTE_STEP, message)
        return StepResult(SUBSTITUTE_STEP, None, 1, message)
    lines = [f"no file matches {glob!r}" for glob in report.unmatched_globs]
    lines += [f"substituted variables in {name}" for name in report.changed]
    lines += [f"left unknown variables in {n}: {', '.join(v)}" for n, v in report.missing.items()]
    for line in lines:
        run.say(SUBSTITUTE_STEP, line)
    return StepResult(SUBSTITUTE_STEP, None, 0)


def _structured(run: StepRun) -> StepResult | None:
    """Replace structured variables in the manifest's `structured` files; None when none."""
    if not run.process.structured:
        return None
    try:
        plan = apply_structured(run.release, run.process.structured, run.process.variables)
    except (OperationFailed, OSError) as error:
        message = run.process.variables.mask(str(error))
        run.say(STRUCTURED_STEP, message)
        return StepResult(STRUCTURED_STEP, None, 1, message)
    for change in plan.changes:
        run.say(STRUCTURED_STEP, f"{change.file}: {change.key} = {change.new}")
    for warning in plan.warnings:
        run.say(STRUCTURED_STEP, f"warning: {warning}")
    run.warnings.extend(plan.warnings)
    return StepResult(STRUCTURED_STEP, None, 0)


def health_command(process: Process) -> tuple[str, list[str]] | None:
    """Return the health command with `#{Name}` replaced, and names that had no value."""
    if process.health is None:
        return None
    return substitute_text(process.health.command, process.variables)


def _health(run: StepRun) -> StepResult | None:
    """Run the `[health]` command until it passes; None when the package has none."""
    found = health_command(run.process)
    if found is None or run.process.health is None:
        return None
    command, missing = found
    if missing:
        message = f"{HEALTH_STEP}: no value for {', '.join(missing)} in the health command"
        run.say(HEALTH_STEP, message)
        return StepResult(HEALTH_STEP, None, 1, message)
    mask = run.process.variables.mask
    return run_health_check(
        run.process.health, command, run.release, run.env, mask, run.echo, run.log, run.sleep
    )
