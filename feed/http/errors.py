"""The one mapping from error kinds to HTTP statuses, and the app's JSON error handler."""

from __future__ import annotations

import logging

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from feed.core.errors import (
    BadRequest,
    FeedStorageDenied,
    FeedStorageFull,
    Forbidden,
    InvalidStorageKey,
    PackageConflict,
    PackageNotFound,
    PackageRefused,
    PackageTooLarge,
    StorageFailure,
    Unauthorized,
)
from feed.core.uploads import too_large
from feed.http.context import presented_key
from feed.http.uploads import MULTIPART_SLACK
from packer.model.errors import PackerError

log = logging.getLogger(__name__)
DRAIN_LIMIT = 64 * 1024 * 1024  # read an unread body this small so the client sees our answer

# First match wins: an invalid storage key is a StorageFailure too, so it comes first.
STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (BadRequest, 400),
    (PackageRefused, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (PackageNotFound, 404),
    (PackageConflict, 409),
    (PackageTooLarge, 413),
    (PackerError, 400),
    (InvalidStorageKey, 400),
    (FeedStorageFull, 507),  # no retry helps until an operator frees room
    (FeedStorageDenied, 503),
    (StorageFailure, 503),  # the store is unreachable or failing: clients retry 5xx
)
# What a client reads for each storage failure; the details (keys, buckets, paths) are
# internals that go to the feed's log only.
STORAGE_MESSAGES: tuple[tuple[type[Exception], str], ...] = (
    (
        FeedStorageFull,
        "feed storage is full; the feed's operator must free space or raise the quota",
    ),
    (
        FeedStorageDenied,
        "feed storage refuses access; the feed's operator must check its permissions",
    ),
    (StorageFailure, "package storage is failing, try again"),
)


def status_for(error: Exception) -> int:
    """Return the HTTP status for any error the feed may raise (500 when it is a fault)."""
    for kind, status in STATUSES:
        if isinstance(error, kind):
            return status
    return 500


def handle_error(error: Exception) -> tuple[Response, int, dict[str, str]]:
    """Render every error, ours or werkzeug's, as `{"ErrorMessage", "Errors"}`."""
    headers: dict[str, str] = {}
    if isinstance(error, HTTPException):
        status = error.code or 500
        message = _http_message(error)
        if error.code == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    else:
        status = status_for(error)
        message = str(error)
        storage_message = _storage_message(error)
        if storage_message is not None:
            message = storage_message
            level = logging.ERROR if status >= 500 else logging.INFO
            log.log(level, "storage error on %s %s: %s", request.method, request.path, error)
        elif status >= 500:
            message = "internal error in the feed; see its log"
            log.exception("unhandled error on %s %s", request.method, request.path)
    if isinstance(error, Unauthorized) and presented_key() is None:
        # a challenge only when nothing was sent: a client that sent a key gets our message
        headers["WWW-Authenticate"] = 'Basic realm="octopack"'
    _drain_body(status)
    return jsonify({"ErrorMessage": message, "Errors": [message]}), status, headers


def _storage_message(error: Exception) -> str | None:
    """The words a client gets for a storage failure (never its internals), else None."""
    if isinstance(error, InvalidStorageKey):
        return "the request names a package, version or file the feed cannot look up"
    for kind, message in STORAGE_MESSAGES:
        if isinstance(error, kind):
            return message
    return None


def _http_message(error: HTTPException) -> str:
    """Say what went wrong in words a person can act on."""
    if error.code == 404:
        return f"no such resource: {request.method} {request.path}"
    if error.code == 405:
        return f"{request.method} is not allowed on {request.path}"
    if error.code == 413:
        return str(too_large((request.max_content_length or 0) - MULTIPART_SLACK))
    return error.description or error.name


def _drain_body(status: int) -> None:
    """Read a small unread request body, so the client gets our answer instead of a reset."""
    length = request.content_length
    if status == 413 or length is None or length > DRAIN_LIMIT:
        return
    try:
        stream = request.stream
        while stream.read(1024 * 1024):
            pass
    except Exception:  # noqa: BLE001 - draining is best effort
        pass
