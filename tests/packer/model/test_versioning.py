"""NuGet versions and ranges: the documented NuGet examples plus ordering properties."""

from __future__ import annotations

import functools
import pickle

import pytest
import semver
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from packer.cli.common import exit_code_for
from packer.model.errors import BadInput, InvalidRange, InvalidVersion
from packer.model.ranges import VersionRange, parse_range
from packer.model.versions import (
    MAX_PART,
    MAX_VERSION_LENGTH,
    NuGetVersion,
    parse_version,
    try_parse_version,
)

# No deadline: a loaded CI machine must not turn slowness into a failure.
_SETTINGS = settings(deadline=None, max_examples=200)

V = parse_version

# --- strategies -------------------------------------------------------------------------

# Small pools so that equal, prefix and case-variant labels collide often.
_alpha_labels = st.sampled_from(["alpha", "Alpha", "beta", "BETA", "rc", "a", "b", "x-y", "1a"])
_numeric_labels = st.sampled_from(["0", "1", "2", "10", "11", "99"])
_labels = st.lists(st.one_of(_alpha_labels, _numeric_labels), max_size=3)
_number = st.integers(min_value=0, max_value=3)
_metadata = st.one_of(st.none(), st.sampled_from(["sha.5", "build-1", "001", "Meta"]))


@st.composite
def version_texts(draw: st.DrawFn) -> str:
    """Draw a valid version string: 1 to 4 numbers (leading zeros allowed), labels, metadata."""
    count = draw(st.integers(min_value=1, max_value=4))
    numbers = [draw(_number) for _ in range(count)]
    parts = [("0" * draw(st.integers(0, 1))) + str(n) for n in numbers]
    text = ".".join(parts)
    labels = draw(_labels)
    if labels:
        text += "-" + ".".join(labels)
    metadata = draw(_metadata)
    if metadata:
        text += "+" + metadata
    return text


versions = version_texts().map(V)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _cmp(a: NuGetVersion, b: NuGetVersion) -> int:
    return -1 if a < b else (1 if a > b else 0)


# --- normalisation and equality ----------------------------------------------------------

NORMALISATION = [
    # learn.microsoft.com "Package versioning", normalized version numbers
    ("1.0", "1.0.0"),
    ("1.00", "1.0.0"),
    ("1.01.1", "1.1.1"),
    ("1.00.0.1", "1.0.0.1"),
    ("1.0.0.0", "1.0.0"),
    ("1.0.01.0", "1.0.1"),
    ("1", "1.0.0"),
    ("1.0.0.1", "1.0.0.1"),
    ("1.0.0+githash", "1.0.0"),
    ("1.0.0-Beta.1+sha.5", "1.0.0-Beta.1"),
    ("1.0-rc", "1.0.0-rc"),
    ("2026.11.22.040859", "2026.11.22.40859"),
]


@pytest.mark.parametrize(("text", "normalized"), NORMALISATION)
def test_normalised_form_follows_nuget(text: str, normalized: str) -> None:
    version = V(text)
    assert version.normalized == normalized
    assert str(version) == text
    assert version.original == text
    assert version.key == normalized.lower()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.0", "1.0.0"),
        ("1.0.0", "1.0.0.0"),
        ("1", "1.0.0.0"),
        ("1.01.1", "1.1.1"),
        ("1.0.0-BETA", "1.0.0-beta"),
        ("1.0.0-Rc.1", "1.0.0-rC.1"),
        ("1.0.0+a", "1.0.0+b"),
        ("1.0.0-beta+a", "1.0-beta"),
    ],
)
def test_equal_by_value(a: str, b: str) -> None:
    assert V(a) == V(b)
    assert hash(V(a)) == hash(V(b))
    assert len({V(a), V(b)}) == 1
    assert not V(a) < V(b) and not V(a) > V(b)


def test_metadata_is_kept_but_not_identity() -> None:
    version = V("1.0.0-rc.1+sha.5")
    assert version.metadata == "sha.5"
    assert version.release_labels == ("rc", "1")
    assert version.release == "rc.1"
    assert version.normalized == "1.0.0-rc.1"


# --- precedence --------------------------------------------------------------------------

ASCENDING_CHAINS = [
    # semver.org 11.4, quoted in NuGet's docs
    [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ],
    # NuGet docs, pre-release versions (labels compared as strings when not numeric)
    [
        "1.0.1-aaa",
        "1.0.1-alpha10",
        "1.0.1-alpha2",
        "1.0.1-beta",
        "1.0.1-open",
        "1.0.1-rc",
        "1.0.1-zzz",
        "1.0.1",
    ],
    ["1.0.0-rc.2", "1.0.0-RC.10", "1.0.0-rc.10.1"],
    ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a", "1.0.0-A1", "1.0.0-b"],
    ["0.9", "1.0", "1.0.0.1-beta", "1.0.0.1", "1.0.1", "1.1", "2", "10.0"],
    ["1.0.0-beta", "1.0.0-beta.0", "1.0.0-beta.0.0", "1.0.0-beta.a"],
    ["1.0.0-a.b", "1.0.0-a-b"],  # label "a" < label "a-b"
]


@pytest.mark.parametrize("chain", ASCENDING_CHAINS)
def test_documented_precedence(chain: list[str]) -> None:
    parsed = [V(text) for text in chain]
    for lower, higher in zip(parsed, parsed[1:], strict=False):
        assert lower < higher, (lower, higher)
        assert higher > lower
        assert lower != higher
    assert sorted(reversed(parsed)) == parsed


def test_is_prerelease_and_is_semver2_as_nuget_defines_them() -> None:
    table = {
        "1.0.0": (False, False),
        "1.0.0-beta": (True, False),
        "1.0.0-beta-1": (True, False),
        "1.0.0-beta.1": (True, True),
        "1.0.0+meta": (False, True),
        "1.0.0.1-rc+meta": (True, True),
    }
    for text, (prerelease, semver2) in table.items():
        assert V(text).is_prerelease is prerelease, text
        assert V(text).is_semver2 is semver2, text


# --- properties --------------------------------------------------------------------------


@_SETTINGS
@given(versions, versions)
def test_exactly_one_of_lt_eq_gt(a: NuGetVersion, b: NuGetVersion) -> None:
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)
    assert _cmp(a, b) == -_cmp(b, a)
    if a == b:
        assert hash(a) == hash(b)


@_SETTINGS
@given(versions, versions, versions)
def test_order_is_transitive(a: NuGetVersion, b: NuGetVersion, c: NuGetVersion) -> None:
    if a <= b and b <= c:
        assert a <= c
    if a == b and b == c:
        assert a == c


@_SETTINGS
@given(st.lists(versions, max_size=8))
def test_sorting_agrees_with_pairwise_order(items: list[NuGetVersion]) -> None:
    ordered = sorted(items)
    assert ordered == sorted(items, key=functools.cmp_to_key(_cmp))
    for lower, higher in zip(ordered, ordered[1:], strict=False):
        assert lower <= higher


@_SETTINGS
@given(version_texts())
def test_normalised_text_round_trips(text: str) -> None:
    version = V(text)
    again = V(str(version.normalized))
    assert again == version
    assert again.normalized == version.normalized
    assert V(again.normalized).normalized == again.normalized
    assert again.metadata is None
    assert str(version) == text


@_SETTINGS
@given(version_texts())
def test_value_survives_padding_case_and_metadata(text: str) -> None:
    version = V(text)
    if version.revision == 0:
        padded = f"{version.major}.{version.minor}.{version.patch}.0"
    else:
        padded = f"{version.major}.{version.minor}.{version.patch}.{version.revision}"
    if version.release_labels:
        padded += "-" + version.release.swapcase()
    padded += "+other"
    assert V(padded) == version
    assert hash(V(padded)) == hash(version)


_strict_labels = st.lists(
    st.one_of(st.sampled_from(["alpha", "beta", "rc", "a", "x-y", "1a"]), _numeric_labels),
    max_size=3,
)


@_SETTINGS
@given(_number, _number, _number, _strict_labels, _number, _number, _number, _strict_labels)
def test_semver_precedence_matches_the_semver_package(
    a1: int, a2: int, a3: int, al: list[str], b1: int, b2: int, b3: int, bl: list[str]
) -> None:
    """For lower-case 3-part versions our order is exactly SemVer 2.0's (semver as oracle)."""
    a = semver.Version(a1, a2, a3, prerelease=".".join(al) or None)
    b = semver.Version(b1, b2, b3, prerelease=".".join(bl) or None)
    assert _cmp(V(str(a)), V(str(b))) == _sign(a.compare(b))


def test_pickles_and_constructs_directly() -> None:
    version = V("1.2.3-rc.1+sha")
    assert pickle.loads(pickle.dumps(version)) == version
    built = NuGetVersion(1, 2, 3, release_labels=("rc", "1"), metadata="sha")
    assert built == version
    assert built.original == "1.2.3-rc.1+sha"
    assert NuGetVersion(1, 0, 0, 1).original == "1.0.0.1"
    with pytest.raises(InvalidVersion, match="'01' has a leading zero"):
        NuGetVersion(1, 0, 0, release_labels=("01",))
    with pytest.raises(InvalidVersion, match="letters, digits or '-'"):
        NuGetVersion(1, 0, 0, release_labels=("a_b",))
    with pytest.raises(InvalidVersion, match="minor -1 is not in"):
        NuGetVersion(1, -1)


# --- invalid versions --------------------------------------------------------------------

INVALID_VERSIONS = [
    ("", "it is empty"),
    (" 1.0", "leading or trailing whitespace"),
    ("1.0 ", "leading or trailing whitespace"),
    ("1.0\n", "leading or trailing whitespace"),
    ("v1.0", "write 1.0, not v1.0"),
    ("V1.0", "write 1.0, not v1.0"),
    ("1.0.0-01", "numeric label '01' has a leading zero"),
    ("1.0.0-rc.007", "numeric label '007' has a leading zero"),
    ("1.2.3.4.5", "it has 5 numbers (1 to 4 allowed)"),
    ("1..2", "part '' is not a number"),
    ("1.x", "part 'x' is not a number"),
    ("-1.0", "part '' is not a number"),
    ("1.0-", "release label ''"),
    ("1.0.0-a..b", "release label ''"),
    ("1.0.0-a_b", "release label 'a_b'"),
    ("1.0.0-ß", "release label 'ß'"),
    ("1.0+", "metadata ''"),
    ("1.0+a+b", "metadata 'a+b'"),
    ("１.0", "part '１' is not a number"),
    ("2147483648", "number 2147483648 is larger than 2147483647"),
    ("1.99999999999999999999", "is larger than 2147483647"),
    ("1." + "0" * 200, f"at most {MAX_VERSION_LENGTH} are allowed"),
]


@pytest.mark.parametrize(("text", "message"), INVALID_VERSIONS)
def test_invalid_versions_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidVersion) as caught:
        V(text)
    assert message in str(caught.value)
    assert repr(text[:40]) in str(caught.value)
    assert isinstance(caught.value, BadInput) and isinstance(caught.value, ValueError)
    assert exit_code_for(caught.value) == 2
    assert try_parse_version(text) is None


def test_largest_numbers_and_long_numeric_labels_are_accepted() -> None:
    top = V(f"{MAX_PART}.{MAX_PART}.{MAX_PART}.{MAX_PART}")
    assert top.revision == MAX_PART
    long_label = V("1.0.0-" + "9" * 100)
    assert V("1.0.0-" + "9" * 99) < long_label < V("1.0.0-a")


# --- ranges ------------------------------------------------------------------------------

PROBES = ["0.9", "1.0", "1.0.0.0", "1.5", "2.0", "2.1"]
RANGE_TABLE = [
    # learn.microsoft.com "Package versioning", version ranges
    ("1.0", {"1.0", "1.0.0.0", "1.5", "2.0", "2.1"}),
    ("(1.0,)", {"1.5", "2.0", "2.1"}),
    ("[1.0]", {"1.0", "1.0.0.0"}),
    ("(,1.0]", {"0.9", "1.0", "1.0.0.0"}),
    ("(,1.0)", {"0.9"}),
    ("[1.0,2.0]", {"1.0", "1.0.0.0", "1.5", "2.0"}),
    ("(1.0,2.0)", {"1.5"}),
    ("[1.0,2.0)", {"1.0", "1.0.0.0", "1.5"}),
    ("[1.0, 2.0)", {"1.0", "1.0.0.0", "1.5"}),
    ("[1.0,]", {"1.0", "1.0.0.0", "1.5", "2.0", "2.1"}),
    ("[,1.0]", {"0.9", "1.0", "1.0.0.0"}),
    ("[1.0.0.0, 2.0.0.0)", {"1.0", "1.0.0.0", "1.5"}),
]


@pytest.mark.parametrize(("text", "expected"), RANGE_TABLE)
def test_documented_ranges(text: str, expected: set[str]) -> None:
    version_range = parse_range(text)
    assert {p for p in PROBES if version_range.contains(V(p))} == expected
    assert {p for p in PROBES if version_range.contains(p)} == expected
    assert str(version_range) == text
    again = parse_range(version_range.normalized)
    assert {p for p in PROBES if again.contains(p)} == expected
    assert not version_range.is_floating


def test_normalised_range_text() -> None:
    table = {
        "1.0": "[1.0.0, )",
        "[1.0,2.0)": "[1.0.0, 2.0.0)",
        "(,1.0]": "(, 1.0.0]",
        "[1.0]": "[1.0.0]",
        "(1.0,)": "(1.0.0, )",
        "[1.0,]": "[1.0.0, )",
        "1.*": "1.*",
        "[1.*, 2.0)": "[1.*, 2.0.0)",
    }
    for text, normalized in table.items():
        assert parse_range(text).normalized == normalized, text


INVALID_RANGES = [
    ("", "it is empty"),
    ("(1.0)", "a single version needs square brackets, as in [1.0]"),
    ("[1.0)", "a single version needs square brackets"),
    ("[2.0,1.0]", "lower bound 2.0 is above upper bound 1.0"),
    ("[1.0", "it must end with ']' or ')'"),
    ("1.0]", "an interval must start with '[' or '('"),
    ("1.0,2.0", "an interval must start with '[' or '('"),
    ("(,)", "it has no bounds"),
    ("[,]", "it has no bounds"),
    ("[1.0,1.0)", "it contains no version"),
    ("(1.0,1.0)", "it contains no version"),
    ("[1.0,2.0,3.0]", "more than two bounds"),
    (" [1.0,2.0]", "leading or trailing whitespace"),
    ("[1.0,x]", "upper bound invalid version 'x'"),
    ("[v1,2]", "lower bound invalid version 'v1'"),
    ("[1.0,2.*)", "the upper bound cannot float"),
    ("[1.*]", "an exact version cannot float"),
    ("1.*-beta", "may only float at its end"),
    ("1.*.2", "may float only its last number"),
    ("1.2.3.4.*", "may float only its last number"),
    ("**", "may float only its last number"),
    ("1.0.0-be*ta*", "may only float at its end"),
    ("1.*+meta", "cannot have metadata"),
    ("1.0.0-01*", "numeric label '01'"),
    ("1.0.0-a..*", "is not letters, digits"),
    ("x.*", "may float only its last number"),
    ("99999999999.*", "is larger than 2147483647"),
    ("1." + "9" * 5000 + ".*", "characters long, at most 264 are allowed"),
    ("[1.0," + "9" * 300 + "]", "characters long"),
]


@pytest.mark.parametrize(("text", "message"), INVALID_RANGES)
def test_invalid_ranges_are_refused_naming_the_range(text: str, message: str) -> None:
    with pytest.raises(InvalidRange) as caught:
        parse_range(text)
    assert f"invalid version range {text[:40]!r}" in str(caught.value)
    assert message in str(caught.value)
    assert exit_code_for(caught.value) == 2 and isinstance(caught.value, ValueError)


# NuGet docs, "Floating version resolutions": (range, versions on the server, resolution)
FLOAT_TABLE = [
    ("*", ["1.1.0", "1.1.1", "1.2.0", "1.3.0-alpha"], "1.2.0"),
    ("1.1.*", ["1.1.0", "1.1.1", "1.1.2-alpha", "1.2.0-alpha"], "1.1.1"),
    ("*-*", ["1.1.0", "1.1.1", "1.1.2-alpha", "1.3.0-beta"], "1.3.0-beta"),
    ("1.1.*-*", ["1.1.0", "1.1.1", "1.1.2-alpha", "1.1.2-beta", "1.2.0-beta"], "1.1.2-beta"),
    ("1.2.0-rc.*", ["1.1.0", "1.2.0-rc.1", "1.2.0-rc.2", "1.2.0"], "1.2.0"),
    ("1.2.0-rc.*", ["1.1.0", "1.2.0-rc.1", "1.2.0-rc.2", "1.3.0"], "1.2.0-rc.2"),
    ("1.*", ["0.9", "1.0", "1.9.9", "2.0"], "1.9.9"),
    ("1.2.*", ["1.2", "1.2.7", "1.2.7.3", "1.3"], "1.2.7.3"),
    ("1.2.3.*", ["1.2.3", "1.2.3.9", "1.2.4"], "1.2.3.9"),
    ("1.0.0-*", ["1.0.0-alpha", "1.0.0-beta", "1.0.1-zzz"], "1.0.0-beta"),
    ("*-rc*", ["1.0.0-rc.1", "2.0.0-beta", "1.5.0"], "1.5.0"),
    ("[1.*, 2.0)", ["0.9", "1.0", "1.7", "2.0"], "1.7"),
]


@pytest.mark.parametrize(("text", "available", "expected"), FLOAT_TABLE)
def test_documented_floating_resolutions(text: str, available: list[str], expected: str) -> None:
    version_range = parse_range(text)
    found = version_range.find_best_match([V(v) for v in available])
    assert version_range.is_floating
    assert found is not None and found.original == expected
    assert version_range.highest_match([V(v) for v in available]) == found


def test_floating_patterns_decide_membership() -> None:
    beta = parse_range("1.0.0-beta.*")
    assert beta.contains("1.0.0-beta.5") and beta.contains("1.0.0-BETA.7")
    assert beta.contains("1.0.0")  # NuGet: the stable version of the float matches
    assert not beta.contains("1.0.0-alpha.1")
    assert not beta.contains("1.0.0-beta")  # prefix is "beta."
    assert not beta.contains("1.0.1-beta.1")
    assert parse_range("1.0.0-beta*").contains("1.0.0-beta")
    assert not parse_range("(1.*, 2.0)").contains("1.0.0.0")
    assert parse_range("(1.*, 2.0)").contains("1.0.1")
    minor = parse_range("1.*")
    assert not minor.contains("2.0") and not minor.contains("0.9.9")
    assert minor.contains("1.0.0.0") and minor.contains("1.99")


def test_non_floating_best_match_is_the_lowest_but_highest_match_is_the_newest() -> None:
    available = [V(v) for v in ["0.9", "1.0", "1.1", "1.5.0-beta", "2.0", "2.1-rc.1"]]
    assert str(parse_range("1.0").find_best_match(available)) == "1.0"
    assert str(parse_range("1.0").highest_match(available)) == "2.0"
    assert str(parse_range("(1.0,2.0]").find_best_match(available)) == "1.1"
    assert str(parse_range("[1.0,2.0)").highest_match(available)) == "1.1"
    assert parse_range("[3.0,)").highest_match(available) is None
    assert parse_range("[3.0,)").find_best_match(available) is None


def test_prereleases_only_when_asked_or_when_the_range_names_one() -> None:
    available = [V(v) for v in ["1.0", "1.5.0-beta", "1.9.0-rc.1", "2.0"]]
    plain = parse_range("[1.0,2.0)")
    assert plain.contains("1.5.0-beta")  # set membership
    assert str(plain.highest_match(available)) == "1.0"
    assert str(plain.highest_match(available, include_prerelease=True)) == "1.9.0-rc.1"
    assert [str(v) for v in plain.filter(available)] == ["1.0"]
    assert [str(v) for v in plain.filter(available, True)] == ["1.0", "1.5.0-beta", "1.9.0-rc.1"]
    named = parse_range("[1.0.0-alpha,2.0)")
    assert named.allows_prerelease
    assert str(named.highest_match(available)) == "1.9.0-rc.1"
    assert str(parse_range("(,2.0.0-rc)").highest_match(available)) == "1.9.0-rc.1"
    assert str(parse_range("1.*").highest_match(available)) == "1.0"
    assert str(parse_range("1.*").highest_match(available, True)) == "1.9.0-rc.1"
    assert not parse_range("1.*").allows_prerelease
    assert parse_range("1.*-*").allows_prerelease


_range_texts = st.one_of(
    version_texts(),
    st.builds(
        lambda lo, hi, a, b: f"{a}{lo},{hi}{b}",
        st.one_of(st.just(""), version_texts()),
        st.one_of(st.just(""), version_texts()),
        st.sampled_from("[("),
        st.sampled_from("])"),
    ),
)


def _valid_range(text: str) -> VersionRange | None:
    try:
        return parse_range(text)
    except InvalidRange:
        return None


@_SETTINGS
@given(_range_texts, versions)
def test_interval_membership_matches_its_definition(text: str, version: NuGetVersion) -> None:
    version_range = _valid_range(text)
    assume(version_range is not None)
    low, high = version_range.min_version, version_range.max_version
    expected = True
    if low is not None:
        expected &= version > low or (version_range.min_inclusive and version == low)
    if high is not None:
        expected &= version < high or (version_range.max_inclusive and version == high)
    assert version_range.contains(version) == expected
    again = parse_range(version_range.normalized)
    assert again.contains(version) == expected
    assert version_range.admits(version, include_prerelease=True) == expected


@_SETTINGS
@given(st.lists(versions, max_size=8), st.booleans())
def test_best_and_highest_matches_are_extremes_of_the_filter(
    items: list[NuGetVersion], prerelease: bool
) -> None:
    for text in ["1.0", "[1,2)", "*", "1.*-*", "(,2]"]:
        version_range = parse_range(text)
        admitted = version_range.filter(items, prerelease)
        assert all(version_range.contains(v) for v in admitted)
        assert version_range.highest_match(items, prerelease) == max(admitted, default=None)
        best = version_range.find_best_match(items, prerelease)
        if version_range.is_floating:
            assert best == max(admitted, default=None)
        else:
            assert best == min(admitted, default=None)


_noise = st.text(alphabet=st.sampled_from("0123456789.-+*[](), abvV_Zé\n\x00"), max_size=30)


@_SETTINGS
@given(st.one_of(_noise, st.text(max_size=20)))
def test_any_text_parses_or_fails_with_our_errors_only(text: str) -> None:
    """Hostile strings (from file names and query strings) never raise anything else."""
    version = try_parse_version(text)
    if version is not None:
        assert V(version.normalized) == version and str(version) == text
    try:
        version_range = parse_range(text)
    except InvalidRange as error:
        assert str(error).startswith("invalid version range")
    else:
        assert str(version_range) == text
        parse_range(version_range.normalized)
