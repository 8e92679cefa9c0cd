"""Admin endpoints for API keys, used by `octopack keys --server URL`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from feed.core.errors import BadRequest
from feed.http.context import require, services

bp = Blueprint("keys_api", __name__, url_prefix="/api/octopack/keys")


@bp.get("")
def list_keys() -> Response:
    """List stored keys: name, scope and creation time, never hashes or secrets."""
    require("admin")
    return jsonify({"keys": [k.public() for k in services().keys.list()]})


@bp.post("")
def create_key() -> tuple[Response, int]:
    """Create a key; the answer carries the secret, which is never shown again."""
    require("admin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("scope"), str):
        raise BadRequest('send a JSON body like {"scope": "push", "name": "ci"}')
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("the key name must be a string")
    key, plain = services().keys.create(body["scope"], name or None)
    return jsonify({**key.public(), "key": plain}), 201


@bp.delete("/<name>")
def revoke_key(name: str) -> Response:
    """Revoke a stored key by name; it stops working at once in every feed process."""
    require("admin")
    return jsonify(services().keys.revoke(name).public())
