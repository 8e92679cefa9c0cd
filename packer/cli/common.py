"""Click commands, one module per area; shared option helpers and error mapping."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from packer.model.errors import BadInput, PackerError

output_format_option = click.option(
    "--output-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json prints one JSON document on stdout and nothing else.",
)


server_option = click.option(
    "--server",
    envvar="OCTOPACK_SERVER",
    metavar="URL",
    help="Feed URL, e.g. http://127.0.0.1:8080 (or OCTOPACK_SERVER).",
)
space_option = click.option("--space", metavar="SPACE", help="Space id, e.g. Spaces-1.")


def api_key_option(help_text: str) -> Callable[[Any], Any]:
    """--api-key (octo's --apiKey too), read from OCTOPACK_API_KEY when not given."""
    return click.option(
        "--api-key",
        "--apiKey",
        "api_key",
        envvar="OCTOPACK_API_KEY",
        metavar="KEY",
        help=f"{help_text} (or OCTOPACK_API_KEY).",
    )


def admin_target_options(storage_help: str) -> Callable[[Any], Any]:
    """--storage, --server and --api-key: a feed's storage directly, or its admin API."""

    def decorate(func: Any) -> Any:
        from packer.cli.storage_option import storage_option

        func = storage_option(storage_help)(func)
        func = server_option(func)
        return api_key_option("An admin key for --server")(func)

    return decorate


BAD_INPUT_EXIT = 2
FAILED_EXIT = 1


def exit_code_for(error: PackerError) -> int:
    """The one mapping of error kinds to exit codes: 2 for bad input, 1 for the rest."""
    return BAD_INPUT_EXIT if isinstance(error, BadInput) else FAILED_EXIT


# Top-level modules that only an extra installs -> that extra. `pip install octopack` is
# what a build agent or a target needs; the feed server and the S3 backend are extras.
EXTRA_OF_MODULE = {
    "flask": "feed",
    "werkzeug": "feed",
    "gunicorn": "feed",
    "boto3": "s3",
    "botocore": "s3",
}


def missing_extra(error: ImportError) -> str | None:
    """Name the extra that installs the module `error` misses, or None if no extra does."""
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return f"{module} is not installed; install the {extra} extra: pip install 'octopack[{extra}]'"


def require_extra(extra: str) -> None:
    """Stop now, before any side effect, if a module that `extra` installs is missing."""
    for module, needed_by in EXTRA_OF_MODULE.items():
        if needed_by == extra and importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)


def report_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a PackerError into a one-line message on stderr and its exit code (2 or 1).

    A command that needs an extra which is not installed exits 2 naming that extra.
    With --output-format json the same error is also one JSON document on stdout,
    `{"error": "...", "exit_code": N}`, so a pipeline reading stdout always gets JSON.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PackerError as error:
            code = exit_code_for(error)
            click.echo(f"error: {error}", err=True)
            if kwargs.get("output_format") == "json" and not getattr(error, "json_shown", False):
                print_json({"error": str(error), "exit_code": code})
            sys.exit(code)
        except ImportError as error:
            hint = missing_extra(error)
            if hint is None:
                raise
            click.echo(f"error: {hint}", err=True)
            if kwargs.get("output_format") == "json":
                print_json({"error": hint, "exit_code": BAD_INPUT_EXIT})
            sys.exit(BAD_INPUT_EXIT)

    return wrapper


def shown_as_json(error: PackerError) -> PackerError:
    """Mark an error whose command already printed its JSON document (report_errors adds none)."""
    error.json_shown = True  # type: ignore[attr-defined]
    return error


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
    "fsck": "fsck",
    "serve": "serve",
    "keys": "serve",
    "retention": "retention",
    "pin": "retention",
    "unpin": "retention",
    "deployments": "deployments",
    "lifecycle": "promotion",
    "channel": "promotion",
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
