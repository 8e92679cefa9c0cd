"""Lifecycles and channels under `/api/octopack`: read them with scope read, change them
with scope admin. Shapes: docs/deployments.md.

`GET|PUT|DELETE /lifecycles` (`?package=` on GET resolves one package, on DELETE names
the override) and `GET|PUT|DELETE /channels` (`?package=` on GET resolves one package,
`?name=` filters; DELETE takes `?name=` and optionally `&package=`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from feed.core.channels import check_channel
from feed.core.errors import BadRequest
from feed.core.lifecycles import table_to_json
from feed.http.context import arg_str, require, services

bp = Blueprint("promotion_api", __name__, url_prefix="/api/octopack")


def _body() -> dict[str, Any]:
    """Return the request's JSON object."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object")
    return body


@bp.get("/lifecycles")
def show_lifecycles() -> Response:
    """Return the stored lifecycles, or with `?package=ID` the one that applies to it."""
    require("read")
    package = arg_str("package")
    if package:
        found = services().lifecycles.for_package(package)
        phases = list(found.phases) if found is not None else None
        return jsonify({"package": package, "phases": phases})
    return jsonify(table_to_json(services().lifecycles.table()))


@bp.put("/lifecycles")
def set_lifecycle() -> Response:
    """Set the default lifecycle, or with `package` one override: `{"phases", "package"}`."""
    require("admin")
    body = _body()
    phases, package = body.get("phases"), body.get("package")
    if not isinstance(phases, list | str):
        raise BadRequest('phases: send {"phases": ["Test", "Production"], "package": null}')
    if package is not None and not isinstance(package, str):
        raise BadRequest(f"package: must be an id or glob, got {package!r}")
    return jsonify(table_to_json(services().lifecycles.set(phases, package)))


@bp.delete("/lifecycles")
def clear_lifecycle() -> Response:
    """Clear the default lifecycle, or with `?package=` one override."""
    require("admin")
    return jsonify(table_to_json(services().lifecycles.clear(arg_str("package") or None)))


@bp.get("/channels")
def list_channels() -> Response:
    """List channels; `?package=ID` gives per name the entry that applies to that package."""
    require("read")
    store, package, name = services().channels, arg_str("package"), arg_str("name")
    if package:
        found = store.for_package(package, name or None)
    else:
        found = [c for c in store.all() if not name or c.name.lower() == name.lower()]
    return jsonify({"channels": [c.to_json() for c in found]})


@bp.put("/channels")
def set_channel() -> Response:
    """Create or replace a channel: `{"name", "range", "tag", "package"}`."""
    require("admin")
    return jsonify(services().channels.set(check_channel(_body())).to_json())


@bp.delete("/channels")
def delete_channel() -> Response:
    """Delete `?name=` (every entry of it, or with `&package=` the one for that pattern)."""
    require("admin")
    name = arg_str("name")
    if not name:
        raise BadRequest("name: say which channel, e.g. ?name=beta")
    deleted = services().channels.delete(name, arg_str("package") or None)
    return jsonify({"deleted": [c.to_json() for c in deleted]})
