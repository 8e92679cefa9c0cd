"""The v2 $filter and $orderby parser: what NuGet clients send, and clear refusals."""

from __future__ import annotations

import pytest

from feed.core.errors import BadRequest
from feed.http.nuget.v2_filter import MAX_DEPTH, parse_filter, parse_orderby

WEB = {
    "Id": "Acme.Web",
    "Version": "1.2.0",
    "Description": "The web front end",
    "Tags": "web api",
    "IsLatestVersion": True,
    "IsAbsoluteLatestVersion": False,
    "IsPrerelease": False,
    "DownloadCount": 0,
}
TOOLS = {**WEB, "Id": "Acme.Tools", "Description": "Tools", "Tags": "cli", "IsLatestVersion": False}


def matches(text: str, entry: dict = WEB) -> bool:
    return parse_filter(text)(entry)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Id eq 'Acme.Web'",
        "tolower(Id) eq 'acme.web'",
        "IsLatestVersion",
        "IsLatestVersion eq true",
        "not IsAbsoluteLatestVersion",
        "substringof('web',tolower(Id))",
        "startswith(tolower(Id),'acme.')",
        "substringof('front', tolower(Description))",
        "startswith(tolower(Tags), 'web')",
        "(tolower(Id) eq 'acme.web') and IsLatestVersion",
        "Id eq 'nope' or (IsLatestVersion and substringof('api',Tags))",
        "IsPrerelease eq false and Version ne '9.9.9'",
        "toupper(trim(Id)) eq 'ACME.WEB'",
        "endswith(Id,'Web')",
        "ID EQ 'Acme.Web' AND islatestversion",
    ],
)
def test_filters_that_match_web(text: str) -> None:
    assert matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Id eq 'acme.web'",  # eq is case-sensitive, tolower is how clients ask otherwise
        "IsAbsoluteLatestVersion",
        "IsLatestVersion eq false",
        "substringof('tools',tolower(Id))",
        "startswith(tolower(Description),'tools')",
        "IsLatestVersion and Id eq 'x'",
        "not (IsLatestVersion or IsPrerelease)",
    ],
)
def test_filters_that_do_not_match_web(text: str) -> None:
    assert not matches(text)


def test_or_and_precedence_and_parentheses() -> None:
    text = "Id eq 'Acme.Tools' or Id eq 'Acme.Web' and IsLatestVersion"
    assert matches(text, TOOLS)  # and binds tighter: Tools matches the first alternative
    assert not matches("(Id eq 'Acme.Tools' or Id eq 'Acme.Web') and IsLatestVersion", TOOLS)


def test_quotes_inside_string_literals_are_doubled() -> None:
    entry = {**WEB, "Id": "it's"}
    assert matches("Id eq 'it''s'", entry)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Foo eq 'x'", "unknown property 'Foo'"),
        ("Id eq", "ends too early"),
        ("Id eq 'x' and", "ends too early"),
        ("(Id eq 'x'", "expected ')'"),
        ("Id eq 'x')", "unexpected text"),
        ("Id eq 'unterminated", "unexpected character"),
        ("frobnicate(Id) eq 'x'", "unknown function frobnicate()"),
        ("substringof('x') eq true", "unknown function substringof() with 1 argument"),
        ("Id $ 'x'", "unexpected character"),
    ],
)
def test_unsupported_filters_are_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_filter(text)
    assert named in str(caught.value)
    assert repr(text) in str(caught.value)


def test_hostile_nesting_and_length_are_refused() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "IsLatestVersion" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(BadRequest, match="nested deeper"):
        parse_filter(deep)
    with pytest.raises(BadRequest, match="characters long"):
        parse_filter("Id eq '" + "x" * 5000 + "'")


def test_orderby() -> None:
    assert parse_orderby("Id") == [("Id", False)]
    assert parse_orderby("Version desc, Id asc") == [("Version", True), ("Id", False)]
    assert parse_orderby("published DESC") == [("Published", True)]
    assert parse_orderby(None) == []
    for bad in ("Description", "Id sideways", "Id asc extra"):
        with pytest.raises(BadRequest, match="orderby"):
            parse_orderby(bad)
