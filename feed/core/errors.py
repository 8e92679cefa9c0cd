"""The feed's few error conditions, as kinds: the HTTP layer maps them to statuses.

Every kind is an OperationFailed (BadRequest also a BadInput), so the CLI's one mapping
to exit codes covers them too. No status or exit code lives here.
"""

from __future__ import annotations

from packer.model.errors import BadInput, OperationFailed
from storage import InvalidKey, StorageDenied, StorageError, StorageFull

# The storage failures a request may meet, named here so the HTTP layer, which never
# imports storage, can map them: an unusable key is bad input, a full store (disk, quota,
# also the upload spool) and a refusing one are named, the rest a failing store.
InvalidStorageKey = InvalidKey
StorageFailure = StorageError
FeedStorageFull = StorageFull
FeedStorageDenied = StorageDenied


class FeedError(OperationFailed):
    """Base of every condition the feed reports to a client."""


class BadRequest(BadInput, FeedError):
    """A request the feed cannot act on: a missing parameter, a malformed value."""


class PackageRefused(FeedError):
    """The uploaded archive broke a rule (hostile input, bad nuspec, bad file name)."""


class Unauthorized(FeedError):
    """No API key, or one the feed does not know."""


class Forbidden(FeedError):
    """A known API key whose scope does not allow the operation."""


class PackageNotFound(FeedError):
    """No such package, version, space or key."""


class PackageConflict(FeedError):
    """The version already exists (or a concurrent change won the race)."""


class PackageTooLarge(FeedError):
    """The upload is larger than the configured maximum package size."""
