"""NuGet v2's documents: the Atom feed of package entries, the service document, $metadata.

Writers take plain dicts of entry properties (what `nuget_v2.entry_properties` builds from a
record), so they are testable without a feed. Values carry OData types (`m:type`), booleans
are lower case, absent values are `m:null="true"`, as the WCF client of NuGet 2.x expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

ATOM = "http://www.w3.org/2005/Atom"
DATA = "http://schemas.microsoft.com/ado/2007/08/dataservices"
METADATA = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
APP = "http://www.w3.org/2007/app"
ENTITY_TYPE = "NuGetGallery.OData.V2FeedPackage"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"

# (property, OData type) in the order NuGet.Server writes them.
PROPERTIES: tuple[tuple[str, str], ...] = (
    ("Id", "Edm.String"),
    ("Version", "Edm.String"),
    ("NormalizedVersion", "Edm.String"),
    ("Title", "Edm.String"),
    ("Authors", "Edm.String"),
    ("Owners", "Edm.String"),
    ("Copyright", "Edm.String"),
    ("Created", "Edm.DateTime"),
    ("Dependencies", "Edm.String"),
    ("Description", "Edm.String"),
    ("DownloadCount", "Edm.Int32"),
    ("GalleryDetailsUrl", "Edm.String"),
    ("IconUrl", "Edm.String"),
    ("IsLatestVersion", "Edm.Boolean"),
    ("IsAbsoluteLatestVersion", "Edm.Boolean"),
    ("IsPrerelease", "Edm.Boolean"),
    ("Language", "Edm.String"),
    ("LastUpdated", "Edm.DateTime"),
    ("Published", "Edm.DateTime"),
    ("PackageHash", "Edm.String"),
    ("PackageHashAlgorithm", "Edm.String"),
    ("PackageSize", "Edm.Int64"),
    ("ProjectUrl", "Edm.String"),
    ("ReportAbuseUrl", "Edm.String"),
    ("ReleaseNotes", "Edm.String"),
    ("RequireLicenseAcceptance", "Edm.Boolean"),
    ("Summary", "Edm.String"),
    ("Tags", "Edm.String"),
    ("VersionDownloadCount", "Edm.Int32"),
    ("MinClientVersion", "Edm.String"),
    ("LicenseUrl", "Edm.String"),
    ("Listed", "Edm.Boolean"),
    ("DevelopmentDependency", "Edm.Boolean"),
)
_TYPES = dict(PROPERTIES)


def _typed(name: str, value: Any) -> str:
    """Write one `<d:Name>` element with its OData type (strings carry none)."""
    edm = _TYPES.get(name, "Edm.String")
    type_attr = "" if edm == "Edm.String" else f' m:type="{edm}"'
    if value is None:
        return f'<d:{name}{type_attr} m:null="true" />'
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = escape(str(value))
    return f"<d:{name}{type_attr}>{text}</d:{name}>"


def entry_key(entry: Mapping[str, Any]) -> str:
    """Return the OData key of an entry: `Packages(Id='X',Version='1.0.0')`."""
    return f"Packages(Id={_odata_string(entry['Id'])},Version={_odata_string(entry['Version'])})"


def _odata_string(text: str) -> str:
    """Quote a string literal the OData way (a quote doubles)."""
    return "'" + str(text).replace("'", "''") + "'"


def render_entry(entry: Mapping[str, Any], base: str, content_url: str) -> str:
    """Return one `<entry>` element (without namespace declarations)."""
    key = entry_key(entry)
    updated = entry.get("LastUpdated") or entry.get("Published") or ""
    parts = [
        "<entry>",
        f"<id>{escape(base + key)}</id>",
        f'<category term="{ENTITY_TYPE}" scheme="{SCHEME}" />',
        f'<link rel="edit" title="V2FeedPackage" href={quoteattr(key)} />',
        f'<link rel="self" title="V2FeedPackage" href={quoteattr(key)} />',
        f'<title type="text">{escape(str(entry["Id"]))}</title>',
        f'<summary type="text">{escape(str(entry.get("Summary") or ""))}</summary>',
        f"<updated>{escape(str(updated))}</updated>",
        f"<author><name>{escape(str(entry.get('Authors') or ''))}</name></author>",
        f'<content type="application/zip" src={quoteattr(content_url)} />',
        "<m:properties>",
    ]
    parts.extend(_typed(name, entry.get(name)) for name, _ in PROPERTIES)
    parts += ["</m:properties>", "</entry>"]
    return "".join(parts)


def render_feed(
    title: str,
    base: str,
    self_href: str,
    entries: Iterable[tuple[Mapping[str, Any], str]],
    updated: str,
    next_href: str | None = None,
    count: int | None = None,
) -> str:
    """Return an Atom `<feed>` of (entry, content URL) pairs, with an optional next link."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xml:base={quoteattr(base)} xmlns="{ATOM}" xmlns:d="{DATA}" xmlns:m="{METADATA}">',
        f"<m:count>{count}</m:count>" if count is not None else "",
        f"<id>{escape(base + self_href)}</id>",
        f'<title type="text">{escape(title)}</title>',
        f"<updated>{escape(updated)}</updated>",
        f'<link rel="self" title={quoteattr(title)} href={quoteattr(self_href)} />',
    ]
    parts.extend(render_entry(entry, base, url) for entry, url in entries)
    if next_href is not None:
        parts.append(f'<link rel="next" href={quoteattr(next_href)} />')
    parts.append("</feed>")
    return "".join(parts)


def render_single(entry: Mapping[str, Any], base: str, content_url: str) -> str:
    """Return one entry as a whole document (what `Packages(Id=,Version=)` answers)."""
    body = render_entry(entry, base, content_url)
    namespaces = (
        f'<entry xml:base={quoteattr(base)} xmlns="{ATOM}" xmlns:d="{DATA}" xmlns:m="{METADATA}">'
    )
    return '<?xml version="1.0" encoding="utf-8"?>' + namespaces + body[len("<entry>") :]


def render_service(base: str) -> str:
    """Return the AtomPub service document listing the Packages collection."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<service xml:base={quoteattr(base)} xmlns="{APP}" xmlns:atom="{ATOM}">'
        "<workspace><atom:title>Default</atom:title>"
        '<collection href="Packages"><atom:title>Packages</atom:title></collection>'
        "</workspace></service>"
    )


def render_error(message: str) -> str:
    """Return an OData error document (what NuGet 2.x shows when a query is refused)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<m:error xmlns:m="{METADATA}"><m:code /><m:message xml:lang="en-US">'
        f"{escape(message)}</m:message></m:error>"
    )


_SEARCH_PARAMS = (
    ("searchTerm", "Edm.String"),
    ("targetFramework", "Edm.String"),
    ("includePrerelease", "Edm.Boolean"),
)
_UPDATES_PARAMS = (
    ("packageIds", "Edm.String"),
    ("versions", "Edm.String"),
    ("includePrerelease", "Edm.Boolean"),
    ("includeAllVersions", "Edm.Boolean"),
    ("targetFrameworks", "Edm.String"),
    ("versionConstraints", "Edm.String"),
)


def _function(name: str, params: tuple[tuple[str, str], ...]) -> str:
    """Declare one function import returning package entries."""
    lines = [
        f'<FunctionImport Name="{name}" EntitySet="Packages" '
        'ReturnType="Collection(NuGetGallery.OData.V2FeedPackage)" m:HttpMethod="GET">'
    ]
    lines += [f'<Parameter Name="{p}" Type="{t}" Mode="In" />' for p, t in params]
    return "".join(lines) + "</FunctionImport>"


def render_metadata() -> str:
    """Return the EDMX `$metadata`: the entity type and the Search, FindPackagesById and
    GetUpdates function imports that NuGet 2.x looks for before using them."""
    props = "".join(
        f'<Property Name="{name}" Type="{edm}" Nullable="{"false" if name in ("Id", "Version") else "true"}" />'
        for name, edm in PROPERTIES
    )
    functions = (
        _function("Search", _SEARCH_PARAMS)
        + _function("FindPackagesById", (("id", "Edm.String"),))
        + _function("GetUpdates", _UPDATES_PARAMS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">'
        f'<edmx:DataServices m:DataServiceVersion="2.0" m:MaxDataServiceVersion="2.0" xmlns:m="{METADATA}">'
        '<Schema Namespace="NuGetGallery.OData" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">'
        '<EntityType Name="V2FeedPackage" m:HasStream="true">'
        '<Key><PropertyRef Name="Id" /><PropertyRef Name="Version" /></Key>'
        f"{props}</EntityType></Schema>"
        '<Schema Namespace="NuGetGallery" xmlns="http://schemas.microsoft.com/ado/2006/04/edm">'
        '<EntityContainer Name="V2FeedContext" m:IsDefaultEntityContainer="true">'
        '<EntitySet Name="Packages" EntityType="NuGetGallery.OData.V2FeedPackage" />'
        f"{functions}</EntityContainer></Schema>"
        "</edmx:DataServices></edmx:Edmx>"
    )
