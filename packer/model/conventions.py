"""The wire vocabulary shared by client, feed and target, each word defined once.

Deploy-script names, overwrite modes (CLI and API spellings), push statuses, deploy
statuses and the deploy JSON document: `pack`, `push`, the feed and `deploy` all read
them here, so a word cannot drift between the two ends of a wire.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from packer.model.errors import BadInput

__all__ = [
    "SCRIPT_EXTENSIONS",
    "SCRIPT_STEPS",
    "DeployReport",
    "DeployStatus",
    "OverwriteMode",
    "PushStatus",
    "Transfer",
    "TransferMode",
    "script_step",
]

# -- deploy scripts ---------------------------------------------------------------------

SCRIPT_STEPS = ("PreDeploy", "Deploy", "PostDeploy", "DeployFailed")
"""The scripts a package may carry at its root, in the order they run (DeployFailed on failure)."""
SCRIPT_EXTENSIONS = (".sh", ".py", ".ps1")
"""What a deploy script may be written in, in the order of preference on Linux."""

_STEP_BY_LOWER = {step.lower(): step for step in SCRIPT_STEPS}


def script_step(filename: str) -> str | None:
    """Return the step a file name runs as (`deploy.SH` -> `Deploy`), or None when none.

    Names and extensions match case-insensitively; only the last path segment counts.
    """
    stem, dot, ext = filename.rsplit("/", 1)[-1].rpartition(".")
    if not dot or "." + ext.lower() not in SCRIPT_EXTENSIONS:
        return None
    return _STEP_BY_LOWER.get(stem.lower())


# -- overwrite modes --------------------------------------------------------------------


class OverwriteMode(enum.Enum):
    """What a push does when the version already exists; values are Octopus's API names."""

    FAIL_IF_EXISTS = "FailIfExists"
    OVERWRITE_EXISTING = "OverwriteExisting"
    IGNORE_IF_EXISTS = "IgnoreIfExists"

    @property
    def cli_name(self) -> str:
        """Return the command line spelling: fail-if-exists, overwrite-existing, ignore-if-exists."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> OverwriteMode:
        """Read either spelling, in any case, with or without dashes; BadInput when unknown."""
        wanted = text.replace("-", "").replace("_", "").lower()
        for mode in cls:
            if mode.value.lower() == wanted:
                return mode
        raise BadInput(
            f"unknown overwrite mode {text!r}: use one of {', '.join(m.cli_name for m in cls)} "
            f"(or {', '.join(m.value for m in cls)})"
        )

    @classmethod
    def from_query(cls, mode: str | None, replace: bool = False) -> OverwriteMode:
        """The API's choice: `overwriteMode` when given, else legacy `replace=true`, else fail."""
        if mode:
            return cls.parse(mode)
        return cls.OVERWRITE_EXISTING if replace else cls.FAIL_IF_EXISTS


# -- push statuses ----------------------------------------------------------------------

PUSH_STATUS_HEADER = "X-Octopack-Push-Status"  # the feed's answer carries a PushStatus
# octopack's raw push (PUT /api/octopack/packages/{filename}): the package's SHA-256 in
# this header as 64 hex digits, or RAW_PUSH_TRAILER there and the digits after the package
RAW_PUSH_SHA256_HEADER = "X-Octopack-Sha256"
RAW_PUSH_TRAILER = "trailer"
RAW_PUSH_TRAILER_BYTES = 64


class PushStatus(enum.StrEnum):
    """What became of one pushed package: the `status` of the push JSON and the feed's
    `X-Octopack-Push-Status` header (the feed itself only answers the first three)."""

    CREATED = "created"
    KEPT = "kept"
    OVERWRITTEN = "overwritten"
    CONFLICT = "conflict"
    REFUSED = "refused"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        """True when the package is on the feed as the caller asked (exit 0)."""
        return self in _STORED


_STORED = frozenset({PushStatus.CREATED, PushStatus.KEPT, PushStatus.OVERWRITTEN})


# -- the deploy document ----------------------------------------------------------------


class DeployStatus(enum.StrEnum):
    """The `status` of a deploy: in the JSON document and in the target's journal."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    REFUSED = "refused"
    CLEANED = "cleaned"  # --cleanup-only: retention ran, nothing was deployed


class TransferMode(enum.StrEnum):
    """How a deploy got its package from the feed: the `transfer.mode` of the deploy JSON."""

    DELTA = "delta"  # unchanged entries from a cached older version, the rest by Range
    FULL = "full"  # the whole package downloaded
    CACHED = "cached"  # this very version was in the cache, verified: nothing fetched


@dataclass(frozen=True)
class Transfer:
    """What a deploy fetched from the feed: the mode and the package bytes received."""

    mode: TransferMode
    bytes: int

    def to_json(self) -> dict[str, Any]:
        """Return the `transfer` object of the deploy JSON."""
        return {"mode": str(self.mode), "bytes": self.bytes}


@dataclass
class DeployReport:
    """What a deploy did, in the keys of the deploy JSON contract (`to_json`)."""

    id: str | None
    version: str | None
    environment: str | None
    directory: str | None
    status: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    warnings: list[str] = field(default_factory=list)
    transfer: Transfer | None = None  # deploys from a feed only

    def to_json(self) -> dict[str, Any]:
        """Return the JSON document of `octopack deploy --output-format json`."""
        document = {
            "id": self.id,
            "version": self.version,
            "environment": self.environment,
            "directory": self.directory,
            "status": str(self.status),
            "steps": self.steps,
            "kept": self.kept,
            "deleted": self.deleted,
            "message": self.message,
            "warnings": self.warnings,
        }
        if self.transfer is not None:
            document["transfer"] = self.transfer.to_json()
        return document
