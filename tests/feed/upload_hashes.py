"""What the upload tests (core spool and HTTP) expect of a hashed upload."""

from __future__ import annotations

import hashlib

MAX_MESSAGE = "package is larger than the feed's maximum of {} bytes"


def expected(data: bytes) -> tuple[int, str, str, str]:
    """Return size, SHA-1, SHA-256 and SHA-512 as hashlib computes them in one go."""
    return (
        len(data),
        hashlib.sha1(data).hexdigest(),
        hashlib.sha256(data).hexdigest(),
        hashlib.sha512(data).hexdigest(),
    )


def described(upload) -> tuple[int, str, str, str]:
    return upload.size, upload.sha1, upload.sha256, upload.sha512
