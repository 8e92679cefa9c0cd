"""octopack's own push: the package as the raw request body, its SHA-256 declared up front.

`PUT /api/octopack/packages/{filename}` with `X-Octopack-Sha256` and a Content-Length.
No multipart parsing: the body is read in pieces of several MiB (straight from the
socket under gunicorn, `feed.http.rawbody`), each written to the spool at once and hashed
on one thread per digest (`feed.core.bodyspool`); a body whose SHA-256 differs from the
declared one is refused (400) before anything is stored. The store then takes the spool
by renaming it when it can. SHA-1 and SHA-512 follow right after the commit
(`feed.core.hashfill`), so the answer here leaves out `Hash` and `Sha512`. Octopus's clients keep `POST /api/packages/raw`.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from feed.core.bodyspool import BodySpool
from feed.core.errors import BadRequest, PackageRefused
from feed.core.hashfill import hashes_pending
from feed.core.uploads import SpooledUpload, too_large
from feed.http.context import require, services
from feed.http.octopus import overwrite_mode, package_resource
from feed.http.rawbody import body_pieces
from feed.http.requestlog import note_package
from packer.model.conventions import OverwriteMode, PushStatus

SHA256_HEADER = "X-Octopack-Sha256"
_SHA256 = re.compile(r"[0-9a-f]{64}")

bp = Blueprint("octopack_push", __name__)


@bp.route("/api/octopack/packages/<filename>", methods=["PUT"])
def push_raw(filename: str) -> tuple[Response, int, dict[str, str]]:
    """Store the raw body as `filename`: 201 created, 200 kept or overwritten, 409 duplicate."""
    mode = overwrite_mode()
    require("admin" if mode is OverwriteMode.OVERWRITE_EXISTING else "push")
    declared = declared_sha256()
    repository = services().repository
    limit = repository.limits.max_package_bytes
    length = request.content_length
    if length is None:
        raise BadRequest("send the package with a Content-Length (not chunked)")
    if length > limit:
        raise too_large(limit)
    with BodySpool(repository.upload_dir, limit) as spool:
        upload = receive(spool, length, declared)
        if not filename:
            raise PackageRefused("the uploaded file has no name; name it Id.Version.ext")
        result = repository.add_package(upload, filename, mode)
    note_package(result.record.id, result.record.version)
    code = 201 if result.status is PushStatus.CREATED else 200
    resource = package_resource(result.record)
    if hashes_pending(result.record):  # computed right after: never shown empty
        del resource["Hash"], resource["Sha512"]
    return (
        jsonify(resource),
        code,
        {"X-Octopack-Push-Status": str(result.status)},
    )


def declared_sha256() -> str:
    """The SHA-256 the client declares for the body (64 hex digits), or 400."""
    value = request.headers.get(SHA256_HEADER, "").strip().lower()
    if not _SHA256.fullmatch(value):
        raise BadRequest(f"send the body's SHA-256 as 64 hex digits in {SHA256_HEADER}")
    return value


def receive(spool: BodySpool, length: int, declared: str) -> SpooledUpload:
    """Write the body to the spool (hashing as it goes); refuse it unless its SHA-256 matches."""
    for piece in body_pieces(request.environ, request.stream, length):
        spool.write(piece)
    upload = spool.upload()
    if upload.sha256 != declared:
        raise BadRequest(
            f"the body's SHA-256 is {upload.sha256}, but {SHA256_HEADER} declares {declared}; "
            "nothing was stored"
        )
    return upload
