"""`--storage` and `--s3-endpoint`, and the one place storage errors become CLI errors.

Every command that works on a feed's storage directly opens it with `open_feed_storage`
and runs its storage calls inside `storage_failures`, so a user sees one line that names
the storage and the cause, never a traceback: exit 2 when the location cannot be used as
given (a file, a folder that cannot be created, a malformed s3:// URL), exit 1 when the
storage fails at run time (a missing bucket, no credentials, an unreachable endpoint).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from packer.model.errors import BadInput, OperationFailed

S3_ENDPOINT_VARIABLE = "OCTOPACK_S3_ENDPOINT"
STORAGE_METAVAR = "PATH|s3://bucket/prefix"


def _set_s3_endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Hand --s3-endpoint to storage.open_storage (and to forked feed workers) by environment."""
    if value:
        os.environ[S3_ENDPOINT_VARIABLE] = value


s3_endpoint_option = click.option(
    "--s3-endpoint",
    metavar="URL",
    envvar=S3_ENDPOINT_VARIABLE,
    expose_value=False,
    callback=_set_s3_endpoint,
    help="S3-compatible endpoint for s3:// storage, e.g. http://127.0.0.1:9000 for MinIO "
    "(or OCTOPACK_S3_ENDPOINT, AWS_ENDPOINT_URL_S3); path-style addressing is then used.",
)


def storage_option(help_text: str, **extra: Any) -> Callable[[Any], Any]:
    """--storage LOCATION together with --s3-endpoint URL."""

    def decorate(func: Any) -> Any:
        func = s3_endpoint_option(func)
        return click.option("--storage", metavar=STORAGE_METAVAR, help=help_text, **extra)(func)

    return decorate


def open_feed_storage(location: str) -> Any:
    """Open a storage location for a command; a location that cannot be used is exit 2."""
    from storage import StorageError, open_storage

    try:
        return open_storage(location)
    except (StorageError, ValueError, OSError) as error:
        raise BadInput(f"storage {location!r} cannot be used: {error}") from None


@contextmanager
def storage_failures(location: str) -> Iterator[None]:
    """Turn a storage failure at run time into exit 1, naming the storage and the cause."""
    from storage import StorageError

    try:
        yield
    except StorageError as error:
        raise OperationFailed(f"storage {location!r} failed: {error}") from None
    except OSError as error:
        raise OperationFailed(f"storage {location!r} failed: {error}") from None


def check_reachable(storage: Any, location: str) -> None:
    """List one key so a missing bucket or missing credentials show before any work starts."""
    with storage_failures(location):
        next(iter(storage.list("keys/")), None)


def storage_calls(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a method of an object with a `location` attribute inside `storage_failures`."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with storage_failures(self.location):
            return method(self, *args, **kwargs)

    return wrapper
