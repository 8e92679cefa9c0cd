"""`create_app(config)`: the feed's Flask application factory and its one JSON error handler."""

from __future__ import annotations

import logging
from typing import BinaryIO

from flask import Flask, Request, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from feed.core.config import FeedConfig
from feed.core.errors import PackageTooLarge, Unauthorized, status_for
from feed.core.keys import KeyStore
from feed.core.repository import Repository
from feed.core.uploads import HashingSpool, UploadFormParser
from feed.http import octopus
from feed.http.admin import keys as keys_api
from feed.http.admin import retention as retention_api
from feed.http.context import EXTENSION, FeedServices, presented_key
from feed.http.nuget import v2 as nuget_v2
from feed.http.nuget import v3 as nuget_v3
from packer.archive.validator import Limits
from storage import Storage, open_storage

log = logging.getLogger(__name__)
MULTIPART_SLACK = 1024 * 1024  # form boundaries and headers around the package bytes
DRAIN_LIMIT = 64 * 1024 * 1024  # read an unread body this small so the client sees our answer


class FeedRequest(Request):
    """Spool uploaded files to named temp files, so the repository can hash them in place."""

    upload_dir: str | None = None
    form_data_parser_class = UploadFormParser

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> BinaryIO:
        """Return a named temp file for one file part that hashes while werkzeug writes it."""
        limit = self.max_content_length
        return HashingSpool(self.upload_dir, None if limit is None else limit - MULTIPART_SLACK)


def create_app(config: FeedConfig, storage: Storage | None = None) -> Flask:
    """Build a feed app over the configured storage (or the one given, e.g. by a test)."""
    app = Flask("octopack-feed")
    request_class = type("BoundFeedRequest", (FeedRequest,), {"upload_dir": config.upload_dir})
    app.request_class = request_class
    app.config["MAX_CONTENT_LENGTH"] = config.max_package_bytes + MULTIPART_SLACK
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = storage if storage is not None else open_storage(config.storage)
    repository = repository_for(config, store)
    keys = KeyStore(store, config.api_keys, config.clock)
    app.extensions[EXTENSION] = FeedServices(config, repository, keys)
    octopus.init_app(app)
    nuget_v3.init_app(app)
    nuget_v2.init_app(app)
    app.register_blueprint(keys_api.bp)
    retention_api.init_app(app)
    app.add_url_rule("/health", "health", health)
    app.register_error_handler(Exception, handle_error)
    return app


def limits_for(config: FeedConfig) -> Limits:
    """Return the archive limits the configuration sets."""
    return Limits(
        max_package_bytes=config.max_package_bytes,
        max_uncompressed_bytes=config.max_uncompressed_bytes,
        max_entries=config.max_entries,
        max_ratio=config.max_ratio,
        max_nuspec_bytes=config.max_nuspec_bytes,
    )


def repository_for(config: FeedConfig, storage: Storage | None = None) -> Repository:
    """Return the repository core over the configured storage, for servers and direct CLI use."""
    store = storage if storage is not None else open_storage(config.storage)
    return Repository(store, limits_for(config), config.clock, config.upload_dir)


def health() -> Response:
    """Answer load balancers and test helpers: the process serves requests."""
    return jsonify({"status": "ok"})


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
        if status == 503:
            message = f"package storage is failing, try again: {error}"
            log.error("storage error on %s %s: %s", request.method, request.path, error)
        elif status >= 500:
            message = "internal error in the feed; see its log"
            log.exception("unhandled error on %s %s", request.method, request.path)
    if isinstance(error, Unauthorized) and presented_key() is None:
        # a challenge only when nothing was sent: a client that sent a key gets our message
        headers["WWW-Authenticate"] = 'Basic realm="octopack"'
    _drain_body(status)
    return jsonify({"ErrorMessage": message, "Errors": [message]}), status, headers


def _http_message(error: HTTPException) -> str:
    """Say what went wrong in words a person can act on."""
    if error.code == 404:
        return f"no such resource: {request.method} {request.path}"
    if error.code == 405:
        return f"{request.method} is not allowed on {request.path}"
    if error.code == 413:
        return str(PackageTooLarge(_too_large_text()))
    return error.description or error.name


def _too_large_text() -> str:
    """Name the configured maximum in a 413 message."""
    limit = (request.max_content_length or 0) - MULTIPART_SLACK
    return f"package is larger than the feed's maximum of {limit} bytes"


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
