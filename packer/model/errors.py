"""The one root exception of packer and the few conditions the CLI tells apart."""


class PackerError(Exception):
    """Base of every error octopack reports to a person; `exit_code` is what the CLI returns."""

    exit_code = 1


class BadInput(PackerError):
    """Bad usage or bad local input: an invalid id, version or range, a missing file (exit 2)."""

    exit_code = 2


class OperationFailed(PackerError):
    """The operation was refused or failed: conflict, not found, refused package (exit 1)."""

    exit_code = 1


class InvalidVersion(BadInput, ValueError):
    """A string that is not a NuGet/SemVer version."""


class InvalidRange(BadInput, ValueError):
    """A string that is not a NuGet version range."""


class InvalidId(BadInput, ValueError):
    """A string that is not a valid package id."""


class UnsafeArchive(OperationFailed):
    """An archive broke a hostile-input rule; the message names the entry and the rule."""
