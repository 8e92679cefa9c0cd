"""The feed's few error conditions and the one place that maps them to HTTP status codes."""

from __future__ import annotations

from packer.model.errors import BadInput, OperationFailed, PackerError
from storage import InvalidKey, StorageError


class FeedError(OperationFailed):
    """Base of every condition the feed reports to a client; `status` is the HTTP code."""

    status = 400


class BadRequest(FeedError, BadInput):
    """A request the feed cannot act on: a missing parameter, a malformed value (400)."""

    status = 400
    exit_code = 2


class PackageRefused(FeedError):
    """The uploaded archive broke a rule (hostile input, bad nuspec, bad file name) (400)."""

    status = 400


class Unauthorized(FeedError):
    """No API key, or one the feed does not know (401)."""

    status = 401


class Forbidden(FeedError):
    """A known API key whose scope does not allow the operation (403)."""

    status = 403


class PackageNotFound(FeedError):
    """No such package, version, space or key (404)."""

    status = 404


class PackageConflict(FeedError):
    """The version already exists (or a concurrent change won the race) (409)."""

    status = 409


class PackageTooLarge(FeedError):
    """The upload is larger than the configured maximum package size (413)."""

    status = 413


def status_for(error: Exception) -> int:
    """Return the HTTP status for any error the feed may raise (500 when it is a fault)."""
    if isinstance(error, FeedError):
        return error.status
    if isinstance(error, PackerError | InvalidKey):
        return 400
    if isinstance(error, StorageError):
        return 503  # the store is unreachable or failing: clients retry 5xx
    return 500
