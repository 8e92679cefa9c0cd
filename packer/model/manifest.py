"""`octopack.toml`: the deployment process as code, travelling at the package root.

Parsed and checked here without touching the disk, so `pack` and the target apply the same
rules. Every error is a `ManifestError` whose message reads `octopack.toml:LINE: message`.
The contract is in docs/process-as-code.md.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from packer.model.errors import BadInput
from packer.model.toml_lines import TomlLines

MANIFEST_NAME = "octopack.toml"

_KEYS: dict[str, tuple[str, ...]] = {
    "process": ("scripts", "substitute", "structured"),
    "secrets": ("required",),
    "health": ("command", "attempts", "interval_seconds", "timeout_seconds"),
}
_TABLES = ("process", "variables", "environments", "secrets", "health")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


class ManifestError(BadInput):
    """A manifest rule was broken; the message names the file and the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"{MANIFEST_NAME}:{line}: {message}")
        self.line = line


@dataclass(frozen=True)
class HealthCheck:
    """How a release proves it is healthy: a shell command retried until it succeeds."""

    command: str
    attempts: int = 1
    interval_seconds: float = 1.0
    timeout_seconds: float = 30.0

    def to_json(self) -> dict[str, Any]:
        """Return the `health` entry of the process summary."""
        return {
            "command": self.command,
            "attempts": self.attempts,
            "interval_seconds": self.interval_seconds,
            "timeout_seconds": self.timeout_seconds,
        }


@dataclass(frozen=True)
class Manifest:
    """The process of one package: scripts folder, files to configure, variables, health."""

    scripts: str | None = None
    substitute: tuple[str, ...] = ()
    structured: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    health: HealthCheck | None = None
    where: TomlLines = field(default_factory=lambda: TomlLines(""), compare=False)

    def variables_for(self, environment: str | None) -> dict[str, str]:
        """Return the defaults overlaid with the environment's values (exact name, else any case)."""
        values = dict(self.variables)
        if environment is None:
            return values
        chosen = self.environments.get(environment)
        if chosen is None:
            folded = environment.casefold()
            chosen = next(
                (v for name, v in self.environments.items() if name.casefold() == folded), {}
            )
        values.update(chosen)
        return values

    def to_json(self) -> dict[str, Any]:
        """Return the `process` summary of `octopack pack`."""
        return {
            "scripts": self.scripts,
            "substitute": list(self.substitute),
            "structured": list(self.structured),
            "environments": sorted(self.environments),
            "secrets": list(self.secrets),
            "health": self.health.to_json() if self.health else None,
        }


def parse_manifest(text: str) -> Manifest:
    """Parse and check a manifest's text; raise ManifestError naming the line of the fault."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_POSITION.search(message)
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))  # at the end
        message = _TOML_POSITION.sub("", message).replace(" (at end of document)", "")
        raise ManifestError(line, f"not valid TOML: {message}") from None
    where = TomlLines(text)
    for name, value in document.items():
        if name not in _TABLES:
            raise ManifestError(
                where.line_of((name,)), f"unknown table [{name}]; expected {', '.join(_TABLES)}"
            )
        if not isinstance(value, dict):
            raise ManifestError(where.line_of((name,)), f"{name} must be a table [{name}]")
    for name, keys in _KEYS.items():
        for key in document.get(name, {}):
            if key not in keys:
                raise ManifestError(
                    where.line_of((name, key)),
                    f"unknown key {key!r} in [{name}]; expected {', '.join(keys)}",
                )
    process = document.get("process", {})
    manifest = Manifest(
        scripts=_scripts_folder(process.get("scripts"), where),
        substitute=_globs(process, "substitute", where),
        structured=_globs(process, "structured", where),
        variables=_variables(document.get("variables", {}), ("variables",), where),
        environments=_environments(document.get("environments", {}), where),
        secrets=_secrets(document.get("secrets", {}), where),
        health=_health(document.get("health"), where),
        where=where,
    )
    _check_secrets_have_no_value(manifest)
    return manifest


def _scripts_folder(value: Any, where: TomlLines) -> str | None:
    """Normalise `scripts` to a relative POSIX folder; None means the package root."""
    if value is None:
        return None
    line = where.line_of(("process", "scripts"))
    if not isinstance(value, str):
        raise ManifestError(line, "scripts must be a folder name in quotes")
    folder = value.strip().removeprefix("./").strip("/")
    if value.strip().startswith("/") or "\\" in folder or ":" in folder:
        raise ManifestError(line, f"scripts {value!r} must be a relative POSIX path")
    if any(part in ("", ".", "..") for part in folder.split("/")) and folder not in ("", "."):
        raise ManifestError(line, f"scripts {value!r} must stay inside the package")
    return None if folder in ("", ".") else folder


def _globs(table: dict[str, Any], key: str, where: TomlLines) -> tuple[str, ...]:
    """Return a list of glob strings, or refuse anything else."""
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ManifestError(where.line_of(("process", key)), f"{key} must be a list of globs")
    return tuple(value)


def _scalar(value: Any, line: int, name: str) -> str:
    """Turn a TOML string, number or boolean into a variable's text (JSON spelling)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise ManifestError(line, f"variable {name!r} must be a string, number or boolean")


def _variables(table: Any, path: tuple[str, ...], where: TomlLines) -> dict[str, str]:
    """Read a table of NAME = VALUE."""
    if not isinstance(table, dict):
        raise ManifestError(where.line_of(path), f"[{'.'.join(path)}] must be a table")
    return {
        name: _scalar(value, where.line_of((*path, name)), name) for name, value in table.items()
    }


def _environments(table: dict[str, Any], where: TomlLines) -> dict[str, dict[str, str]]:
    """Read `[environments.NAME.variables]` tables; nothing else lives under an environment."""
    result: dict[str, dict[str, str]] = {}
    for env, body in table.items():
        path = ("environments", env)
        if not isinstance(body, dict):
            raise ManifestError(where.line_of(path), f"environments.{env} must be a table")
        for key in body:
            if key != "variables":
                raise ManifestError(
                    where.line_of((*path, key)),
                    f"unknown key {key!r} in [environments.{env}]; expected variables",
                )
        result[env] = _variables(body.get("variables", {}), (*path, "variables"), where)
    return result


def _secrets(table: dict[str, Any], where: TomlLines) -> tuple[str, ...]:
    """Read `[secrets] required`: names the target must supply."""
    value = table.get("required", [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ManifestError(
            where.line_of(("secrets", "required")), "required must be a list of variable names"
        )
    return tuple(value)


def _health(table: dict[str, Any] | None, where: TomlLines) -> HealthCheck | None:
    """Read `[health]`: a command, with attempts, interval and timeout in bounds."""
    if table is None:
        return None
    command = table.get("command")
    if not isinstance(command, str) or not command.strip():
        raise ManifestError(where.line_of(("health", "command")), "health needs a command")
    attempts = table.get("attempts", 1)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ManifestError(
            where.line_of(("health", "attempts")), "attempts must be a whole number, at least 1"
        )
    numbers: dict[str, float] = {}
    for key, default, least in (("interval_seconds", 1.0, 0.0), ("timeout_seconds", 30.0, 0.0)):
        value = table.get(key, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or value < least or (key == "timeout_seconds" and value == 0):
            bound = "above 0" if key == "timeout_seconds" else "0 or more"
            raise ManifestError(where.line_of(("health", key)), f"{key} must be a number {bound}")
        numbers[key] = float(value)
    return HealthCheck(command, attempts, numbers["interval_seconds"], numbers["timeout_seconds"])


def _check_secrets_have_no_value(manifest: Manifest) -> None:
    """Refuse a secret that the package also gives a value: secrets come from the target."""
    secrets = {name.casefold(): name for name in manifest.secrets}
    scopes: list[tuple[tuple[str, ...], dict[str, str]]] = [(("variables",), manifest.variables)]
    scopes += [(("environments", e, "variables"), v) for e, v in manifest.environments.items()]
    for path, values in scopes:
        for name in values:
            if name.casefold() in secrets:
                raise ManifestError(
                    manifest.where.line_of((*path, name)),
                    f"{name!r} is a required secret and must not be given a value in the "
                    "package; pass it on the target with --sensitive-variable",
                )
