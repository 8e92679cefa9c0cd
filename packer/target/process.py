"""The process of one release: its octopack.toml (if any) joined with the target's options.

Variables merge by precedence, highest first: `--sensitive-variable`/`--variable`,
`--variables-file` (both already in the command line's `Variables`), then
`[environments.E.variables]`, then `[variables]`. Required secrets must come from the
target; one that is missing stops the deploy before any step. Secrets are masked even when
given with a plain `--variable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packer.model.errors import OperationFailed
from packer.model.manifest import (
    MANIFEST_NAME,
    HealthCheck,
    Manifest,
    ManifestError,
    parse_manifest,
)
from packer.target.variables import Variables


@dataclass
class Process:
    """What a release's deploy does: variables, files to configure, scripts folder, health."""

    variables: Variables
    substitute: list[str] = field(default_factory=list)
    structured: list[str] = field(default_factory=list)
    scripts: str | None = None  # relative folder of the convention scripts; None: the root
    health: HealthCheck | None = None
    manifest: Manifest | None = None

    def scripts_dir(self, release: Path) -> Path:
        """Return the folder of the convention scripts inside `release`."""
        return release / self.scripts if self.scripts else release


def read_manifest(release: Path) -> Manifest | None:
    """Read the release's octopack.toml; a broken one refuses the package (exit 1)."""
    path = release / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        return parse_manifest(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as error:
        raise OperationFailed(f"the package's {MANIFEST_NAME} is not UTF-8: {error}") from None
    except ManifestError as error:
        raise OperationFailed(f"the package's {error}") from None


def resolve_process(
    release: Path, environment: str | None, given: Variables, substitute: list[str]
) -> Process:
    """Join the manifest in `release` with the target's variables and `--substitute` globs."""
    manifest = read_manifest(release)
    if manifest is None:
        return Process(given, list(substitute))
    values = manifest.variables_for(environment)
    values.update(given.values)
    variables = Variables(values, set(given.sensitive))
    missing = []
    for secret in manifest.secrets:
        names = [n for n in given.values if n.casefold() == secret.casefold()]
        if not names:
            missing.append(secret)
        variables.sensitive.update(names)
    if missing:
        raise OperationFailed(
            f"required secret{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} not given; pass "
            f"{'each' if len(missing) > 1 else 'it'} on this target with "
            "--sensitive-variable NAME=VALUE (or --variables-file)"
        )
    if manifest.scripts and not (release / manifest.scripts).is_dir():
        raise OperationFailed(
            f"the package's {MANIFEST_NAME} names scripts folder {manifest.scripts!r}, "
            "which the package does not have"
        )
    globs = list(manifest.substitute) + [g for g in substitute if g not in manifest.substitute]
    return Process(
        variables, globs, list(manifest.structured), manifest.scripts, manifest.health, manifest
    )
