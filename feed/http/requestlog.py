"""The feed's access log and audit log: one line per request, one more per change.

Lines go to the `feed.access` and `feed.audit` loggers with their facts in `fields`;
`octopack serve --log-format json` prints each as one JSON object (feed.http.server), the
text format as a short line. A line names the API key by its name, never the key itself.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, request

UNMATCHED = "<unmatched>"  # requests no route matched: never the raw path (unbounded labels)
ACCESS = logging.getLogger("feed.access")
AUDIT = logging.getLogger("feed.audit")
CHANGES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
QUIET_ROUTES = frozenset({"/health", "/metrics"})  # probes and scrapes: no audit, access only


def init_app(app: Flask) -> None:
    """Start a clock for every request and log it after it is answered."""
    app.before_request(_start_clock)
    app.after_request(_log_request)


def _start_clock() -> None:
    """Remember when the request began, for the access log and the latency histogram."""
    g.octopack_started = time.perf_counter()


def elapsed() -> float:
    """Return seconds since the request began (0 when the clock never started)."""
    started = g.get("octopack_started")
    return time.perf_counter() - started if started is not None else 0.0


def route_template() -> str:
    """Return the matched route's template (`/api/packages/<ref>`), never the raw path."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def note_package(package_id: str, version: str) -> None:
    """Say which package version this request is about, for its log lines."""
    g.octopack_package = (package_id, version)


def request_fields(response: Response) -> dict[str, Any]:
    """Return the facts one log line carries about the request just answered."""
    package, version = g.get("octopack_package") or _package_from_request()
    return {
        "method": request.method,
        "route": route_template(),
        "path": request.path,
        "status": response.status_code,
        "bytes": response.content_length or 0,
        "duration": round(elapsed(), 6),
        "key": g.get("octopack_key_name"),
        "package": package,
        "version": version,
    }


def _package_from_request() -> tuple[str | None, str | None]:
    """Read the package id and version from the route or query, when it names them."""
    args = request.view_args or {}
    package = args.get("package_id") or request.args.get("packageId")
    return package, args.get("version")


def _log_request(response: Response) -> Response:
    """Write the access line, and an audit line for an accepted change.

    The facts are gathered only when a line will be written: reads are the hot path.
    """
    access = ACCESS.isEnabledFor(logging.INFO)
    changed = request.method in CHANGES and 200 <= response.status_code < 300
    if not access and not (changed and AUDIT.isEnabledFor(logging.INFO)):
        return response
    fields = request_fields(response)
    if access:
        ACCESS.info(
            "%s %s %s", fields["method"], fields["path"], fields["status"], extra={"fields": fields}
        )
    if changed and fields["route"] not in QUIET_ROUTES:
        AUDIT.info(
            "%s %s by %s", fields["method"], fields["path"], fields["key"] or "anonymous",
            extra={"fields": fields},
        )  # fmt: skip
    return response
