"""Deployment reports and what runs where, under `/api/octopack`.

`POST /deployments` (scope deploy), `GET /deployments`, `GET /deployments/{id}` and
`GET /environments` (scope read). Shapes: docs/deployments.md.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from feed.http.context import arg_int, arg_str, require, services
from feed.http.metrics import count_deployment_reported
from feed.http.requestlog import note_package

bp = Blueprint("deployments_api", __name__, url_prefix="/api/octopack")
DEFAULT_TAKE = 30
MAX_TAKE = 1000


@bp.post("/deployments")
def report() -> tuple[Response, int]:
    """Store a reported deployment: 201 when new, 200 when this id is stored already."""
    require("deploy")
    record, created = services().deployments.report(request.get_json(silent=True))
    note_package(record.package_id, record.version)
    if created:  # a retried report is stored once and counted once
        count_deployment_reported(record.status)
    return jsonify(record.to_json()), 201 if created else 200


@bp.get("/deployments")
def list_deployments() -> Response:
    """List records newest first: `?packageId=&environment=&status=&skip=&take=`."""
    require("read")
    page = services().deployments.list(
        package_id=arg_str("packageId") or None,
        environment=arg_str("environment") or None,
        status=arg_str("status") or None,
        skip=arg_int("skip", 0),
        take=arg_int("take", DEFAULT_TAKE, MAX_TAKE),
    )
    document: dict[str, object] = {"deployments": [r.to_json() for r in page.records]}
    if page.total is not None:
        document["total"] = page.total
    return jsonify(document)


@bp.get("/deployments/<record_id>")
def show_deployment(record_id: str) -> Response:
    """Return one record."""
    require("read")
    return jsonify(services().deployments.get(record_id).to_json())


@bp.get("/environments")
def environments() -> Response:
    """Per environment, each package's current version, when, and on how many targets."""
    require("read")
    return jsonify({"environments": services().deployments.environments()})
