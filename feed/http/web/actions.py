"""What the page changes: sign in and out, and the admin actions on one version.

Every form is a POST carrying the session's CSRF token (400 without it). The actions go
through the repository and the retention store, as the admin API's do, then send the
browser back to the package page (303, so a reload does not post again).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Response, flash, redirect, render_template, request, url_for

from feed.core.errors import PackageNotFound
from feed.core.keys import ApiKey
from feed.http.context import services
from feed.http.web.blueprint import bp
from feed.http.web.session import check_csrf, require_admin, sign_in, sign_out


@bp.get("/sign-in")
def sign_in_form() -> str:
    """Show the sign-in form."""
    return render_template("sign_in.html", next=_safe_next(request.args.get("next")))


@bp.post("/sign-in")
def sign_in_post() -> Response | tuple[str, int]:
    """Sign in with an API key; an unknown key gets the form again with the reason (401)."""
    check_csrf()
    target = _safe_next(request.form.get("next"))
    key = services().keys.lookup((request.form.get("api_key") or "").strip())
    if key is None:
        problem = "that key is not known to this feed (mistyped or revoked)"
        return render_template("sign_in.html", next=target, problem=problem), 401
    sign_in(key)
    flash(f"Signed in as {key.name} (scope {key.scope}).")
    return redirect(target, code=303)


@bp.post("/sign-out")
def sign_out_post() -> Response:
    """End the session."""
    check_csrf()
    sign_out()
    return redirect(url_for("web.sign_in_form"), code=303)


def _delete(key: ApiKey, package_id: str, version: str) -> str:
    record = services().repository.delete(package_id, version)
    return f"Deleted {record.id} {record.version}."


def _unlist(key: ApiKey, package_id: str, version: str) -> str:
    record = services().repository.set_listed(package_id, version, False)
    return f"Unlisted {record.id} {record.version}."


def _relist(key: ApiKey, package_id: str, version: str) -> str:
    record = services().repository.set_listed(package_id, version, True)
    return f"Listed {record.id} {record.version} again."


def _pin(key: ApiKey, package_id: str, version: str) -> str:
    feed = services()
    pin = feed.retention.pin(feed.repository, package_id, version, key.name)
    return f"Pinned {pin.id} {pin.version}: retention keeps it."


def _unpin(key: ApiKey, package_id: str, version: str) -> str:
    pin = services().retention.unpin(package_id, version)
    return f"Unpinned {pin.id} {pin.version}."


ACTIONS: dict[str, Callable[[ApiKey, str, str], str]] = {
    "delete": _delete,
    "unlist": _unlist,
    "relist": _relist,
    "pin": _pin,
    "unpin": _unpin,
}


@bp.post("/packages/<package_id>/<version>/<action>")
def act(package_id: str, version: str, action: str) -> Response:
    """Run one admin action on one version, then go back to the package page."""
    check_csrf()
    key = require_admin()
    if action not in ACTIONS:
        raise PackageNotFound(f"no such action {action!r}; one of {', '.join(ACTIONS)}")
    flash(ACTIONS[action](key, package_id, version))
    if action == "delete":
        if not services().repository.list_versions(package_id):
            return redirect(url_for("web.home"), code=303)
        return redirect(url_for("web.package", package_id=package_id), code=303)
    return redirect(url_for("web.package", package_id=package_id, version=version), code=303)


def _safe_next(value: str | None) -> str:
    """Return a local path to go back to after signing in; anything else goes home."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        parts = urlsplit(value)
        if not parts.scheme and not parts.netloc:
            return value
    return url_for("web.home")
