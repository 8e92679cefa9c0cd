"""NuGet v3 (`/v3/index.json`): a thin translation of the v3 resources onto the repository.

Documents are built in `nuget_v3_docs`; publish, unlist and relist live in `nuget_common`
so v2 shares them. Only nupkg packages appear; unlisted versions stay reachable by exact
version (flat container, registration leaves) but leave search and autocomplete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from feed.core.catalog import IdEntry
from feed.core.errors import PackageNotFound
from feed.core.queries import terms_match
from feed.core.records import PackageRecord
from feed.http.context import arg_bool, arg_int, arg_str, require, services, site_root
from feed.http.downloads import send_package
from feed.http.nuget import v3_docs as docs
from feed.http.nuget.common import (
    cached,
    check_config,
    check_semver_level,
    delete_or_unlist,
    install_cache,
    not_for_nuget,
    nuget_entries,
    nuget_record,
    nuget_records,
    publish,
    read_nuspec,
    relist,
    search_rank,
    version_of,
    visible,
    visible_positions,
)

MAX_TAKE = 1000
HIVES = (docs.REGISTRATION_HIVE, docs.SEMVER2_HIVE)

bp = Blueprint("nuget_v3", __name__, url_prefix="/v3")


def init_app(app: Flask) -> None:
    """Check the NuGet settings and install the blueprint."""
    check_config(app.extensions["octopack"].config)
    install_cache(app)
    app.register_blueprint(bp)


@bp.get("/index.json")
@cached
def service_index() -> Response:
    """Advertise the v3 resources with absolute URLs."""
    require("read")
    return jsonify(docs.service_index(site_root()))


# -- flat container ---------------------------------------------------------------------


@bp.get("/flatcontainer/<package_id>/index.json")
@cached
def flat_index(package_id: str) -> Response:
    """List every version of an id, ascending, normalised, lower case; 404 when unknown."""
    require("read")
    records = nuget_records(package_id)
    if not records:
        raise not_for_nuget(package_id)
    return jsonify(docs.flat_versions(records))


@bp.route("/flatcontainer/<package_id>/<version>/<name>", methods=["GET", "HEAD"])
def flat_file(package_id: str, version: str, name: str) -> Response:
    """Serve `{id}.{version}.nupkg` (streamed, Range, ETag) or `{id}.nuspec`."""
    require("read")
    record = nuget_record(package_id, version)
    lower = name.lower()
    if lower == f"{package_id.lower()}.nuspec":
        # werkzeug leaves the body out of a HEAD answer and keeps its Content-Length
        return Response(read_nuspec(record), mimetype="text/xml")
    expected = f"{record.id.lower()}.{record.normalized_version.lower()}.nupkg"
    if lower not in (expected, f"{package_id.lower()}.{version.lower()}.nupkg"):
        raise PackageNotFound(f"no file {name!r} here; the package is {expected}")
    repository = services().repository
    return send_package(request, record, lambda s, e: repository.open_download(record, s, e))


# -- registrations ----------------------------------------------------------------------


def _hive_records(hive: str, package_id: str) -> list[PackageRecord]:
    """Return what a hive shows of one id (oldest first); 404 for an unknown hive or id."""
    if hive not in HIVES:
        raise PackageNotFound(f"no registration hive {hive!r}; use one of {', '.join(HIVES)}")
    every = nuget_records(package_id)
    if not every:
        raise not_for_nuget(package_id)
    records = docs.hive_records(every, hive)
    if not records:
        raise PackageNotFound(f"package {package_id} has no registration in {hive}")
    return records


@bp.get("/<hive>/<package_id>/index.json")
@cached
def registration_index(hive: str, package_id: str) -> Response:
    """Return the registration index (pages inlined up to 64 versions)."""
    require("read")
    return jsonify(docs.registration_index(site_root(), hive, _hive_records(hive, package_id)))


@bp.get("/<hive>/<package_id>/page/<lower>/<upper>.json")
@cached
def registration_page(hive: str, package_id: str, lower: str, upper: str) -> Response:
    """Return one page of a large registration, with its leaves."""
    require("read")
    for page in docs.pages_of(_hive_records(hive, package_id)):
        bounds = (docs.full_version(page[0]).lower(), docs.full_version(page[-1]).lower())
        if bounds == (lower.lower(), upper.lower()):
            return jsonify(docs.registration_page(site_root(), hive, page, True))
    raise PackageNotFound(f"package {package_id} has no registration page {lower}..{upper}")


@bp.get("/<hive>/<package_id>/<version>.json")
@cached
def registration_leaf(hive: str, package_id: str, version: str) -> Response:
    """Return the leaf of one version (unlisted ones too, marked so)."""
    require("read")
    wanted = nuget_record(package_id, version)
    if wanted not in _hive_records(hive, package_id):
        raise PackageNotFound(f"{wanted.id} {wanted.version} is SemVer 2: see {docs.SEMVER2_HIVE}")
    return jsonify(docs.standalone_leaf(site_root(), hive, wanted))


# -- search -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    """One id a search found: its catalog entry and the positions it shows (newest first)."""

    entry: IdEntry
    shown: tuple[int, ...]

    def versions(self) -> list[PackageRecord]:
        """Return the shown versions oldest first (decodes this id's records)."""
        records = self.entry.records()
        return [records[p] for p in reversed(self.shown)]


def _matching(prerelease: bool, semver2: bool) -> list[_Hit]:
    """Return, per id, the visible versions, filtered by q and type, ranked.

    Reads the catalog's slim entries; only a packageType filter decodes records.
    """
    terms = (arg_str("q") or "").lower().split()
    wanted_type = (arg_str("packageType") or "").strip().lower()
    hits: list[_Hit] = []
    for entry in nuget_entries():
        shown = visible_positions(entry, prerelease, semver2)
        if not shown or (terms and not terms_match(entry.key, entry.text(shown[0]), terms)):
            continue
        if wanted_type:
            newest = entry.records()[shown[0]]
            if wanted_type not in (t.lower() for t in docs.package_types(newest)):
                continue
        hits.append(_Hit(entry, shown))
    if terms:  # without terms every rank is the id: the catalog's order already
        hits.sort(key=lambda hit: search_rank(hit.entry.key, terms))
    return hits


def _client_flags() -> tuple[bool, bool, int, int]:
    """Read prerelease, semVerLevel, skip and take as search and autocomplete use them."""
    prerelease = arg_bool("prerelease", False)
    semver2 = check_semver_level(arg_str("semVerLevel"))
    return prerelease, semver2, arg_int("skip", 0), arg_int("take", 20, MAX_TAKE)


@bp.get("/search")
@cached
def search() -> Response:
    """Search: one result per id with its newest matching version and all its versions."""
    require("read")
    prerelease, semver2, skip, take = _client_flags()
    hits = _matching(prerelease, semver2)
    root, hive = site_root(), docs.hive_for(semver2)
    results = [docs.search_result(root, hive, hit.versions()) for hit in hits[skip : skip + take]]
    return jsonify(docs.search_document(len(hits), results))


@bp.get("/autocomplete")
@cached
def autocomplete() -> Response:
    """Complete ids from `q`, or list the versions of `id`."""
    require("read")
    prerelease, semver2, skip, take = _client_flags()
    package_id = arg_str("id")
    data: list[Any]
    if package_id:
        records = nuget_records(package_id)
        shown = sorted((r for r in records if visible(r, prerelease, semver2)), key=version_of)
        data = [docs.full_version(r) for r in shown]
        return jsonify({"totalHits": len(data), "data": data})
    ids = [hit.entry.name(hit.shown[0]) for hit in _matching(prerelease, semver2)]
    return jsonify({"totalHits": len(ids), "data": ids[skip : skip + take]})


# -- publish ----------------------------------------------------------------------------


@bp.put("/package")
@bp.put("/package/")
def push() -> tuple[Response, int]:
    """Accept a nupkg: 201 created, 409 duplicate, 400 invalid, 401/403 for keys."""
    result = publish()
    return jsonify({"id": result.record.id, "version": result.record.version}), 201


@bp.delete("/package/<package_id>/<version>")
def delete(package_id: str, version: str) -> tuple[str, int]:
    """Unlist a version (or delete it when the feed is configured for hard deletes)."""
    delete_or_unlist(package_id, version)
    return "", 204


@bp.post("/package/<package_id>/<version>")
def post_relist(package_id: str, version: str) -> tuple[str, int]:
    """Relist an unlisted version."""
    relist(package_id, version)
    return "", 200
