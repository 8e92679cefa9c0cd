"""NuGet v3's JSON documents, built from package records and the feed's absolute root URL.

Pure functions (no Flask), so every document is testable from plain records. Shapes follow
the documented v3 resources: service index, flat container, registrations, search.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from feed.core.records import PackageRecord
from feed.http.nuget.common import full_version, published_text, version_of
from packer.model.errors import InvalidRange
from packer.model.ranges import parse_range

PAGE_SIZE = 64  # more versions than this: pages are not inlined in the index
REGISTRATION_HIVE = "registration"
SEMVER2_HIVE = "registration-semver2"
DEFAULT_PACKAGE_TYPE = "Dependency"


def service_index(root: str) -> dict[str, Any]:
    """Return /v3/index.json: every resource the official clients look for, absolute URLs."""
    v3 = f"{root}/v3"
    resources: list[tuple[str, str, str]] = [
        (f"{v3}/flatcontainer/", "PackageBaseAddress/3.0.0", "package content"),
        (f"{v3}/package", "PackagePublish/2.0.0", "push and delete"),
        (f"{root}/api/v2/", "LegacyGallery/2.0.0", "the NuGet v2 (OData) endpoint"),
    ]
    semver1 = f"{v3}/{REGISTRATION_HIVE}/"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.4.0"):
        resources.append((semver1, "RegistrationsBaseUrl" + suffix, "SemVer 1 registrations"))
    resources.append(
        (f"{v3}/{SEMVER2_HIVE}/", "RegistrationsBaseUrl/3.6.0", "SemVer 2 registrations")
    )
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.5.0"):
        resources.append((f"{v3}/search", "SearchQueryService" + suffix, "search"))
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc"):
        resources.append((f"{v3}/autocomplete", "SearchAutocompleteService" + suffix, "ids"))
    return {
        "version": "3.0.0",
        "resources": [
            {"@id": url, "@type": kind, "comment": f"octopack: {comment}"}
            for url, kind, comment in resources
        ],
        "@context": {
            "@vocab": "http://schema.nuget.org/services#",
            "comment": "http://www.w3.org/2000/01/rdf-schema#comment",
        },
    }


# -- flat container ---------------------------------------------------------------------


def flat_versions(records: Iterable[PackageRecord]) -> dict[str, list[str]]:
    """Return `{id}/index.json`: every stored version, ascending, normalised, lower case."""
    ordered = sorted(records, key=version_of)
    return {"versions": [r.normalized_version.lower() for r in ordered]}


def content_url(root: str, record: PackageRecord) -> str:
    """Return the flat-container URL of a record's .nupkg."""
    lower_id, lower_version = record.id.lower(), record.normalized_version.lower()
    name = quote(f"{lower_id}.{lower_version}.nupkg")
    return f"{root}/v3/flatcontainer/{quote(lower_id)}/{quote(lower_version)}/{name}"


# -- registrations ----------------------------------------------------------------------


def hive_for(semver2: bool) -> str:
    """Return the registration hive: SemVer 2 versions appear only in the 3.6.0 one."""
    return SEMVER2_HIVE if semver2 else REGISTRATION_HIVE


def registration_url(root: str, hive: str, package_id: str) -> str:
    """Return the registration index URL of an id."""
    return f"{root}/v3/{hive}/{quote(package_id.lower())}/index.json"


def leaf_url(root: str, hive: str, record: PackageRecord) -> str:
    """Return the registration leaf URL of one version."""
    lower_id, lower_version = quote(record.id.lower()), quote(record.normalized_version.lower())
    return f"{root}/v3/{hive}/{lower_id}/{lower_version}.json"


def page_url(root: str, hive: str, package_id: str, lower: str, upper: str) -> str:
    """Return the URL of one registration page (a range of versions)."""
    base = f"{root}/v3/{hive}/{quote(package_id.lower())}"
    return f"{base}/page/{quote(lower.lower())}/{quote(upper.lower())}.json"


def hive_records(records: Iterable[PackageRecord], hive: str) -> list[PackageRecord]:
    """Return the records a hive shows (SemVer 2 only in 3.6.0), oldest first."""
    chosen = [r for r in records if hive == SEMVER2_HIVE or not r.is_semver2]
    return sorted(chosen, key=version_of)


def pages_of(records: Sequence[PackageRecord]) -> list[list[PackageRecord]]:
    """Split versions (oldest first) into pages of PAGE_SIZE."""
    return [list(records[i : i + PAGE_SIZE]) for i in range(0, len(records), PAGE_SIZE)]


def registration_index(root: str, hive: str, records: Sequence[PackageRecord]) -> dict[str, Any]:
    """Return a registration index: one inlined page, or pages to fetch when there are many."""
    package_id = records[-1].id
    pages = pages_of(records)
    inline = len(records) <= PAGE_SIZE
    items = [registration_page(root, hive, page, inline) for page in pages]
    return {
        "@id": registration_url(root, hive, package_id),
        "@type": ["catalog:CatalogRoot", "PackageRegistration", "catalog:Permalink"],
        "count": len(items),
        "items": items,
    }


def registration_page(
    root: str, hive: str, page: Sequence[PackageRecord], inline: bool = True
) -> dict[str, Any]:
    """Return one page: its bounds, and its leaves when inlined (or fetched alone)."""
    package_id = page[-1].id
    lower, upper = full_version(page[0]), full_version(page[-1])
    document: dict[str, Any] = {
        "@id": page_url(root, hive, package_id, lower, upper),
        "@type": "catalog:CatalogPage",
        "count": len(page),
        "lower": lower,
        "upper": upper,
        "parent": registration_url(root, hive, package_id),
    }
    if inline:
        document["items"] = [registration_leaf(root, hive, r) for r in page]
    return document


def registration_leaf(root: str, hive: str, record: PackageRecord) -> dict[str, Any]:
    """Return a leaf as a page lists it: the catalog entry inlined."""
    url = leaf_url(root, hive, record)
    return {
        "@id": url,
        "@type": "Package",
        "catalogEntry": catalog_entry(root, hive, record),
        "packageContent": content_url(root, record),
        "registration": registration_url(root, hive, record.id),
    }


def standalone_leaf(root: str, hive: str, record: PackageRecord) -> dict[str, Any]:
    """Return the leaf document fetched by its own URL (the catalog entry as a link)."""
    url = leaf_url(root, hive, record)
    return {
        "@id": url,
        "@type": ["Package", "http://schema.nuget.org/catalog#Permalink"],
        "catalogEntry": url + "#catalogEntry",
        "listed": record.listed,
        "packageContent": content_url(root, record),
        "published": published_text(record),
        "registration": registration_url(root, hive, record.id),
    }


def catalog_entry(root: str, hive: str, record: PackageRecord) -> dict[str, Any]:
    """Return the package metadata of a leaf, dependency groups from the nuspec."""
    url = leaf_url(root, hive, record) + "#catalogEntry"
    return {
        "@id": url,
        "@type": "PackageDetails",
        "authors": ", ".join(record.authors),
        "dependencyGroups": [
            dependency_group(root, hive, url, group) for group in record.dependency_groups
        ],
        "description": record.description or "",
        "id": record.id,
        "language": "",
        "listed": record.listed,
        "packageContent": content_url(root, record),
        "packageTypes": [{"name": t} for t in package_types(record)],
        "published": published_text(record),
        "requireLicenseAcceptance": False,
        "summary": record.summary or "",
        "tags": list(record.tags),
        "title": record.title or "",
        "version": full_version(record),
    }


def dependency_group(root: str, hive: str, owner: str, group: dict[str, Any]) -> dict[str, Any]:
    """Return one dependency group of a catalog entry (no framework: every framework)."""
    framework = group.get("target_framework")
    group_id = f"{owner}/dependencygroup/{(framework or 'any').lower()}"
    document: dict[str, Any] = {"@id": group_id, "@type": "PackageDependencyGroup"}
    if framework:
        document["targetFramework"] = framework
    document["dependencies"] = [
        {
            "@id": f"{group_id}/{str(dep.get('id', '')).lower()}",
            "@type": "PackageDependency",
            "id": dep.get("id", ""),
            "range": normalize_range(dep.get("range") or ""),
            "registration": registration_url(root, hive, str(dep.get("id", ""))),
        }
        for dep in group.get("dependencies", [])
    ]
    return document


def normalize_range(text: str) -> str:
    """Return NuGet's normal form of a dependency range (`1.0` means `[1.0.0, )`)."""
    if not text.strip():
        return "(, )"
    try:
        return parse_range(text).normalized
    except InvalidRange:
        return text


def package_types(record: PackageRecord) -> list[str]:
    """Return the package types a record declares (Dependency when none)."""
    return list(getattr(record, "package_types", None) or []) or [DEFAULT_PACKAGE_TYPE]


# -- search -----------------------------------------------------------------------------


def search_result(
    root: str, hive: str, versions: Sequence[PackageRecord], total_downloads: int = 0
) -> dict[str, Any]:
    """Return one search hit: the newest of `versions` (oldest first) and all of them."""
    latest = versions[-1]
    registration = registration_url(root, hive, latest.id)
    return {
        "@id": registration,
        "@type": "Package",
        "registration": registration,
        "id": latest.id,
        "version": full_version(latest),
        "description": latest.description or "",
        "summary": latest.summary or "",
        "title": latest.title or latest.id,
        "authors": list(latest.authors),
        "tags": list(latest.tags),
        "totalDownloads": total_downloads,
        "verified": False,
        "packageTypes": [{"name": t} for t in package_types(latest)],
        "versions": [
            {"version": full_version(r), "downloads": 0, "@id": leaf_url(root, hive, r)}
            for r in versions
        ],
    }


def search_document(total: int, results: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the search response envelope."""
    return {
        "@context": {"@vocab": "http://schema.nuget.org/schema#", "@base": ""},
        "totalHits": total,
        "data": results,
    }
