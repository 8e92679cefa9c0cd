"""NuGet v2 (`/api/v2/`): the OData subset NuGet 2.x, Chocolatey-style tools and older
Octopus versions send, translated onto the repository core.

Queries build one lazy entry per visible version (`nuget_v2_entries`), filter them with
`nuget_v2_filter`, order and page them, and render Atom with `nuget_v2_atom`; only the
entries a filter or the page needs decode their records.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Response, jsonify, redirect, request

from feed.core.errors import BadRequest, PackageNotFound
from feed.core.records import PackageRecord
from feed.http.context import arg_bool, arg_int, arg_str, require, services, site_root
from feed.http.downloads import send_package
from feed.http.nuget import v2_atom as atom
from feed.http.nuget.common import (
    cached,
    check_config,
    check_semver_level,
    delete_or_unlist,
    install_cache,
    nuget_entries,
    nuget_record,
    nuget_records,
    publish,
    relist,
    version_of,
    visible,
)
from feed.http.nuget.v2_entries import (  # noqa: F401 - entry_properties re-exported
    Entry,
    dependencies_text,
    entries_of,
    entry_properties,
    order,
)
from feed.http.nuget.v2_filter import parse_filter, parse_filter_reading, parse_orderby
from feed.http.nuget.v2_pages import Visibility, catalog_page, listed_entries
from packer.model.errors import InvalidRange
from packer.model.ranges import parse_range
from packer.model.versions import try_parse_version

PAGE_SIZE = 100
ATOM_FEED = "application/atom+xml;type=feed;charset=utf-8"
ATOM_ENTRY = "application/atom+xml;type=entry;charset=utf-8"
XML = "application/xml;charset=utf-8"
_RESOURCE = re.compile(r"^(?P<name>[A-Za-z]+)(?:\((?P<args>[^)]*)\))?(?P<count>/\$count)?$")
_KEY = re.compile(
    r"^\s*Id\s*=\s*'(?P<id>(?:[^']|'')*)'\s*,\s*Version\s*=\s*'(?P<v>(?:[^']|'')*)'\s*$"
)

bp = Blueprint("nuget_v2", __name__)


def v2_base() -> str:
    """Return the absolute URL of the v2 endpoint, with its trailing slash."""
    return f"{site_root()}/api/v2/"


def _xml(body: str, mimetype: str = XML) -> Response:
    """Answer an OData document with the protocol version header WCF clients check."""
    return Response(body, mimetype=mimetype, headers={"DataServiceVersion": "2.0;"})


def odata_arg(name: str) -> str | None:
    """Read a function parameter: quoted OData strings lose their quotes ('it''s' -> it's)."""
    value = arg_str(name)
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


# -- entries ----------------------------------------------------------------------------


def content_url(record: PackageRecord) -> str:
    """Return the v2 download URL of a version."""
    return f"{v2_base()}package/{quote(record.id)}/{quote(record.normalized_version)}"


# -- querying ---------------------------------------------------------------------------


def _answer(title: str, entries: list[Entry], count: bool) -> Response:
    """Filter, order and page entries; answer a feed (with a next link) or a $count."""
    test = parse_filter(arg_str("$filter"))
    chosen = [e for e in entries if test(e)]
    if count:
        return Response(str(len(chosen)), mimetype="text/plain")
    order(chosen, arg_str("$orderby"))
    skip, take, asked = _paging()
    return _feed(title, chosen[skip : skip + take], len(chosen), (skip, take, asked))


def _catalog_answer(title: str, seen: Visibility, count: bool) -> Response:
    """`_answer` over the catalog: only the page's entries are built when the filter and
    order allow (`catalog_page`); the answer is the same either way."""
    test = parse_filter_reading(arg_str("$filter"))
    keys = [] if count else parse_orderby(arg_str("$orderby"))
    paging = (0, 0, -1) if count else _paging()
    whole = count or arg_str("$inlinecount") == "allpages"
    page = (0, None) if count else paging[:2]
    found = catalog_page(nuget_entries(), seen, test, keys, page, whole)
    if found is None:
        return _answer(title, listed_entries(nuget_entries(), seen), count)
    total, entries = found
    if count:
        return Response(str(total), mimetype="text/plain")
    return _feed(title, entries, total, paging)


def _paging() -> tuple[int, int, int]:
    """Return $skip, the page size and $top as asked (-1: not asked)."""
    skip = arg_int("$skip", 0)
    asked = arg_int("$top", -1) if arg_str("$top") else -1
    return skip, PAGE_SIZE if asked < 0 else min(asked, PAGE_SIZE), asked


def _feed(title: str, page: list[Entry], total: int, paging: tuple[int, int, int]) -> Response:
    """Render one page; `total` counts every chosen entry (or, without $inlinecount,
    at least enough to tell whether more follow the page)."""
    skip, take, asked = paging
    next_href = None
    if total > skip + take and (asked < 0 or asked > take):
        args = {k: v for k, v in request.args.items() if k.lower() not in ("$skip", "apikey")}
        if asked >= 0:
            args["$top"] = str(asked - take)
        args["$skip"] = str(skip + take)
        next_href = f"{v2_base()}{request.path.split('/api/v2/', 1)[1]}?{urlencode(args)}"
    updated = max((e.record.published for e in page), default="1900-01-01T00:00:00Z")
    body = atom.render_feed(
        title,
        v2_base(),
        title,
        [(e.properties(), content_url(e.record)) for e in page],
        updated,
        next_href,
        total if arg_str("$inlinecount") == "allpages" else None,
    )
    return _xml(body, ATOM_FEED)


def packages(count: bool) -> Response:
    """`Packages()`: every listed version the client may see, through $filter."""
    semver2 = check_semver_level(arg_str("semVerLevel"))
    return _catalog_answer("Packages", Visibility(semver2, True, []), count)


def search(count: bool) -> Response:
    """`Search()`: listed versions matching searchTerm (targetFramework is accepted, unused)."""
    semver2 = check_semver_level(arg_str("semVerLevel"))
    terms = (odata_arg("searchTerm") or "").lower().split()
    prerelease = arg_bool("includePrerelease", False)
    return _catalog_answer("Search", Visibility(semver2, prerelease, terms), count)


def find_by_id(count: bool) -> Response:
    """`FindPackagesById()?id='X'`: every version of one id, unlisted ones included."""
    package_id = odata_arg("id")
    if not package_id:
        raise BadRequest("FindPackagesById needs the id parameter, e.g. ?id='Acme.Web'")
    semver2 = check_semver_level(arg_str("semVerLevel"))
    records = nuget_records(package_id)
    keep = lambda r: semver2 or not r.is_semver2  # noqa: E731
    return _answer("FindPackagesById", list(entries_of(records, semver2, keep)), count)


def get_updates(count: bool) -> Response:
    """`GetUpdates()`: newer versions (or the newest only) of each package id given."""
    ids = [p for p in (odata_arg("packageIds") or "").split("|") if p]
    versions = (odata_arg("versions") or "").split("|")
    if not ids or len(ids) != len(versions):
        raise BadRequest("GetUpdates needs packageIds and versions of equal length, '|'-separated")
    constraints = (odata_arg("versionConstraints") or "").split("|")
    prerelease = arg_bool("includePrerelease", False)
    every = arg_bool("includeAllVersions", False)
    semver2 = check_semver_level(arg_str("semVerLevel"))
    entries = []
    for index, (package_id, text) in enumerate(zip(ids, versions, strict=True)):
        current = try_parse_version(text)
        if current is None:
            raise BadRequest(f"GetUpdates: {text!r} (for {package_id}) is not a version")
        wanted = _constraint(constraints[index] if index < len(constraints) else "")
        records = nuget_records(package_id)
        newer = [
            r
            for r in records
            if visible(r, prerelease, semver2)
            and version_of(r) > current
            and (wanted is None or wanted.contains(version_of(r)))
        ]
        chosen = newer if every else newer[:1]
        entries.extend(entries_of(records, semver2, lambda r, c=chosen: r in c))
    return _answer("GetUpdates", entries, count)


def _constraint(text: str):
    """Parse one versionConstraints item (empty: none)."""
    if not text.strip():
        return None
    try:
        return parse_range(text)
    except InvalidRange as error:
        raise BadRequest(f"GetUpdates: version constraint {text!r} is not a range") from error


FUNCTIONS = {
    "packages": packages,
    "search": search,
    "findpackagesbyid": find_by_id,
    "getupdates": get_updates,
}


# -- views ------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Check the NuGet settings and install the blueprint."""
    check_config(app.extensions["octopack"].config)
    install_cache(app)
    app.register_blueprint(bp)


def site_root_redirect() -> Response:
    """Send NuGet clients given the site root on to the v2 endpoint; describe it otherwise.

    `/` itself is `feed.http.web.pages.front_door`, which shows browsers the web page.
    """
    if "nuget" in (request.user_agent.string or "").lower():
        return redirect(v2_base(), code=302)  # type: ignore[return-value]
    root = site_root()
    return jsonify(
        {
            "Application": "octopack",
            "Api": f"{root}/api",
            "NuGetV3": f"{root}/v3/index.json",
            "NuGetV2": v2_base(),
        }
    )


@bp.get("/api/v2")
@bp.get("/api/v2/")
def service() -> Response:
    """Answer the AtomPub service document."""
    require("read")
    return _xml(atom.render_service(v2_base()))


@bp.get("/api/v2/$metadata")
def metadata() -> Response:
    """Declare the entity type and the function imports."""
    require("read")
    return _xml(atom.render_metadata())


@bp.get("/api/v2/<path:resource>")
@cached
def resource(resource: str) -> Response:
    """Dispatch `Packages()`, `Packages(Id=,Version=)`, `Search()`, ... and their `/$count`."""
    require("read")
    match = _RESOURCE.match(resource)
    if match is None:
        raise PackageNotFound(f"no such NuGet v2 resource: {resource!r}")
    name, args, count = match["name"].lower(), match["args"], bool(match["count"])
    if name == "packages" and args:
        return single_package(args)
    function = FUNCTIONS.get(name)
    if function is None:
        raise PackageNotFound(f"no such NuGet v2 resource: {resource!r}")
    return function(count)


def single_package(args: str) -> Response:
    """`Packages(Id='X',Version='1.0.0')`: one entry, unlisted versions included."""
    key = _KEY.match(args)
    if key is None:
        raise BadRequest(f"Packages({args}) must be Packages(Id='X',Version='1.0.0')")
    package_id, version = key["id"].replace("''", "'"), key["v"].replace("''", "'")
    record = nuget_record(package_id, version)
    semver2 = check_semver_level(arg_str("semVerLevel"))
    entry = next(entries_of(nuget_records(package_id), semver2, lambda r: r == record))
    return _xml(atom.render_single(entry.properties(), v2_base(), content_url(record)), ATOM_ENTRY)


@bp.route("/api/v2/package/<package_id>/<version>", methods=["GET", "HEAD"])
def download(package_id: str, version: str) -> Response:
    """Stream one version (unlisted ones too): HEAD, Range, ETag."""
    require("read")
    record = nuget_record(package_id, version)
    repository = services().repository
    return send_package(request, record, lambda s, e: repository.open_download(record, s, e))


@bp.put("/api/v2")
@bp.put("/api/v2/")
@bp.put("/api/v2/package")
@bp.put("/api/v2/package/")
def push() -> tuple[str, int]:
    """Accept a nupkg as NuGet 2.x pushes it (to the source URL or its package/ child)."""
    publish()
    return "", 201


@bp.delete("/api/v2/<package_id>/<version>")
@bp.delete("/api/v2/package/<package_id>/<version>")
def delete(package_id: str, version: str) -> tuple[str, int]:
    """Unlist a version, or delete it when the feed is configured for hard deletes."""
    delete_or_unlist(package_id, version)
    return "", 204


@bp.post("/api/v2/<package_id>/<version>")
@bp.post("/api/v2/package/<package_id>/<version>")
def post_relist(package_id: str, version: str) -> tuple[str, int]:
    """Relist an unlisted version (NuGet gallery's POST)."""
    relist(package_id, version)
    return "", 200
