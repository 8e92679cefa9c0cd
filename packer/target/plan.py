"""`octopack deploy --dry-run`: what a deploy would do, without touching the release folders.

The package is extracted into a private temp folder (validated as for a real deploy), its
process resolved the same way, `#{Name}` substitution applied there, and the structured
variables planned by the same code a real deploy runs, so the plan's changes are the ones
the deploy then makes. Scripts do not run, so what PreDeploy would change is not shown.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packer.archive import validator as archive
from packer.target.deploy import DeployOptions, PackageToDeploy, limits_of
from packer.target.pipeline import ORDER, STRUCTURED_STEP, SUBSTITUTE_STEP, health_command
from packer.target.process import Process, resolve_process
from packer.target.scripts import choose_script, find_scripts
from packer.target.structured import Change, plan_structured
from packer.target.substitution import find_tokens, match_files, substitute_files
from packer.target.variables import MASK


@dataclass
class DeployPlan:
    """The dry-run document: steps, changes per file and key, warnings, the health command."""

    id: str
    version: str
    environment: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    health: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON of `octopack deploy --dry-run --output-format json`."""
        return {
            "id": self.id,
            "version": self.version,
            "environment": self.environment,
            "steps": self.steps,
            "changes": [change.to_json() for change in self.changes],
            "warnings": self.warnings,
            "health": self.health,
        }


def plan_package(package: PackageToDeploy, options: DeployOptions) -> DeployPlan:
    """Work out the plan of deploying `package` with `options`; nothing under the root changes."""
    layout = options.layout
    layout.package_dir(package.package_id, options.environment)  # validates id and environment
    plan = DeployPlan(package.package_id, package.version, options.environment)
    with tempfile.TemporaryDirectory(prefix="octopack-plan-") as temp:
        release = Path(temp) / "release"
        archive.extract_archive(package.path, package.fmt, release, limits_of(options))
        process = resolve_process(
            release, options.environment, options.variables, options.substitute
        )
        target = layout.free_release_dir(package.package_id, options.environment, package.version)
        plan.steps.append({"name": "Extract", "detail": str(target)})
        _plan_steps(plan, process, release, options.allow_missing_variables)
        plan.steps.append(
            {
                "name": "SwitchCurrent",
                "detail": str(layout.current_link(package.package_id, options.environment)),
            }
        )
    return plan


def _plan_steps(plan: DeployPlan, process: Process, release: Path, allow_missing: bool) -> None:
    """Add the steps after extraction, with the changes of substitution and structured files."""
    scripts = find_scripts(process.scripts_dir(release))
    mask = process.variables.mask
    for step in ORDER:
        if step == SUBSTITUTE_STEP and process.substitute:
            plan.steps.append({"name": step, "detail": ", ".join(process.substitute)})
            _plan_substitution(plan, process, release, allow_missing)
        elif step == STRUCTURED_STEP and process.structured:
            plan.steps.append({"name": step, "detail": ", ".join(process.structured)})
            structured = plan_structured(release, process.structured, process.variables)
            plan.changes += structured.changes
            plan.warnings += structured.warnings
        elif step == "HealthCheck" and process.health is not None:
            command, missing = health_command(process) or ("", [])
            plan.health = mask(command)
            checks = (
                f"{process.health.attempts} attempt(s), {process.health.timeout_seconds:g}s each"
            )
            plan.steps.append({"name": step, "detail": f"{plan.health} ({checks})"})
            if missing:
                plan.warnings.append(f"HealthCheck: no value for {', '.join(missing)}")
        elif scripts.get(step):
            script, _ = choose_script(scripts[step])
            plan.steps.append({"name": step, "detail": script.relative_to(release).as_posix()})
    if scripts["DeployFailed"]:
        script, _ = choose_script(scripts["DeployFailed"])
        detail = f"{script.relative_to(release).as_posix()} (only when a step fails)"
        plan.steps.append({"name": "DeployFailed", "detail": detail})


def _plan_substitution(
    plan: DeployPlan, process: Process, release: Path, allow_missing: bool
) -> None:
    """List each `#{Name}` a file would lose, then substitute in the temp copy for what follows."""
    variables = process.variables
    seen: set[tuple[str, str]] = set()
    for glob, paths in match_files(release, process.substitute).items():
        if not paths:
            plan.warnings.append(f"substitute: no file matches {glob!r}")
        for path in paths:
            rel = path.relative_to(release).as_posix()
            for token, name in find_tokens(path.read_bytes()):
                value = variables.lookup(name)
                if (rel, name) in seen:
                    continue
                seen.add((rel, name))
                if value is None:
                    verdict = "left as is" if allow_missing else "the deploy would fail"
                    plan.warnings.append(f"substitute: no value for {name} in {rel}; {verdict}")
                    continue
                secret = any(n.casefold() == name.casefold() for n in variables.sensitive)
                plan.changes.append(
                    Change(rel, name, token, MASK if secret else variables.mask(value))
                )
    substitute_files(release, process.substitute, variables, allow_missing=True)
