"""The pages people read: home (search), package, environments dashboard, retention.

Each view gathers facts through the core objects (`services()`), never storage, and
renders one template. A private feed shows only the sign-in page until a key signs in.
"""

from __future__ import annotations

import logging

from flask import Response, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from feed.core.errors import PackageNotFound
from feed.core.records import PackageRecord
from feed.http.context import arg_int, services, site_root
from feed.http.errors import status_for
from feed.http.nuget.v2 import site_root_redirect
from feed.http.web import facts
from feed.http.web.blueprint import bp
from feed.http.web.session import may_read, prefers_html, require_admin
from feed.retention.job import run_retention
from packer.model.identity import id_key
from packer.model.versions import try_parse_version

log = logging.getLogger(__name__)
PAGE_SIZE = 50
OPEN_ENDPOINTS = ("web.sign_in_form", "web.sign_in_post", "web.sign_out_post", "web.static")


@bp.before_request
def gate() -> Response | None:
    """Send a visitor of a private feed to the sign-in page (its CSS stays reachable)."""
    if request.endpoint in OPEN_ENDPOINTS or may_read():
        return None
    return redirect(url_for("web.sign_in_form", next=request.full_path.rstrip("?")))


def front_door() -> Response:
    """Answer `/`: browsers get the home page, NuGet and every other client today's answer."""
    if "nuget" in (request.user_agent.string or "").lower() or not prefers_html(request):
        response = site_root_redirect()
    else:
        try:
            response = gate() or home()
        except Exception as error:  # noqa: BLE001 - the page's own error page, not JSON
            response = page_error(error)
    response = make_response(response)
    response.vary.update(("Accept", "User-Agent"))
    return response


@bp.get("/")
def home() -> str:
    """List packages with their latest version, or those whose id contains `q`."""
    query = (request.args.get("q") or "").strip()
    skip = arg_int("skip", 0)
    total, records = services().repository.search(query or None, True, skip, PAGE_SIZE)
    return render_template(
        "home.html",
        query=query,
        records=records,
        total=total,
        skip=skip,
        page_size=PAGE_SIZE,
        badges=facts.badges(),
        id_key=id_key,
    )


@bp.get("/packages/<package_id>")
@bp.get("/packages/<package_id>/<version>")
def package(package_id: str, version: str | None = None) -> str:
    """Show every version of a package, newest first, and one version in full."""
    feed = services()
    versions = feed.repository.list_versions(package_id)
    if not versions:
        raise PackageNotFound(f"package {package_id} is not in the feed")
    chosen = _choose(versions, version)
    pins = feed.retention.pinned_versions().get(id_key(chosen.id), set())
    return render_template(
        "package.html",
        package_id=versions[0].id,
        versions=versions,
        chosen=chosen,
        contents=feed.repository.read_contents(chosen),
        running=facts.where_versions_run(chosen.id),
        version_key=facts.version_key,
        pinned={v.lower() for v in pins},
        commands=facts.commands(chosen, site_root()),
    )


def _choose(versions: list[PackageRecord], version: str | None) -> PackageRecord:
    """Return the version asked for (matched by value), else the newest listed one."""
    if version is None:
        return next((r for r in versions if r.listed), versions[0])
    wanted = try_parse_version(version)
    for record in versions:
        if wanted is not None and record.normalized_version.lower() == wanted.normalized.lower():
            return record
    raise PackageNotFound(f"package {versions[0].id} {version} is not in the feed")


@bp.get("/environments")
def environments() -> str:
    """Show packages x environments: what runs where, since when, on how many targets."""
    return render_template("environments.html", board=facts.dashboard())


@bp.get("/retention")
def retention() -> str:
    """Show the policy and what a run would delete now (a dry run), each with its rule."""
    key = require_admin()
    feed = services()
    report = run_retention(
        feed.repository, feed.retention, actor=f"web page ({key.name})", dry_run=True
    )
    return render_template(
        "retention.html",
        policy=feed.retention.policy(),
        pins=feed.retention.pins(),
        deleted=report.deleted,
        kept=[d for d in report.decisions if not d.deleted],
    )


@bp.errorhandler(Exception)
def page_error(error: Exception) -> tuple[str, int]:
    """Render an error as a page, with the status the one table gives its kind."""
    if isinstance(error, HTTPException):
        status, message = error.code or 500, error.description or error.name
    else:
        status, message = status_for(error), str(error)
        if status >= 500:
            log.exception("unhandled error on %s %s", request.method, request.path)
            message = "internal error in the feed; see its log"
    return render_template("error.html", status=status, message=message), status
