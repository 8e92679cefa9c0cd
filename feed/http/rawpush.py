"""octopack's own push: the package as the raw request body, with its SHA-256.

`PUT /api/octopack/packages/{filename}` with a Content-Length and `X-Octopack-Sha256`:
either the 64 hex digits up front, or `trailer`, where the body is the package followed
by its SHA-256 as 64 hex digits (so a client hashes while it sends, reading the file once).
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
from packer.model.conventions import (
    PUSH_STATUS_HEADER,
    RAW_PUSH_SHA256_HEADER,
    RAW_PUSH_TRAILER,
    RAW_PUSH_TRAILER_BYTES,
    OverwriteMode,
    PushStatus,
)

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
    if declared is None and length < RAW_PUSH_TRAILER_BYTES:
        raise BadRequest(
            f"the body is shorter than its {RAW_PUSH_TRAILER_BYTES}-byte SHA-256 trailer"
        )
    if length - (RAW_PUSH_TRAILER_BYTES if declared is None else 0) > limit:
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
        {PUSH_STATUS_HEADER: str(result.status)},
    )


def declared_sha256() -> str | None:
    """The SHA-256 declared up front (64 hex digits), None for `trailer`, or 400."""
    value = request.headers.get(RAW_PUSH_SHA256_HEADER, "").strip().lower()
    if value == RAW_PUSH_TRAILER:
        return None
    if not _SHA256.fullmatch(value):
        raise BadRequest(
            f"send the package's SHA-256 as 64 hex digits in {RAW_PUSH_SHA256_HEADER}, "
            f"or {RAW_PUSH_TRAILER!r} there and the 64 hex digits after the package in the body"
        )
    return value


def receive(spool: BodySpool, length: int, declared: str | None) -> SpooledUpload:
    """Write the package to the spool (hashing as it goes); refuse it unless its SHA-256 matches.

    With a trailer (`declared` None) the last RAW_PUSH_TRAILER_BYTES of the body are the SHA-256.
    """
    package_length = length if declared is not None else length - RAW_PUSH_TRAILER_BYTES
    trailer = bytearray()
    received = 0
    for piece in body_pieces(request.environ, request.stream, length):
        view = memoryview(piece)
        keep = max(0, min(len(view), package_length - received))
        if keep:
            spool.write(view[:keep])
        trailer += view[keep:]
        received += len(view)
    upload = spool.upload()
    where = RAW_PUSH_SHA256_HEADER if declared is not None else "the trailer"
    expected = declared if declared is not None else trailer.decode("latin-1").lower()
    if upload.sha256 != expected:
        raise BadRequest(
            f"the package's SHA-256 is {upload.sha256}, but {where} says {expected!r}; "
            "nothing was stored"
        )
    return upload
