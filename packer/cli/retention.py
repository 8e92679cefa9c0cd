"""`octopack retention` (with `policy show|set|clear`), `pin` and `unpin`.

Each works on a feed's storage directly (`--storage`, for cron jobs next to the bucket)
or through a running feed's admin API (`--server` with an admin key); both run the same
code in `feed.retention.job`, so they give the same results.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote

import click

from packer.cli.common import admin_target_options, output_format_option, print_json, report_errors
from packer.cli.storage_option import storage_calls
from packer.model.errors import BadInput

target_options = admin_target_options("Work on this feed storage directly (no server needed).")


def rule_options(func: Any) -> Any:
    """Add the retention rules of the feed's one rule table as options."""
    from feed.retention.policy import RULES

    count = click.IntRange(min=0)
    for rule in reversed(RULES):
        func = click.option(
            rule.option, type=count, default=None, metavar=rule.metavar, help=rule.help
        )(func)
    return func


class _Direct:
    """Retention on a storage location, through the feed's own classes."""

    def __init__(self, location: str) -> None:
        from packer.cli.feedroot import feed_at

        feed = feed_at(location)
        self.repository = feed.repository
        self.store = feed.retention
        self.actor = f"cli on {socket.gethostname()}"
        self.location = location

    @storage_calls
    def run(self, rules: dict[str, int], package: str | None, dry_run: bool) -> dict[str, Any]:
        from feed.retention.job import run_retention
        from feed.retention.policy import Rules
        from packer.cli.progress import progress

        with progress("retention: packages", None) as update:
            report = run_retention(
                self.repository,
                self.store,
                actor=self.actor,
                rules=Rules.from_dict(rules) if rules else None,
                package=package,
                dry_run=dry_run,
                progress=update,
            )
        return report.to_json()

    @storage_calls
    def show(self) -> dict[str, Any]:
        return {**self.store.policy().to_dict(), "pins": [p.to_json() for p in self.store.pins()]}

    @storage_calls
    def set(self, package: str | None, rules: dict[str, int]) -> dict[str, Any]:
        from feed.retention.policy import Rules

        return self.store.set_policy(package, Rules.from_dict(rules)).to_dict()

    @storage_calls
    def clear(self, package: str | None) -> dict[str, Any]:
        return self.store.clear_policy(package).to_dict()

    @storage_calls
    def pin(self, package_id: str, version: str) -> dict[str, str]:
        return self.store.pin(self.repository, package_id, version, self.actor).to_json()

    @storage_calls
    def unpin(self, package_id: str, version: str) -> dict[str, str]:
        return self.store.unpin(package_id, version).to_json()


class _Remote:
    """Retention through a feed's admin endpoints under /api/octopack/retention."""

    def __init__(self, server: str, api_key: str | None) -> None:
        from packer.client.admin import AdminApi

        self.api = AdminApi(server, api_key, "retention", timeout=600)

    def run(self, rules: dict[str, int], package: str | None, dry_run: bool) -> dict[str, Any]:
        return self.api.call("POST", "/run", json={**rules, "package": package, "dry_run": dry_run})

    def show(self) -> dict[str, Any]:
        return self.api.call("GET", "/policy")

    def set(self, package: str | None, rules: dict[str, int]) -> dict[str, Any]:
        return self.api.call("PUT", "/policy", json={"package": package, "rules": rules})

    def clear(self, package: str | None) -> dict[str, Any]:
        return self.api.call("DELETE", "/policy", params={"package": package} if package else None)

    def pin(self, package_id: str, version: str) -> dict[str, str]:
        return self.api.call("PUT", self._pin_path(package_id, version))

    def unpin(self, package_id: str, version: str) -> dict[str, str]:
        return self.api.call("DELETE", self._pin_path(package_id, version))

    @staticmethod
    def _pin_path(package_id: str, version: str) -> str:
        return f"/pins/{quote(package_id, safe='')}/{quote(version, safe='')}"


def _target(storage: str | None, server: str | None, api_key: str | None) -> _Direct | _Remote:
    """Pick direct storage access or the feed's admin API."""
    if storage:
        return _Direct(storage)
    if server:
        return _Remote(server, api_key)
    raise BadInput("say where the feed is: --storage LOCATION, or --server URL --api-key KEY")


def _given_rules(options: dict[str, Any]) -> dict[str, int]:
    """Return the rules given on the command line (checked here so bad ones exit 2)."""
    from feed.retention.policy import RULE_NAMES, Rules

    rules = {name: options[name] for name in RULE_NAMES if options.get(name) is not None}
    Rules.from_dict(rules)
    return rules


def _check_package(package: str | None) -> str | None:
    """Refuse a malformed --package before anything runs."""
    if package is not None:
        from feed.retention.policy import check_pattern

        check_pattern(package)
    return package


@click.group("retention", invoke_without_command=True)
@target_options
@rule_options
@click.option("--package", metavar="ID|GLOB", help="Only packages whose id matches (e.g. Acme.*).")
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@output_format_option
@click.pass_context
@report_errors
def retention_group(
    ctx: click.Context,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    package: str | None,
    dry_run: bool,
    output_format: str,
    **options: Any,
) -> None:
    """Delete old feed versions no rule keeps, and print the rule behind every decision.

    Rules given here form the whole policy for this run; without any, the stored policy
    applies (see `retention policy`). Pinned versions, the latest version and, in every
    environment, the current and previous deployed versions are always kept; with no rule
    at all nothing is deleted.
    """
    if ctx.invoked_subcommand is not None:
        return
    rules = _given_rules(options)
    result = _target(storage, server, api_key).run(rules, _check_package(package), dry_run)
    if output_format == "json":
        print_json(result)
        return
    decisions = result["decisions"]
    for item in decisions:
        click.echo(f"{item['id']} {item['version']}: {item['decision']}: {item['rule']}")
    deleted = sum(1 for item in decisions if item["decision"] == "deleted")
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {deleted} of {len(decisions)} versions (job {result.get('job')})")


@retention_group.group("policy")
def policy_group() -> None:
    """Show, set or clear the stored policy: a feed-wide default and per-package overrides."""


@policy_group.command("show")
@target_options
@output_format_option
@report_errors
def policy_show(
    storage: str | None, server: str | None, api_key: str | None, output_format: str
) -> None:
    """Print the stored policy and the pinned versions."""
    document = _target(storage, server, api_key).show()
    if output_format == "json":
        print_json(document)
        return
    _echo_policy(document)
    for pin in document.get("pins", []):
        click.echo(f"pinned: {pin['id']} {pin['version']} (by {pin['pinned_by']})")


@policy_group.command("set")
@target_options
@rule_options
@click.option("--package", metavar="ID|GLOB", help="Set an override for matching packages.")
@output_format_option
@report_errors
def policy_set(
    storage: str | None,
    server: str | None,
    api_key: str | None,
    package: str | None,
    output_format: str,
    **options: Any,
) -> None:
    """Set the default rules, or with --package an override (it replaces the default whole)."""
    rules = _given_rules(options)
    if not rules:
        raise BadInput("give at least one rule (--keep-last, --keep-prerelease, --keep-days)")
    target = _target(storage, server, api_key)
    document = target.set(_check_package(package), rules)
    print_json(document) if output_format == "json" else _echo_policy(document)


@policy_group.command("clear")
@target_options
@click.option("--package", metavar="ID|GLOB", help="Clear this override (else the default).")
@output_format_option
@report_errors
def policy_clear(
    storage: str | None,
    server: str | None,
    api_key: str | None,
    package: str | None,
    output_format: str,
) -> None:
    """Clear the default rules, or with --package one override."""
    document = _target(storage, server, api_key).clear(package)
    print_json(document) if output_format == "json" else _echo_policy(document)


def _echo_policy(document: dict[str, Any]) -> None:
    """Print a policy in command-line words."""
    from feed.retention.policy import Rules

    click.echo(f"default: {Rules.from_dict(document.get('default') or {}).describe()}")
    for pattern, rules in (document.get("packages") or {}).items():
        click.echo(f"{pattern}: {Rules.from_dict(rules).describe()}")


def _pin_command(name: str, help_text: str) -> click.Command:
    """Build `pin` or `unpin`: the same arguments, a different call."""

    @click.command(name, help=help_text)
    @click.argument("package_id", metavar="ID")
    @click.argument("version")
    @target_options
    @output_format_option
    @report_errors
    def command(
        package_id: str,
        version: str,
        storage: str | None,
        server: str | None,
        api_key: str | None,
        output_format: str,
    ) -> None:
        from packer.model.identity import validate_id
        from packer.model.versions import parse_version

        validate_id(package_id)
        parse_version(version)
        target = _target(storage, server, api_key)
        result = getattr(target, name)(package_id, version)
        if output_format == "json":
            print_json(result)
        else:
            click.echo(f"{name}ned {result['id']} {result['version']}")

    return command


pin_command = _pin_command("pin", "Pin a version: retention never deletes it.")
unpin_command = _pin_command("unpin", "Remove a pin; retention rules apply to the version again.")

COMMANDS = [retention_group, pin_command, unpin_command]
