"""Tell the feed what ran where: one report per deployment, through the outbox.

The report is put in the outbox when the journal records the end of a deployment and
sent after the deployment, so a feed that is down never fails a deployment that
succeeded; the next run (or `octopack deployments --flush-outbox`) sends what waits
before anything else.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from packer.client.deployments import Delivery, DeploymentsClient
from packer.model.conventions import DeployStatus
from packer.model.environments import check_name
from packer.target.journal import JournalEntry
from packer.target.outbox import Outbox

SUCCEEDED = "succeeded"
FAILED = "failed"
REPORT_RETRIES = 1  # the outbox is the real retry: do not hold a target up for long


def default_target() -> str:
    """Name this target by its host name (what `--target` defaults to)."""
    return socket.gethostname()


def check_target(name: str) -> str:
    """Return a target name the feed will take (the environment-name rule); BadInput else."""
    return check_name(name, "--target")


def deployment_report(entry: JournalEntry, target: str, forced: bool) -> dict[str, Any]:
    """Build the report of one finished deployment, under a new UUID."""
    return {
        "id": str(uuid.uuid4()),
        "package_id": entry.id,
        "version": entry.version,
        "environment": entry.environment,
        "target": target,
        "status": SUCCEEDED if entry.status == DeployStatus.SUCCESS else FAILED,
        "started": entry.started,
        "finished": entry.finished,
        "forced": forced,
    }


@dataclass
class FlushResult:
    """What one pass over the outbox did."""

    delivered: int = 0
    rejected: int = 0
    kept: int = 0
    messages: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the counts (the JSON of `deployments --flush-outbox`)."""
        return {"delivered": self.delivered, "rejected": self.rejected, "kept": self.kept}


class Reporter:
    """Put reports of one target in its outbox and deliver them to one feed."""

    def __init__(
        self,
        client: DeploymentsClient,
        outbox: Outbox,
        echo: Callable[[str], None],
        target: str | None = None,
        forced: bool = False,
    ) -> None:
        self.client = client
        self.outbox = outbox
        self.echo = echo
        self.target = check_target(target) if target is not None else default_target()
        self.forced = forced

    def record(self, entry: JournalEntry) -> None:
        """Put the report of a finished deployment in the outbox (the journal's hook)."""
        if entry.status == DeployStatus.RUNNING:
            return
        if entry.environment is None:
            self.echo("not reported to the feed: the deployment has no --environment")
            return
        report = deployment_report(entry, self.target, self.forced)
        try:
            self.outbox.put(self.client.server, report)
        except OSError as error:  # never fail a deployment over its report
            self.echo(f"warning: cannot write the deployment report to {self.outbox.path}: {error}")

    def flush(self) -> FlushResult:
        """Send every report waiting for this feed, oldest first; stop at the first that must wait."""
        result = FlushResult()
        waiting, broken = self.outbox.waiting()
        for path, reason in broken:
            moved = self.outbox.reject(path, reason)
            result.rejected += 1
            self._say(result, f"warning: {path.name} in the outbox is {reason}; moved to {moved}")
        mine = [entry for entry in waiting if entry.server == self.client.server]
        others = sorted({entry.server for entry in waiting} - {self.client.server})
        if others:
            result.kept += len(waiting) - len(mine)
            self._say(result, f"{len(waiting) - len(mine)} deployment reports in "
                      f"{self.outbox.path} wait for another feed: {', '.join(others)}")  # fmt: skip
        for index, entry in enumerate(mine):
            answer = self.client.report(entry.report, retries=REPORT_RETRIES)
            if answer.delivery == Delivery.DELIVERED:
                self.outbox.delivered(entry.path)
                result.delivered += 1
            elif answer.delivery == Delivery.REJECTED:
                moved = self.outbox.reject(entry.path, answer.message, entry)
                result.rejected += 1
                self._say(result, f"warning: the feed refused deployment report "
                          f"{entry.report.get('id')} ({answer.message}); moved to {moved}")  # fmt: skip
            else:
                result.kept += len(mine) - index
                self._say(result, f"warning: deployment report kept in {self.outbox.path} "
                          f"({answer.message}); it is sent on the next run")  # fmt: skip
                break
        return result

    def _say(self, result: FlushResult, message: str) -> None:
        """Print a message once and keep it for the caller."""
        result.messages.append(message)
        self.echo(message)
