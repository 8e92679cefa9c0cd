"""The Octopus built-in feed dialect: a thin translation of Octopus's API onto the repository.

Every route answers both at `/api/...` and `/api/{spaceId}/...`; space ids match
`Spaces-\\d+`, so `/api/v2/` stays free for NuGet v2. There is one space, Spaces-1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.routing import BaseConverter

from feed.core.errors import BadRequest, PackageNotFound, PackageRefused
from feed.core.records import PackageRecord
from feed.core.uploads import SpooledUpload
from feed.http.cache import cached as _cached
from feed.http.cache import install_cache
from feed.http.context import arg_bool, arg_int, arg_str, require, services
from feed.http.downloads import send_package
from feed.http.requestlog import note_package
from feed.http.uploads import part_upload
from packer import __version__
from packer.model.conventions import PUSH_STATUS_HEADER, OverwriteMode, PushStatus
from packer.model.identity import is_valid_id
from packer.model.versions import try_parse_version

DEFAULT_SPACE = "Spaces-1"
BUILTIN_FEED = "feeds-builtin"
MAX_TAKE = 1000
REF_PREFIX = "packages-"

bp = Blueprint("octopus", __name__)
cached = _cached(absolute_links=False)  # Links are relative: the host is not in the key


class SpaceConverter(BaseConverter):
    """Match Octopus space ids only, so other `/api/...` paths stay free."""

    regex = r"Spaces-\d+"


def route(rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view at `/api{rule}` and `/api/{space}{rule}`."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        bp.add_url_rule("/api" + rule, view_func=view, **options)
        bp.add_url_rule("/api/<space:space>" + rule, view_func=view, **options)
        return view

    return decorator


def init_app(app: Flask) -> None:
    """Install the space converter, the response cache and the blueprint."""
    app.url_map.converters["space"] = SpaceConverter
    install_cache(app)
    app.register_blueprint(bp)


# -- resources --------------------------------------------------------------------------


def api_base(space: str | None = None) -> str:
    """Return the URL prefix links use (always with the space, as Octopus writes them)."""
    return f"/api/{space or DEFAULT_SPACE}"


def package_ref(record: PackageRecord) -> str:
    """Return Octopus's package resource id `packages-{PackageId}.{Version}`."""
    return f"{REF_PREFIX}{record.id}.{record.version}"


def package_links(record: PackageRecord, space: str | None) -> dict[str, str]:
    """Return the Self and Raw links of a package."""
    self_link = f"{api_base(space)}/packages/{quote(package_ref(record), safe='')}"
    return {"Self": self_link, "Raw": self_link + "/raw"}


def package_resource(record: PackageRecord, space: str | None = None) -> dict[str, Any]:
    """Return the Octopus package resource (push response, detail, list item)."""
    return {
        "Id": package_ref(record),
        "PackageId": record.id,
        "Version": record.version,
        "Title": record.title,
        "Summary": record.summary,
        "Description": record.description,
        "Published": record.published,
        "ReleaseNotes": record.release_notes,
        "FileExtension": "." + record.extension,
        "PackageSizeBytes": record.size,
        "Hash": record.sha1,
        "Sha256": record.sha256,
        "Sha512": record.sha512,
        "Links": package_links(record, space),
    }


def version_item(record: PackageRecord, space: str | None) -> dict[str, Any]:
    """Return one item of the feed's versions query."""
    return {
        "Id": package_ref(record),
        "PackageId": record.id,
        "Version": record.version,
        "Published": record.published,
        "SizeBytes": record.size,
        "Title": record.title,
        "ReleaseNotes": record.release_notes,
        "FileExtension": "." + record.extension,
        "Links": package_links(record, space),
    }


def collection(
    item_type: str, items: list[dict[str, Any]], total: int, skip: int, take: int
) -> dict[str, Any]:
    """Return Octopus's paged collection document, with page links keeping the query."""
    pages = max(1, math.ceil(total / take)) if take else 1
    links = {"Self": _page_link(skip, take), "Page.Current": _page_link(skip, take)}
    links["Page.Last"] = _page_link(max(0, (pages - 1) * take), take)
    if take and skip + len(items) < total:
        links["Page.Next"] = _page_link(skip + take, take)
    return {
        "ItemType": item_type,
        "TotalResults": total,
        "ItemsPerPage": take,
        "NumberOfPages": pages,
        "LastPageNumber": pages - 1,
        "Items": items,
        "Links": links,
    }


def _page_link(skip: int, take: int) -> str:
    """Return this request's URL with skip and take replaced (never the API key)."""
    args = {k: v for k, v in request.args.items() if k.lower() not in ("skip", "take", "apikey")}
    args.update(skip=str(skip), take=str(take))
    return f"{request.path}?{urlencode(args)}"


# -- request helpers --------------------------------------------------------------------


def check_space(space: str | None) -> None:
    """Refuse a space id other than the one this feed has."""
    if space is not None and space != DEFAULT_SPACE:
        raise PackageNotFound(f"no space {space!r}: this feed has one space, {DEFAULT_SPACE}")


def overwrite_mode() -> OverwriteMode:
    """Read overwriteMode (any case) or the legacy replace=true."""
    return OverwriteMode.from_query(arg_str("overwriteMode"), arg_bool("replace"))


def uploaded_package() -> tuple[SpooledUpload | BinaryIO, str]:
    """Return the uploaded package (a spooled file, or the raw body) and its file name."""
    if request.mimetype.startswith("multipart/"):
        if not request.files:
            raise BadRequest("the multipart form holds no file; send the package as a file part")
        upload = next(iter(request.files.values()))
        return part_upload(upload), upload.filename or ""
    name = arg_str("fileName") or arg_str("filename")
    if not name and request.headers.get("Content-Disposition"):
        from werkzeug.http import parse_options_header

        _, options = parse_options_header(request.headers["Content-Disposition"])
        name = options.get("filename")
    if not name:
        raise BadRequest(
            "no package file name: send multipart/form-data with a file part named "
            "Id.Version.ext, or the raw body with ?fileName=Id.Version.ext"
        )
    return request.stream, name


def find_by_ref(ref: str) -> PackageRecord:
    """Resolve `packages-{Id}.{Version}`; ids contain dots, so try each split that parses."""
    if not ref.startswith(REF_PREFIX):
        raise PackageNotFound(f"{ref!r} is not a package reference like packages-Acme.Web.1.0.0")
    text = ref[len(REF_PREFIX) :]
    repository = services().repository
    position = text.find(".")
    while position != -1:
        package_id, version = text[:position], try_parse_version(text[position + 1 :])
        if version is not None and is_valid_id(package_id):
            try:
                found = repository.get(package_id, version)
            except PackageNotFound:
                found = None
            if found is not None:
                note_package(found.id, found.version)
                return found
        position = text.find(".", position + 1)
    raise PackageNotFound(f"package {text!r} is not in the feed")


# -- views ------------------------------------------------------------------------------


@bp.get("/api")
@bp.get("/api/")
@bp.get("/api/<space:space>")
def root(space: str | None = None) -> Response:
    """Describe the API with Octopus-style Links."""
    check_space(space)
    base = api_base(space)
    return jsonify(
        {
            "Application": "octopack",
            "Version": __version__,
            "ApiVersion": "3.0.0",
            "SpaceId": space or DEFAULT_SPACE,
            "Links": {
                "Self": f"/api/{space}" if space else "/api",
                "Spaces": "/api/spaces",
                "Packages": f"{base}/packages{{/id}}{{?filter,latest,skip,take}}",
                "PackageUpload": f"{base}/packages/raw{{?replace,overwriteMode}}",
                "FeedPackageVersions": f"{base}/feeds/{BUILTIN_FEED}/packages/versions"
                "{?packageId,versionRange,includePreRelease,skip,take}",
                "Health": "/health",
                "NuGetV3": "/v3/index.json",
                "NuGetV2": "/api/v2/",
            },
        }
    )


def space_resource() -> dict[str, Any]:
    """Return the one space this feed has."""
    return {
        "Id": DEFAULT_SPACE,
        "Name": "Default",
        "Slug": "default",
        "IsDefault": True,
        "Links": {"Self": f"/api/spaces/{DEFAULT_SPACE}", "SpaceHome": f"/api/{DEFAULT_SPACE}"},
    }


@bp.get("/api/spaces")
def spaces() -> Response:
    """List the one default space."""
    return jsonify(collection("Space", [space_resource()], 1, 0, 30))


@bp.get("/api/spaces/<space_id>")
def space(space_id: str) -> Response:
    """Describe one space by id (only Spaces-1 exists)."""
    check_space(space_id)
    return jsonify(space_resource())


@route("/packages/raw", methods=["POST"])
def push(space: str | None = None) -> tuple[Response, int, dict[str, str]]:
    """Accept a package upload: 201 created, 200 kept or overwritten, 409 duplicate."""
    check_space(space)
    mode = overwrite_mode()
    require("admin" if mode is OverwriteMode.OVERWRITE_EXISTING else "push")
    source, filename = uploaded_package()
    if not filename:
        raise PackageRefused("the uploaded file has no name; name it Id.Version.ext")
    result = services().repository.add_package(source, filename, mode)
    note_package(result.record.id, result.record.version)
    code = 201 if result.status is PushStatus.CREATED else 200
    body = package_resource(result.record, space)
    return jsonify(body), code, {PUSH_STATUS_HEADER: str(result.status)}


@route("/packages")
@cached
def list_packages(space: str | None = None) -> Response:
    """List or search packages: every version, or with latest=true the newest of each id."""
    check_space(space)
    require("read")
    skip, take = arg_int("skip", 0), arg_int("take", 30, MAX_TAKE)
    total, records = services().repository.search(arg_str("filter"), arg_bool("latest"), skip, take)
    items = [package_resource(r, space) for r in records]
    return jsonify(collection("Package", items, total, skip, take))


@route("/packages/<ref>")
@cached
def detail(ref: str, space: str | None = None) -> Response:
    """Return one package resource."""
    check_space(space)
    require("read")
    return jsonify(package_resource(find_by_ref(ref), space))


@route("/packages/<ref>", methods=["DELETE"])
def delete(ref: str, space: str | None = None) -> Response:
    """Delete one version (admin): its record goes first, then its bytes."""
    check_space(space)
    require("admin")
    record = find_by_ref(ref)
    services().repository.delete(record.id, record.version)
    return jsonify(package_resource(record, space))


@route("/packages/<ref>/raw")
def raw(ref: str, space: str | None = None) -> Response:
    """Stream the package bytes (HEAD, Range, ETag, If-None-Match)."""
    check_space(space)
    require("read")
    record = find_by_ref(ref)
    repository = services().repository
    return send_package(request, record, lambda s, e: repository.open_download(record, s, e))


@route(f"/feeds/{BUILTIN_FEED}/packages/versions")
@cached
def versions(space: str | None = None) -> Response:
    """Octopus's versions query: newest first, stable only unless includePreRelease=true."""
    check_space(space)
    require("read")
    package_id = arg_str("packageId")
    if not package_id:
        raise BadRequest("query parameter packageId is required")
    skip, take = arg_int("skip", 0), arg_int("take", 30, MAX_TAKE)
    total, records = services().repository.find_versions(
        package_id, arg_str("versionRange") or None, arg_bool("includePreRelease"), skip, take
    )
    items = [version_item(r, space) for r in records]
    return jsonify(collection("Package", items, total, skip, take))
