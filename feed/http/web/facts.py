"""What the pages show, gathered from the core objects and shaped for the templates.

The deployment facts come from `FeedServices.deployments` (docs/deployments.md): the
per-environment state documents of one package, or the feed-wide environments summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from feed.core.deployments.state import same_version
from feed.core.records import PackageRecord
from feed.http.context import services
from packer.model.identity import id_key
from packer.model.versions import parse_version

FAILED = "failed"


@dataclass(frozen=True)
class Cell:
    """One package in one environment: what runs there, since when, on how many targets."""

    environment: str
    version: str | None
    deployed: str | None
    targets: int
    failed: bool


@dataclass(frozen=True)
class Dashboard:
    """Packages x environments; `cells[package][environment]`, missing when never deployed."""

    environments: list[str]
    packages: list[str]
    cells: dict[str, dict[str, Cell]]


def _cell(environment: str, line: dict[str, Any]) -> Cell:
    """Turn one line of the environments summary into a cell."""
    return Cell(
        environment,
        line["version"],
        line["deployed"],
        int(line["targets"]),
        line["last_status"] == FAILED,
    )


def dashboard() -> Dashboard:
    """Return the environments dashboard from the feed-wide summary."""
    summary = services().deployments.environments()
    names = [group["name"] for group in summary]
    cells: dict[str, dict[str, Cell]] = {}
    shown: dict[str, str] = {}
    for group in summary:
        for line in group["packages"]:
            shown.setdefault(id_key(line["package_id"]), line["package_id"])
            row = cells.setdefault(id_key(line["package_id"]), {})
            row[group["name"]] = _cell(group["name"], line)
    order = sorted(shown)
    return Dashboard(names, [shown[k] for k in order], {shown[k]: cells[k] for k in order})


def badges() -> dict[str, list[Cell]]:
    """Return, per package id (lower case), the environments it runs in (home page badges)."""
    board = dashboard()
    return {
        id_key(package): [
            board.cells[package][env] for env in board.environments if env in board.cells[package]
        ]
        for package in board.packages
    }


@dataclass(frozen=True)
class Running:
    """Where one version runs now: an environment and the targets whose last report is it."""

    environment: str
    targets: list[str]
    current: bool
    failed_last: bool


def where_versions_run(package_id: str) -> dict[str, list[Running]]:
    """Return, per normalised version (lower case), the environments where it runs now."""
    found: dict[str, list[Running]] = {}
    for state in services().deployments.states(package_id):
        current = state.get("current") or {}
        last = state.get("last") or {}
        by_version: dict[str, list[str]] = {}
        for target, report in sorted(state.get("targets", {}).items()):
            if report.get("status") == "succeeded":
                by_version.setdefault(report["version"], []).append(target)
        for version, targets in by_version.items():
            is_current = bool(current) and same_version(current["version"], version)
            failed = last.get("status") == FAILED and same_version(last["version"], version)
            found.setdefault(_norm(version), []).append(
                Running(state["environment"], targets, is_current, failed)
            )
        if current and not any(same_version(current["version"], v) for v in by_version):
            found.setdefault(_norm(current["version"]), []).append(
                Running(state["environment"], [], True, False)
            )
    return found


def _norm(version: str) -> str:
    """Return the lower-case normalised form of a version text (the key pages look up)."""
    return parse_version(version).normalized.lower()


def version_key(record: PackageRecord) -> str:
    """Return the key `where_versions_run` uses for a record."""
    return record.normalized_version.lower()


@dataclass(frozen=True)
class Commands:
    """Copy-ready lines for one version."""

    deploy: str
    nuget_install: str | None
    octopus_feed: str
    nuget_v3: str
    nuget_v2: str


def commands(record: PackageRecord, root: str) -> Commands:
    """Return the commands and feed URLs a person copies to use one version."""
    deploy = (
        f"octopack deploy {record.id} --version {record.version} --server {root} "
        "--root /srv/apps --environment Production"
    )
    nuget = (
        f"nuget install {record.id} -Version {record.version} -Source {root}/v3/index.json"
        if record.format == "nupkg"
        else None
    )
    return Commands(deploy, nuget, root, f"{root}/v3/index.json", f"{root}/api/v2/")
