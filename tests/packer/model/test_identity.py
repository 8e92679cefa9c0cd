"""Package ids and `Id.Version.ext` file names, parsed as Octopus parses them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from packer.cli.common import exit_code_for
from packer.model.errors import BadInput, InvalidId, InvalidVersion
from packer.model.formats import EXTENSIONS, FORMAT_BY_EXTENSION, split_extension
from packer.model.identity import (
    MAX_ID_LENGTH,
    PackageFileName,
    id_key,
    is_valid_id,
    package_filename,
    parse_package_filename,
    validate_id,
)
from packer.model.versions import parse_version

# No deadline: a loaded CI machine must not turn slowness into a failure.
_SETTINGS = settings(deadline=None, max_examples=200)

# --- ids ---------------------------------------------------------------------------------

VALID_IDS = [
    "Acme",
    "Acme.Web",
    "acme-web",
    "Acme_Web",
    "_private",
    "A",
    "1",
    "Acme.Web.2",
    "Octopus.Client-Core_v2",
    "x" * MAX_ID_LENGTH,
]


@pytest.mark.parametrize("package_id", VALID_IDS)
def test_valid_ids(package_id: str) -> None:
    assert validate_id(package_id) == package_id
    assert is_valid_id(package_id)


INVALID_IDS = [
    ("", "it is empty"),
    ("x" * (MAX_ID_LENGTH + 1), "it is 101 characters long, at most 100 are allowed"),
    ("Acme Web", "use letters, digits and underscores"),
    ("Acme..Web", "joined by single dots or hyphens"),
    ("Acme.-Web", "joined by single dots or hyphens"),
    (".Acme", "use letters"),
    ("Acme.", "use letters"),
    ("-Acme", "use letters"),
    ("Acme-", "use letters"),
    ("Acmé", "use letters"),
    ("Acme/Web", "use letters"),
    ("Acme\\Web", "use letters"),
    ("../etc", "use letters"),
    ("Acme+1", "use letters"),
    ("Acme\n", "use letters"),
    ("Acme\x00", "use letters"),
]


@pytest.mark.parametrize(("package_id", "message"), INVALID_IDS)
def test_invalid_ids_are_refused_naming_the_id(package_id: str, message: str) -> None:
    with pytest.raises(InvalidId) as caught:
        validate_id(package_id)
    text = str(caught.value)
    assert message in text
    assert repr(package_id[:40]) in text
    assert exit_code_for(caught.value) == 2 and isinstance(caught.value, ValueError)
    assert not is_valid_id(package_id)


def test_ids_compare_case_insensitively() -> None:
    assert id_key("Acme.Web") == id_key("ACME.web") == "acme.web"
    assert id_key("Acme.Web") != id_key("Acme.Web2")


# --- file names --------------------------------------------------------------------------

FILE_NAMES = [
    # (file name, id, version as written, normalised version, extension, format)
    ("Acme.Web.1.0.0.zip", "Acme.Web", "1.0.0", "1.0.0", "zip", "zip"),
    ("Acme.2.Web.1.0.zip", "Acme.2.Web", "1.0", "1.0.0", "zip", "zip"),
    (
        "Acme.Web.1.0.0-beta.1+sha.5.tar.gz",
        "Acme.Web",
        "1.0.0-beta.1+sha.5",
        "1.0.0-beta.1",
        "tar.gz",
        "tar.gz",
    ),
    ("Acme.Web.1.0.0.0.nupkg", "Acme.Web", "1.0.0.0", "1.0.0", "nupkg", "nupkg"),
    (
        "Acme.Web.2026.11.22.40859.zip",
        "Acme.Web",
        "2026.11.22.40859",
        "2026.11.22.40859",
        "zip",
        "zip",
    ),
    # shortest prefix after which the rest is a version: 5 numbers cannot be one version
    ("Acme.1.2.3.4.5.tgz", "Acme.1", "2.3.4.5", "2.3.4.5", "tgz", "tar.gz"),
    ("Acme.1.2.tar.bz2", "Acme", "1.2", "1.2.0", "tar.bz2", "tar.bz2"),
    ("Acme.1.2.tbz", "Acme", "1.2", "1.2.0", "tbz", "tar.bz2"),
    ("Acme.Tar.1.0.tar", "Acme.Tar", "1.0", "1.0.0", "tar", "tar"),
    ("Acme.1.0.ZIP", "Acme", "1.0", "1.0.0", "zip", "zip"),
    ("Acme.Web.1.0.0.Tar.Gz", "Acme.Web", "1.0.0", "1.0.0", "tar.gz", "tar.gz"),
    ("my-app_x.1.0-rc.zip", "my-app_x", "1.0-rc", "1.0.0-rc", "zip", "zip"),
    ("Acme.Web.1.0.0-RC-2.zip", "Acme.Web", "1.0.0-RC-2", "1.0.0-RC-2", "zip", "zip"),
    ("Acme.Web.v2.1.0.zip", "Acme.Web.v2", "1.0", "1.0.0", "zip", "zip"),
    ("1.2.3.zip", "1", "2.3", "2.3.0", "zip", "zip"),
    ("Acme.v1.0.zip", "Acme.v1", "0", "0.0.0", "zip", "zip"),  # v1.0 is no version
]


@pytest.mark.parametrize(
    ("name", "package_id", "version", "normalized", "extension", "fmt"), FILE_NAMES
)
def test_file_names_parse_as_octopus_does(
    name: str, package_id: str, version: str, normalized: str, extension: str, fmt: str
) -> None:
    parsed = parse_package_filename(name)
    assert parsed.id == package_id
    assert parsed.version.original == version
    assert parsed.version.normalized == normalized
    assert parsed.extension == extension
    assert parsed.format == fmt
    assert parsed.name.lower() == name.lower()
    assert parse_package_filename(parsed.name) == parsed


INVALID_NAMES = [
    ("", "it is empty"),
    ("Acme.zip", "no version follows the id"),
    ("Acme.Web.zip", "no version follows the id"),
    ("Acme.1.0.gz", "the extension is not a package extension"),
    ("Acme.1.0.rar", "the extension is not a package extension"),
    ("Acme.1.0", "the extension is not a package extension"),
    ("Acme.1.0.zip ", "the extension is not a package extension"),
    ("Acme.1.0.0-01.zip", "no version follows the id"),
    ("Acme.1.2.3.4.5.6.7.8.9", "the extension is not a package extension"),
    ("Ac me.1.0.zip", "invalid package id 'Ac me'"),
    (".1.0.zip", "invalid package id '': it is empty"),
    ("Acme..1.0.zip", "invalid package id 'Acme.'"),
    ("Acme+x.1.0.zip", "invalid package id 'Acme+x'"),
    ("x" * 101 + ".1.0.zip", "it is 101 characters long"),
    ("dir/Acme.1.0.zip", "path separator"),
    ("C:\\fakepath\\Acme.1.0.zip", "path separator"),
    ("Acme.1.0.zip\x00.txt", "path separator or NUL"),
]


@pytest.mark.parametrize(("name", "message"), INVALID_NAMES)
def test_invalid_file_names_are_refused_saying_the_form(name: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_package_filename(name)
    text = str(caught.value)
    assert f"invalid package file name {name!r}" in text
    assert message in text
    assert "expected the form Id.Version.ext" in text
    assert exit_code_for(caught.value) == 2


def test_split_extension_treats_double_extensions_as_one() -> None:
    assert split_extension("Acme.1.0.tar.gz") == ("Acme.1.0", "tar.gz")
    assert split_extension("Acme.1.0.TAR.BZ2") == ("Acme.1.0", "tar.bz2")
    assert split_extension("Acme.1.0.tar") == ("Acme.1.0", "tar")
    assert split_extension("Acme.1.0.gz") is None
    assert split_extension("zip") is None
    assert set(FORMAT_BY_EXTENSION) == set(EXTENSIONS)


def test_package_filename_builds_and_checks_each_part() -> None:
    assert package_filename("Acme.Web", "1.0", "zip") == "Acme.Web.1.0.zip"
    assert package_filename("Acme.Web", "1.0.0-rc.1+sha", ".TAR.GZ") == (
        "Acme.Web.1.0.0-rc.1+sha.tar.gz"
    )
    assert package_filename("Acme", parse_version("01.2"), "nupkg") == "Acme.01.2.nupkg"
    with pytest.raises(InvalidId, match="'Acme Web'"):
        package_filename("Acme Web", "1.0", "zip")
    with pytest.raises(InvalidVersion, match="'v1.0'"):
        package_filename("Acme", "v1.0", "zip")
    with pytest.raises(BadInput, match=r"invalid package extension '\.rar'"):
        package_filename("Acme", "1.0", ".rar")


def test_package_file_name_value() -> None:
    parsed = PackageFileName("Acme", parse_version("1.0.0-rc.1"), "nupkg")
    assert str(parsed) == "Acme.1.0.0-rc.1.nupkg"
    assert parsed.format == "nupkg"


# --- round trip --------------------------------------------------------------------------

_word = st.text("abcXYZ_", min_size=1, max_size=5)  # starts with no digit: ids round trip
_ids = st.builds(
    lambda first, rest: first + "".join(sep + w for sep, w in rest),
    _word,
    st.lists(st.tuples(st.sampled_from(".-"), st.text("abZ_09", min_size=1, max_size=4))),
).filter(lambda s: len(s) <= MAX_ID_LENGTH)
_versions = st.builds(
    lambda nums, label, meta: ".".join(map(str, nums)) + label + meta,
    st.lists(st.integers(0, 30), min_size=1, max_size=4),
    st.sampled_from(["", "-beta", "-rc.1", "-RC.2.x"]),
    st.sampled_from(["", "+sha.5", "+001"]),
)


@_SETTINGS
@given(_ids, _versions, st.sampled_from(EXTENSIONS))
def test_built_names_parse_back(package_id: str, version: str, extension: str) -> None:
    name = package_filename(package_id, version, extension)
    parsed = parse_package_filename(name)
    assert parsed.name == name
    assert parsed.extension == extension
    # The id part that is all digits after a dot could be taken for a version; ours never is.
    if not any(segment.isdigit() for segment in package_id.replace("-", ".").split(".")):
        assert parsed.id == package_id
        assert parsed.version.original == version


_noise = st.text(alphabet=st.sampled_from("Acme019.-+_ /\\\x00zipnupkgtar"), max_size=30)


@_SETTINGS
@given(st.one_of(_noise, st.text(max_size=20)))
def test_any_name_parses_or_fails_with_bad_input_only(name: str) -> None:
    """Hostile upload names never raise anything but BadInput, and a parse keeps the name."""
    try:
        parsed = parse_package_filename(name)
    except BadInput as error:
        assert "expected the form Id.Version.ext" in str(error)
    else:
        assert parsed.name.lower() == name.lower()
        assert is_valid_id(parsed.id)
