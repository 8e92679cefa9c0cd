"""Nuspec parsing (any namespace, dependency groups, hostile XML) and deterministic rendering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packer.model.errors import BadInput, OperationFailed, UnsafeArchive
from packer.model.nuspec import NUSPEC_NAMESPACE, NuspecMetadata, parse_nuspec, render_nuspec

NAMESPACES = [
    "http://schemas.microsoft.com/packaging/2010/07/nuspec.xsd",
    "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd",
    "http://schemas.microsoft.com/packaging/2012/06/nuspec.xsd",
    "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd",
    None,
]


def _doc(metadata: str, namespace: str | None = NUSPEC_NAMESPACE) -> bytes:
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><package{xmlns}><metadata>{metadata}'
        "</metadata></package>"
    ).encode()


FULL = """
  <id>Acme.Web</id><version> 1.0.0-Beta.1+build.5 </version><title>Acme Web</title>
  <authors>Ann, Bob</authors><owners>Acme</owners><description>The site.</description>
  <summary>Short</summary><releaseNotes>Fixed &amp; improved</releaseNotes>
  <tags>web site</tags><projectUrl>https://acme.test/</projectUrl>
  <licenseUrl>https://acme.test/l</licenseUrl><iconUrl>https://acme.test/i.png</iconUrl>
  <requireLicenseAcceptance>true</requireLicenseAcceptance><copyright>(c) Acme</copyright>
  <dependencies>
    <group targetFramework="net45"><dependency id="Newtonsoft.Json" version="[12.0,13.0)"/></group>
    <group><dependency id="Any" version="1.0"/><dependency id="NoVersion"/></group>
  </dependencies>
  <packageTypes><packageType name="Dependency"/></packageTypes>
"""


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_parse_any_namespace(namespace: str | None) -> None:
    meta = parse_nuspec(_doc(FULL, namespace))
    assert meta == NuspecMetadata(
        id="Acme.Web",
        version="1.0.0-Beta.1+build.5",
        title="Acme Web",
        authors="Ann, Bob",
        owners="Acme",
        description="The site.",
        summary="Short",
        release_notes="Fixed & improved",
        tags="web site",
        project_url="https://acme.test/",
        license_url="https://acme.test/l",
        icon_url="https://acme.test/i.png",
        require_license_acceptance=True,
        copyright="(c) Acme",
        dependency_groups=[
            {
                "target_framework": "net45",
                "dependencies": [{"id": "Newtonsoft.Json", "range": "[12.0,13.0)"}],
            },
            {
                "target_framework": None,
                "dependencies": [{"id": "Any", "range": "1.0"}, {"id": "NoVersion", "range": ""}],
            },
        ],
        package_types=["Dependency"],
    )


def test_flat_dependencies_are_one_group_without_framework() -> None:
    meta = parse_nuspec(
        _doc(
            "<id>A</id><version>1.0</version><dependencies>"
            '<dependency id="B" version="2.0"/><dependency id="C" version="[1,2]"/>'
            "</dependencies>"
        )
    )
    assert meta.dependency_groups == [
        {
            "target_framework": None,
            "dependencies": [{"id": "B", "range": "2.0"}, {"id": "C", "range": "[1,2]"}],
        }
    ]


def test_lenient_on_optional_fields() -> None:
    meta = parse_nuspec(_doc("<id>A</id><version>1.0</version><unknownThing>x</unknownThing>"))
    assert (meta.authors, meta.description, meta.dependency_groups) == ("", "", [])
    assert meta.require_license_acceptance is False


def test_utf8_bom_and_other_encodings() -> None:
    doc = _doc("<id>A</id><version>1.0</version><title>Café</title>")
    assert parse_nuspec(b"\xef\xbb\xbf" + doc).title == "Café"
    latin = doc.replace(b"utf-8", b"iso-8859-1").replace("é".encode(), "é".encode("latin-1"))
    assert parse_nuspec(latin).title == "Café"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("<version>1.0</version>", "<id> is missing or empty"),
        ("<id>  </id><version>1.0</version>", "<id> is missing or empty"),
        ("<id>A</id>", "<version> is missing or empty"),
    ],
)
def test_missing_id_or_version_is_refused(metadata: str, message: str) -> None:
    with pytest.raises(OperationFailed, match=message):
        parse_nuspec(_doc(metadata))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<package><metadata><id>A</id>", "malformed nuspec XML"),
        (b"", "malformed nuspec XML"),
        (b"not xml at all", "malformed nuspec XML"),
        (b"<nuspec><metadata/></nuspec>", "root element is <nuspec>, not <package>"),
        (b"<package><files/></package>", "no <metadata> element"),
    ],
)
def test_malformed_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(OperationFailed, match=message) as caught:
        parse_nuspec(data)
    assert not isinstance(caught.value, UnsafeArchive)


@pytest.mark.parametrize(
    "prologue",
    [
        '<!DOCTYPE package [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE package SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!DOCTYPE package [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "<!DOCTYPE package>",
    ],
)
def test_dtd_is_refused(prologue: str) -> None:
    data = f'<?xml version="1.0"?>{prologue}<package><metadata><id>A</id><version>1</version>'
    data += "</metadata></package>"
    with pytest.raises(UnsafeArchive, match="nuspec contains a DTD"):
        parse_nuspec(data.encode())


def test_oversize_is_refused_before_parsing() -> None:
    data = _doc("<id>A</id><version>1.0</version><description>" + "x" * 5000 + "</description>")
    assert parse_nuspec(data, max_bytes=len(data)).id == "A"
    with pytest.raises(UnsafeArchive, match=f"nuspec is {len(data)} bytes, over the limit of 100"):
        parse_nuspec(data, max_bytes=100)
    with pytest.raises(UnsafeArchive, match="over the limit of 1048576"):
        parse_nuspec(b" " * ((1 << 20) + 1))


def test_render_is_namespaced_escaped_and_deterministic() -> None:
    meta = NuspecMetadata(
        id="Acme.Web",
        version="1.0.0",
        authors='Ann <ann@acme.test> & "Bob"',
        description="Line one\r\nline 'two'",
        tags="a b",
        dependency_groups=[
            {"target_framework": ".NETFramework4.5", "dependencies": [{"id": "X", "range": "1.0"}]}
        ],
    )
    first = render_nuspec(meta)
    assert first == render_nuspec(meta)
    text = first.decode("utf-8")
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert f'<package xmlns="{NUSPEC_NAMESPACE}">' in text
    assert "<authors>Ann &lt;ann@acme.test&gt; &amp; &quot;Bob&quot;</authors>" in text
    assert '<group targetFramework=".NETFramework4.5">' in text
    assert parse_nuspec(first) == meta


def test_render_flat_dependencies_and_empty_optional_fields() -> None:
    meta = NuspecMetadata(
        id="A",
        version="1.0",
        dependency_groups=[{"target_framework": None, "dependencies": [{"id": "B", "range": ""}]}],
    )
    text = render_nuspec(meta).decode()
    assert "<group" not in text
    assert '<dependency id="B" />' in text
    assert "<title>" not in text
    assert "<authors></authors>" in text  # NuGet requires the element
    assert parse_nuspec(render_nuspec(meta)) == meta


def test_attribute_values_keep_tabs_and_newlines() -> None:
    group = {"target_framework": "a\tb", "dependencies": [{"id": "D", "range": " x\n\ty "}]}
    meta = NuspecMetadata(id="A", version="1.0", dependency_groups=[group])
    assert parse_nuspec(render_nuspec(meta)).dependency_groups[0]["dependencies"] == [
        {"id": "D", "range": "x\n\ty"}  # parsing strips surrounding whitespace only
    ]
    assert parse_nuspec(render_nuspec(meta)).dependency_groups[0]["target_framework"] == "a\tb"


def test_render_refuses_characters_xml_cannot_carry() -> None:
    with pytest.raises(BadInput, match=r"nuspec description 'bad\\x01' contains character"):
        render_nuspec(NuspecMetadata(id="A", version="1.0", description="bad\x01"))


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff"),
    max_size=40,
).filter(lambda s: not any("\x01" <= c < " " and c not in "\t\n\r" for c in s))


@given(
    title=_text,
    description=_text,
    release_notes=_text,
    tags=_text,
    dep=_text,
)
def test_render_parse_round_trip(
    title: str, description: str, release_notes: str, tags: str, dep: str
) -> None:
    meta = NuspecMetadata(
        id="A",
        version="1.0",
        title=title.strip(),
        description=description.strip(),
        release_notes=release_notes.strip(),
        tags=tags.strip(),
        dependency_groups=[
            {"target_framework": "net8.0", "dependencies": [{"id": "D", "range": dep.strip()}]}
        ],
    )
    assert parse_nuspec(render_nuspec(meta)) == meta
