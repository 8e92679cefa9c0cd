"""v3 documents from plain records: service index, flat container, registrations, search."""

from __future__ import annotations

from feed.http.nuget import v3_docs as docs
from tests.feed.http.nuget.packages import record

ROOT = "https://feed.example"


def test_service_index_advertises_every_resource_the_clients_look_for() -> None:
    index = docs.service_index(ROOT)
    by_type = {r["@type"]: r["@id"] for r in index["resources"]}
    assert index["version"] == "3.0.0"
    assert by_type["PackageBaseAddress/3.0.0"] == f"{ROOT}/v3/flatcontainer/"
    assert by_type["PackagePublish/2.0.0"] == f"{ROOT}/v3/package"
    assert by_type["LegacyGallery/2.0.0"] == f"{ROOT}/api/v2/"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.4.0"):
        assert by_type["RegistrationsBaseUrl" + suffix] == f"{ROOT}/v3/registration/"
    assert by_type["RegistrationsBaseUrl/3.6.0"] == f"{ROOT}/v3/registration-semver2/"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.5.0"):
        assert by_type["SearchQueryService" + suffix] == f"{ROOT}/v3/search"
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc"):
        assert by_type["SearchAutocompleteService" + suffix] == f"{ROOT}/v3/autocomplete"
    assert all(url.startswith(ROOT + "/") for url in by_type.values())


def test_flat_versions_are_ascending_normalised_lower_case() -> None:
    records = [record("A", v) for v in ("2.0", "1.0.0-Beta", "1.0.0.0", "10.0.0", "1.0.0-alpha")]
    assert docs.flat_versions(records) == {
        "versions": ["1.0.0-alpha", "1.0.0-beta", "1.0.0", "2.0.0", "10.0.0"]
    }


def test_small_registration_is_one_inlined_page() -> None:
    records = docs.hive_records([record("Acme.Web", v) for v in ("2.0.0", "1.0.0")], "registration")
    index = docs.registration_index(ROOT, "registration", records)
    assert index["@id"] == f"{ROOT}/v3/registration/acme.web/index.json"
    assert index["count"] == 1
    (page,) = index["items"]
    assert (page["lower"], page["upper"], page["count"]) == ("1.0.0", "2.0.0", 2)
    leaf = page["items"][0]
    entry = leaf["catalogEntry"]
    assert leaf["@id"] == f"{ROOT}/v3/registration/acme.web/1.0.0.json"
    assert leaf["packageContent"] == f"{ROOT}/v3/flatcontainer/acme.web/1.0.0/acme.web.1.0.0.nupkg"
    assert leaf["registration"] == index["@id"]
    assert entry["id"] == "Acme.Web"
    assert entry["version"] == "1.0.0"
    assert entry["listed"] is True
    assert entry["published"] == "2026-01-02T03:04:05.678Z"
    assert entry["authors"] == "Ann, Bob"
    assert entry["tags"] == ["web", "api"]


def test_more_than_64_versions_split_into_pages_that_are_not_inlined() -> None:
    records = docs.hive_records([record("A", f"1.0.{n}") for n in range(130)], "registration")
    index = docs.registration_index(ROOT, "registration", records)
    assert index["count"] == 3
    assert [p["count"] for p in index["items"]] == [64, 64, 2]
    assert all("items" not in p for p in index["items"])
    assert index["items"][0]["lower"] == "1.0.0"
    assert index["items"][0]["upper"] == "1.0.63"
    assert index["items"][0]["@id"] == f"{ROOT}/v3/registration/a/page/1.0.0/1.0.63.json"
    assert index["items"][2]["upper"] == "1.0.129"
    page = docs.registration_page(ROOT, "registration", docs.pages_of(records)[1])
    assert len(page["items"]) == 64
    assert page["items"][0]["catalogEntry"]["version"] == "1.0.64"


def test_semver2_versions_only_in_the_360_hive() -> None:
    records = [record("A", "1.0.0"), record("A", "2.0.0-rc.1"), record("A", "1.5.0+build")]
    semver1 = docs.hive_records(records, docs.REGISTRATION_HIVE)
    semver2 = docs.hive_records(records, docs.SEMVER2_HIVE)
    assert [r.version for r in semver1] == ["1.0.0"]
    assert [r.version for r in semver2] == ["1.0.0", "1.5.0+build", "2.0.0-rc.1"]
    entry = docs.catalog_entry(ROOT, docs.SEMVER2_HIVE, semver2[1])
    assert entry["version"] == "1.5.0+build"


def test_unlisted_leaf() -> None:
    rec = record("A", "1.0.0", listed=False)
    entry = docs.catalog_entry(ROOT, "registration", rec)
    assert entry["listed"] is False
    assert entry["published"] == "1900-01-01T00:00:00Z"
    leaf = docs.standalone_leaf(ROOT, "registration", rec)
    assert leaf["listed"] is False and leaf["published"].startswith("1900")


def test_dependency_groups_come_from_the_nuspec() -> None:
    groups = [
        {"target_framework": "net45", "dependencies": [{"id": "Core", "range": "1.0"}]},
        {"target_framework": None, "dependencies": [{"id": "Log", "range": "[2.0,3.0)"}]},
        {"target_framework": "netstandard2.0", "dependencies": []},
    ]
    entry = docs.catalog_entry(ROOT, "registration", record("A", "1.0.0", dependency_groups=groups))
    first, second, third = entry["dependencyGroups"]
    assert first["targetFramework"] == "net45"
    assert first["dependencies"][0]["id"] == "Core"
    assert first["dependencies"][0]["range"] == "[1.0.0, )"
    assert first["dependencies"][0]["registration"] == f"{ROOT}/v3/registration/core/index.json"
    assert "targetFramework" not in second
    assert second["dependencies"][0]["range"] == "[2.0.0, 3.0.0)"
    assert third["dependencies"] == []


def test_search_result_has_latest_version_and_all_versions() -> None:
    versions = [record("Acme.Web", v) for v in ("1.0.0", "1.1.0")]
    hit = docs.search_result(ROOT, "registration", versions)
    assert hit["id"] == "Acme.Web"
    assert hit["version"] == "1.1.0"
    assert [v["version"] for v in hit["versions"]] == ["1.0.0", "1.1.0"]
    assert hit["versions"][1]["@id"] == f"{ROOT}/v3/registration/acme.web/1.1.0.json"
    assert hit["registration"] == f"{ROOT}/v3/registration/acme.web/index.json"
    assert hit["packageTypes"] == [{"name": "Dependency"}]
    typed = docs.search_result(
        ROOT, "registration", [record("T", "1.0.0", package_types=["DotnetTool"])]
    )
    assert typed["packageTypes"] == [{"name": "DotnetTool"}]
    assert docs.search_document(5, [hit])["totalHits"] == 5
