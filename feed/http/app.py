"""`create_app(services)`: the feed's Flask application factory over already built core objects.

The caller (the CLI, or a test) opens the storage and builds the core with
`feed.services.open_feed`; the app never opens storage itself.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from feed.http import metrics, octopus, openapi, rawpush, requestlog, web
from feed.http.admin import deployments as deployments_api
from feed.http.admin import keys as keys_api
from feed.http.admin import promotion as promotion_api
from feed.http.admin import retention as retention_api
from feed.http.context import EXTENSION
from feed.http.edges import guard_body
from feed.http.errors import handle_error
from feed.http.nuget import v2 as nuget_v2
from feed.http.nuget import v3 as nuget_v3
from feed.http.uploads import MULTIPART_SLACK, FeedRequest
from feed.services import FeedServices


def create_app(services: FeedServices) -> Flask:
    """Build a feed app over a feed's core objects (repository, keys, retention store)."""
    config = services.config
    app = Flask("octopack-feed")
    request_class = type("BoundFeedRequest", (FeedRequest,), {"upload_dir": config.upload_dir})
    app.request_class = request_class
    app.config["MAX_CONTENT_LENGTH"] = config.max_package_bytes + MULTIPART_SLACK
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = services
    requestlog.init_app(app)
    metrics.init_app(app)
    openapi.init_app(app)
    octopus.init_app(app)
    nuget_v3.init_app(app)
    nuget_v2.init_app(app)
    app.register_blueprint(rawpush.bp)
    app.register_blueprint(keys_api.bp)
    app.register_blueprint(deployments_api.bp)
    app.register_blueprint(promotion_api.bp)
    retention_api.init_app(app)
    web.init_app(app)
    app.add_url_rule("/health", "health", health)
    app.register_error_handler(Exception, handle_error)
    app.wsgi_app = guard_body(app.wsgi_app)  # type: ignore[method-assign]
    return app


def health() -> Response:
    """Answer load balancers and test helpers: the process serves requests."""
    return jsonify({"status": "ok"})
