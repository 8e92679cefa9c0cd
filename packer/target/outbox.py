"""The report outbox of a target: `{root}/.octopack/outbox/{uuid}.json`, one file a report.

A report is written here (atomically, owner-only) before it is sent and removed once the
feed has it, so a feed that is down, or a run that is killed, loses nothing. The UUID
in the report makes a resend harmless: the feed stores a record once per id. A report the
feed will never take moves to `outbox/rejected/` with the reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packer.target.journal import write_json_atomically

OUTBOX_NAME = "outbox"
REJECTED_NAME = "rejected"


@dataclass(frozen=True)
class Waiting:
    """One report in the outbox and the feed it is for."""

    path: Path
    server: str
    report: dict[str, Any]


class Outbox:
    """The outbox folder of one target root's state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / OUTBOX_NAME
        self.rejected_path = self.path / REJECTED_NAME

    def put(self, server: str, report: dict[str, Any]) -> Path:
        """Write one report for `server`; the file name is the report's UUID."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.path / f"{report['id']}.json"
        write_json_atomically(path, {"server": server, "report": report})
        return path

    def waiting(self) -> tuple[list[Waiting], list[tuple[Path, str]]]:
        """Return the reports waiting, oldest first, and the files that are not reports."""
        if not self.path.is_dir():
            return [], []
        found: list[Waiting] = []
        broken: list[tuple[Path, str]] = []
        for path in self.path.glob("*.json"):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                found.append(Waiting(path, str(document["server"]), dict(document["report"])))
            except (OSError, ValueError, KeyError, TypeError) as error:
                broken.append((path, f"not a report file: {error.__class__.__name__}"))
        found.sort(key=lambda w: (str(w.report.get("finished", "")), w.path.name))
        return found, broken

    def delivered(self, path: Path) -> None:
        """Remove a report the feed has stored."""
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str, entry: Waiting | None = None) -> Path:
        """Move a report the feed will never take to `rejected/`, with the reason beside it."""
        self.rejected_path.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.rejected_path / path.name
        if entry is not None:
            document = {"server": entry.server, "report": entry.report, "reason": reason}
            write_json_atomically(target, document)
            path.unlink(missing_ok=True)
        else:
            os.replace(path, target)
            write_json_atomically(target.with_suffix(".reason.json"), {"reason": reason})
        return target
