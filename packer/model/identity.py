"""Package ids and `Id.Version.ext` file names, parsed the way Octopus parses them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from packer.model.errors import BadInput, InvalidId
from packer.model.formats import EXTENSIONS, FORMAT_BY_EXTENSION, split_extension
from packer.model.versions import NuGetVersion, try_parse_version

__all__ = [
    "MAX_ID_LENGTH",
    "PackageFileName",
    "id_key",
    "is_valid_id",
    "package_filename",
    "parse_package_filename",
    "validate_id",
]

MAX_ID_LENGTH = 100
_ID_RE = re.compile(r"\w+(?:[.-]\w+)*", re.ASCII)
_EXPECTED_NAME = (
    "expected the form Id.Version.ext, e.g. Acme.Web.1.0.0.zip, with ext one of "
    + ", ".join("." + e for e in EXTENSIONS)
)


def is_valid_id(package_id: str) -> bool:
    """True when the text is a valid package id."""
    return (
        isinstance(package_id, str)
        and len(package_id) <= MAX_ID_LENGTH
        and _ID_RE.fullmatch(package_id) is not None
    )


def validate_id(package_id: str) -> str:
    """Return the id unchanged, or raise InvalidId saying what is wrong with it."""
    if is_valid_id(package_id):
        return package_id
    if not isinstance(package_id, str):
        raise InvalidId(f"invalid package id {package_id!r}: not a string")
    if not package_id:
        raise InvalidId("invalid package id '': it is empty")
    if len(package_id) > MAX_ID_LENGTH:
        raise InvalidId(
            f"invalid package id {package_id[:40]!r}...: it is {len(package_id)} characters "
            f"long, at most {MAX_ID_LENGTH} are allowed"
        )
    raise InvalidId(
        f"invalid package id {package_id!r}: use letters, digits and underscores, "
        "in parts joined by single dots or hyphens (e.g. Acme.Web or acme-web_2)"
    )


def id_key(package_id: str) -> str:
    """Return the case-insensitive identity of an id (ids are ASCII, so lower case suffices)."""
    return package_id.lower()


@dataclass(frozen=True, slots=True)
class PackageFileName:
    """The parts of a package file name; `version.original` is the version as written."""

    id: str
    version: NuGetVersion
    extension: str

    @property
    def name(self) -> str:
        """Return the file name `Id.Version.ext`, the version as originally written."""
        return f"{self.id}.{self.version.original}.{self.extension}"

    @property
    def format(self) -> str:
        """Return the archive format: nupkg, zip, tar.gz, tar or tar.bz2."""
        return FORMAT_BY_EXTENSION[self.extension]

    def __str__(self) -> str:
        """Return the file name."""
        return self.name


def parse_package_filename(name: str) -> PackageFileName:
    """Parse `Id.Version.ext` as Octopus does: the id is the shortest prefix before a version.

    The name must be a bare file name; a name with a directory part is refused.
    """

    def refuse(reason: str) -> BadInput:
        return BadInput(f"invalid package file name {name!r}: {reason}; {_EXPECTED_NAME}")

    if not isinstance(name, str) or not name:
        raise refuse("it is empty")
    if any(c in name for c in "/\\\0"):
        raise refuse("it contains a path separator or NUL; give the bare file name")
    split = split_extension(name)
    if split is None:
        raise refuse("the extension is not a package extension")
    stem, extension = split
    position = stem.find(".")
    while position != -1:
        version = try_parse_version(stem[position + 1 :])
        if version is not None:
            package_id = stem[:position]
            if not is_valid_id(package_id):
                try:
                    validate_id(package_id)
                except InvalidId as error:
                    raise refuse(str(error)) from None
            return PackageFileName(package_id, version, extension)
        position = stem.find(".", position + 1)
    raise refuse("no version follows the id")


def package_filename(package_id: str, version_text: str | NuGetVersion, extension: str) -> str:
    """Return `Id.Version.ext` after checking each part (version as given, extension lower case)."""
    validate_id(package_id)
    if isinstance(version_text, NuGetVersion):
        version_text = version_text.original
    else:
        NuGetVersion.parse(version_text)
    ext = extension.lower().removeprefix(".")
    if ext not in FORMAT_BY_EXTENSION:
        raise BadInput(
            f"invalid package extension {extension!r}: use one of "
            + ", ".join("." + e for e in EXTENSIONS)
        )
    return f"{package_id}.{version_text}.{ext}"
