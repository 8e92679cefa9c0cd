"""Admin endpoints for feed retention, used by `octopack retention|pin|unpin --server URL`.

Under `/api/octopack/retention`: `POST /run`, `GET|PUT|DELETE /policy`, `GET /pins`,
`PUT|DELETE /pins/{id}/{version}`, `GET /audit`. Every call needs an admin key.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from feed.core.errors import BadRequest
from feed.http.context import EXTENSION, arg_int, arg_str, require, services
from feed.http.metrics import count_retention
from feed.retention.job import RetentionReport, run_retention
from feed.retention.policy import RULE_NAMES, Rules
from feed.retention.scheduler import RetentionScheduler
from feed.retention.store import RetentionStore

log = logging.getLogger(__name__)
bp = Blueprint("retention_api", __name__, url_prefix="/api/octopack/retention")
SCHEDULER = "octopack-retention-scheduler"


def init_app(app: Flask) -> None:
    """Register the endpoints; start the scheduled job when `retention_interval` is set."""
    app.register_blueprint(bp)
    feed = app.extensions[EXTENSION]
    minutes = getattr(feed.config, "retention_interval", None)
    if minutes:
        interval = timedelta(minutes=float(minutes))
        scheduler = RetentionScheduler(
            feed.repository,
            feed.retention,
            interval,
            housekeeping=feed.housekeeping,
            on_report=_count_scheduled,
        )
        app.extensions[SCHEDULER] = scheduler
        scheduler.start()


def _count_scheduled(report: RetentionReport) -> None:
    """Count a scheduled run in the feed's metrics."""
    count_retention(len(report.deleted), report.dry_run, scheduled=True)


def _store() -> RetentionStore:
    """Return the feed's retention state (policy, pins, audit log)."""
    return services().retention


def _actor() -> str:
    """Name the admin key a change is made with, for pins and the audit log."""
    key = require("admin")
    return f"key {key.name}" if key is not None else "anonymous"


def _body() -> dict[str, Any]:
    """Return the JSON object a request sends (an empty one when there is no body)."""
    if not request.content_length:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object, e.g. {"keep_last": 5, "dry_run": true}')
    return body


@bp.post("/run")
def run() -> Response:
    """Run retention: rules in the body replace the stored policy; `dry_run` only reports."""
    actor = _actor()
    body = _body()
    unknown = sorted(set(body) - set(RULE_NAMES) - {"package", "dry_run"})
    if unknown:
        raise BadRequest(f"unknown retention setting {unknown[0]!r}")
    given = {k: body[k] for k in RULE_NAMES if body.get(k) is not None}
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest(f"dry_run must be true or false, got {dry_run!r}")
    package = body.get("package")
    if package is not None and not isinstance(package, str):
        raise BadRequest(f"package must be an id or glob, got {package!r}")
    report = run_retention(
        services().repository,
        _store(),
        actor=actor,
        rules=Rules.from_dict(given) if given else None,
        package=package,
        dry_run=dry_run,
    )
    count_retention(len(report.deleted), report.dry_run)
    return jsonify(report.to_json())


@bp.get("/policy")
def show_policy() -> Response:
    """Return the stored policy and the pins."""
    require("admin")
    store = _store()
    return jsonify({**store.policy().to_dict(), "pins": [p.to_json() for p in store.pins()]})


@bp.put("/policy")
def set_policy() -> Response:
    """Set the default rules or, with `package`, one override: `{"package", "rules"}`."""
    require("admin")
    body = _body()
    package, rules = body.get("package"), body.get("rules")
    if package is not None and not isinstance(package, str):
        raise BadRequest(f"package must be an id or glob, got {package!r}")
    if not isinstance(rules, dict):
        raise BadRequest('send {"package": "Acme.*" or null, "rules": {"keep_last": 5}}')
    return jsonify(_store().set_policy(package, Rules.from_dict(rules)).to_dict())


@bp.delete("/policy")
def clear_policy() -> Response:
    """Clear the default rules, or with `?package=` one override."""
    require("admin")
    return jsonify(_store().clear_policy(arg_str("package")).to_dict())


@bp.get("/pins")
def list_pins() -> Response:
    """List every pinned version."""
    require("admin")
    return jsonify({"pins": [p.to_json() for p in _store().pins()]})


@bp.put("/pins/<package_id>/<version>")
def pin(package_id: str, version: str) -> Response:
    """Pin a version so retention never deletes it."""
    actor = _actor()
    pinned = _store().pin(services().repository, package_id, version, actor)
    return jsonify(pinned.to_json())


@bp.delete("/pins/<package_id>/<version>")
def unpin(package_id: str, version: str) -> Response:
    """Remove a pin."""
    require("admin")
    return jsonify(_store().unpin(package_id, version).to_json())


@bp.get("/audit")
def audit() -> Response:
    """Return the newest audit entries (`?take=`, default 100, at most 1000)."""
    require("admin")
    entries = _store().audit_entries(arg_int("take", 100, 1000))
    return jsonify({"entries": entries})
