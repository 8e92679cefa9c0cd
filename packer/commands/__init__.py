"""Click commands, one module per area; shared option helpers and error mapping."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from packer.errors import PackerError

output_format_option = click.option(
    "--output-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json prints one JSON document on stdout and nothing else.",
)


def report_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PackerError into a one-line message on stderr and its exit code (2 or 1)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PackerError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper


def print_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, sort_keys=False))


def register_commands(group: click.Group) -> None:
    """Attach every command module's commands to the root group."""
    from packer.commands import deploy, feedclient, pack, retention, serve

    for module in (pack, feedclient, deploy, serve, retention):
        for command in module.COMMANDS:
            group.add_command(command)
