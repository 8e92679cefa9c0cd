"""octopack's own push: the package as the raw request body, its SHA-256 declared up front.

`PUT /api/octopack/packages/{filename}` with `X-Octopack-Sha256`. No multipart parsing:
the body goes to a hashing spool in large reads, the digests run on their own threads as
it is written, and a body whose SHA-256 differs from the declared one is refused (400)
before anything is stored. Octopus's clients keep `POST /api/packages/raw`.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from feed.core.errors import BadRequest, PackageRefused
from feed.core.uploads import SpooledUpload
from feed.http.context import require, services
from feed.http.octopus import overwrite_mode, package_resource
from feed.http.requestlog import note_package
from feed.http.uploads import HashingSpool
from packer.model.conventions import OverwriteMode, PushStatus

SHA256_HEADER = "X-Octopack-Sha256"
READ_SIZE = 4 * 1024 * 1024  # large reads: gunicorn copies its read-ahead on every read
_SHA256 = re.compile(r"[0-9a-f]{64}")

bp = Blueprint("octopack_push", __name__)


@bp.route("/api/octopack/packages/<filename>", methods=["PUT"])
def push_raw(filename: str) -> tuple[Response, int, dict[str, str]]:
    """Store the raw body as `filename`: 201 created, 200 kept or overwritten, 409 duplicate."""
    mode = overwrite_mode()
    require("admin" if mode is OverwriteMode.OVERWRITE_EXISTING else "push")
    declared = declared_sha256()
    repository = services().repository
    with HashingSpool(repository.upload_dir, repository.limits.max_package_bytes) as spool:
        upload = receive(spool, declared)
        if not filename:
            raise PackageRefused("the uploaded file has no name; name it Id.Version.ext")
        result = repository.add_package(upload, filename, mode)
    note_package(result.record.id, result.record.version)
    code = 201 if result.status is PushStatus.CREATED else 200
    return (
        jsonify(package_resource(result.record)),
        code,
        {"X-Octopack-Push-Status": str(result.status)},
    )


def declared_sha256() -> str:
    """The SHA-256 the client declares for the body (64 hex digits), or 400."""
    value = request.headers.get(SHA256_HEADER, "").strip().lower()
    if not _SHA256.fullmatch(value):
        raise BadRequest(f"send the body's SHA-256 as 64 hex digits in {SHA256_HEADER}")
    return value


def receive(spool: HashingSpool, declared: str) -> SpooledUpload:
    """Write the body to the spool (hashing as it goes); refuse it unless its SHA-256 matches."""
    stream = request.stream
    while chunk := stream.read(READ_SIZE):
        spool.write(chunk)
    upload = spool.upload()
    if upload.sha256 != declared:
        raise BadRequest(
            f"the body's SHA-256 is {upload.sha256}, but {SHA256_HEADER} declares {declared}; "
            "nothing was stored"
        )
    return upload
