"""The Atom, service and $metadata writers: well-formed XML, typed values, escaping."""

from __future__ import annotations

import base64

import defusedxml.ElementTree as ET

from feed.http.nuget.v2 import dependencies_text, entry_properties
from feed.http.nuget.v2_atom import (
    ATOM,
    DATA,
    METADATA,
    render_feed,
    render_metadata,
    render_service,
    render_single,
)
from tests.feed.http.nuget.packages import record

A, D, M = f"{{{ATOM}}}", f"{{{DATA}}}", f"{{{METADATA}}}"
BASE = "http://feed.example/api/v2/"


def _props(entry_xml) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Return {name: (text, m:type, m:null)} of an entry's properties."""
    props = entry_xml.find(f"{M}properties")
    return {
        child.tag.removeprefix(D): (child.text, child.get(f"{M}type"), child.get(f"{M}null"))
        for child in props
    }


def test_entry_properties_are_typed_with_lower_case_booleans() -> None:
    rec = record("Acme.Web", "1.0.0-beta", release_notes=None, summary="S <&> 'q'")
    props = entry_properties(rec, latest_stable=False, latest=True)
    xml = render_feed("Packages", BASE, "Packages", [(props, BASE + "package/x")], "2026")
    root = ET.fromstring(xml)
    entry = root.find(f"{A}entry")
    values = _props(entry)
    assert values["Id"] == ("Acme.Web", None, None)
    assert values["Version"][0] == "1.0.0-beta"
    assert values["NormalizedVersion"][0] == "1.0.0-beta"
    assert values["IsLatestVersion"] == ("false", "Edm.Boolean", None)
    assert values["IsAbsoluteLatestVersion"] == ("true", "Edm.Boolean", None)
    assert values["IsPrerelease"] == ("true", "Edm.Boolean", None)
    assert values["Listed"] == ("true", "Edm.Boolean", None)
    assert values["PackageSize"] == ("123", "Edm.Int64", None)
    assert values["Published"] == ("2026-01-02T03:04:05.678Z", "Edm.DateTime", None)
    assert values["PackageHashAlgorithm"][0] == "SHA512"
    assert values["PackageHash"][0] == base64.b64encode(b"\xab" * 64).decode()
    assert values["ReleaseNotes"] == (None, None, "true")
    assert values["Summary"][0] == "S <&> 'q'"
    assert values["Authors"][0] == "Ann, Bob"
    assert values["Tags"][0] == "web api"
    assert entry.find(f"{A}content").get("src") == BASE + "package/x"
    assert entry.find(f"{A}id").text == BASE + "Packages(Id='Acme.Web',Version='1.0.0-beta')"


def test_unlisted_versions_are_published_in_1900() -> None:
    props = entry_properties(record("A", "1.0.0", listed=False), False, False)
    assert props["Published"] == "1900-01-01T00:00:00Z"
    assert props["Listed"] is False
    assert props["Created"] == "2026-01-02T03:04:05.678Z"


def test_dependencies_flatten_to_id_range_framework() -> None:
    groups = [
        {"target_framework": None, "dependencies": [{"id": "Core", "range": "[1.0, 2.0)"}]},
        {"target_framework": "net45", "dependencies": [{"id": "Log", "range": ""}]},
        {"target_framework": "netstandard2.0", "dependencies": []},
    ]
    assert dependencies_text(groups) == "Core:[1.0, 2.0):|Log::net45|::netstandard2.0"
    assert dependencies_text([]) == ""


def test_feed_with_next_link_and_count() -> None:
    props = entry_properties(record("A", "1.0.0"), True, True)
    xml = render_feed("FindPackagesById", BASE, "FindPackagesById", [(props, "u")], "t", "n&x", 7)
    root = ET.fromstring(xml)
    assert root.find(f"{M}count").text == "7"
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links["next"] == "n&x"
    assert root.get("{http://www.w3.org/XML/1998/namespace}base") == BASE


def test_single_entry_document() -> None:
    props = entry_properties(record("A", "1.0.0"), True, True)
    root = ET.fromstring(render_single(props, BASE, "u"))
    assert root.tag == f"{A}entry"
    assert _props(root)["Id"][0] == "A"


def test_service_and_metadata_documents() -> None:
    service = ET.fromstring(render_service(BASE))
    assert service.find("{http://www.w3.org/2007/app}workspace") is not None
    metadata = ET.fromstring(render_metadata())
    functions = {
        f.get("Name"): [p.get("Name") for p in f]
        for f in metadata.iter("{http://schemas.microsoft.com/ado/2006/04/edm}FunctionImport")
    }
    assert set(functions) == {"Search", "FindPackagesById", "GetUpdates"}
    assert functions["Search"] == ["searchTerm", "targetFramework", "includePrerelease"]
    assert functions["FindPackagesById"] == ["id"]
    assert "includeAllVersions" in functions["GetUpdates"]
