"""The one root exception of packer and the few conditions the CLI tells apart.

These are kinds, not answers: `packer.cli.common.exit_code_for` turns them into exit
codes and the feed's HTTP layer into statuses, each in one place.
"""


class PackerError(Exception):
    """Base of every error octopack reports to a person."""


class BadInput(PackerError):
    """Bad usage or bad local input: an invalid id, version or range, a missing file."""


class OperationFailed(PackerError):
    """The operation was refused or failed: conflict, not found, refused package."""


class InvalidVersion(BadInput, ValueError):
    """A string that is not a NuGet/SemVer version."""


class InvalidRange(BadInput, ValueError):
    """A string that is not a NuGet version range."""


class InvalidId(BadInput, ValueError):
    """A string that is not a valid package id."""


class UnsafeArchive(OperationFailed):
    """An archive broke a hostile-input rule; the message names the entry and the rule."""
