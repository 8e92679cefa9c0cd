"""Click commands, one module per area; shared option helpers and error mapping."""

from __future__ import annotations

import functools
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from packer.model.errors import PackerError

output_format_option = click.option(
    "--output-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json prints one JSON document on stdout and nothing else.",
)


def admin_target_options(storage_help: str) -> Callable[[Any], Any]:
    """--storage, --server and --api-key: a feed's storage directly, or its admin API."""

    def decorate(func: Any) -> Any:
        from packer.cli.storage_option import storage_option

        func = storage_option(storage_help)(func)
        func = click.option(
            "--server",
            envvar="OCTOPACK_SERVER",
            metavar="URL",
            help="Feed URL (or OCTOPACK_SERVER).",
        )(func)
        return click.option(
            "--api-key",
            "--apiKey",
            "api_key",
            envvar="OCTOPACK_API_KEY",
            metavar="KEY",
            help="An admin key for --server (or OCTOPACK_API_KEY).",
        )(func)

    return decorate


def report_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PackerError into a one-line message on stderr and its exit code (2 or 1).

    With --output-format json the same error is also one JSON document on stdout,
    `{"error": "...", "exit_code": N}`, so a pipeline reading stdout always gets JSON.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PackerError as error:
            code = _exit_code(error)
            click.echo(f"error: {error}", err=True)
            if kwargs.get("output_format") == "json" and not getattr(error, "json_shown", False):
                print_json({"error": str(error), "exit_code": code})
            sys.exit(code)

    return wrapper


def shown_as_json(error: PackerError) -> PackerError:
    """Mark an error whose command already printed its JSON document (report_errors adds none)."""
    error.json_shown = True  # type: ignore[attr-defined]
    return error


def _exit_code(error: PackerError) -> int:
    """The exit code for an error (2 bad usage or local input, 1 refused or failed)."""
    return error.exit_code


def print_json(document: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(document, indent=2, sort_keys=False))


# Command name -> module that defines it; modules load only when their command runs, so
# `octopack pack` does not pay for requests, flask or boto3 at start-up.
COMMAND_MODULES = {
    "pack": "pack",
    "push": "feedclient",
    "import": "feedclient",
    "versions": "feedclient",
    "deploy": "deploy",
    "serve": "serve",
    "keys": "serve",
    "retention": "retention",
    "pin": "retention",
    "unpin": "retention",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        module = importlib.import_module(f"packer.cli.{module_name}")
        return next((c for c in module.COMMANDS if c.name == cmd_name), None)
