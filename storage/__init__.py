"""Where bytes live: disk or S3 behind one small interface (`storage.protocol`).

The contract every backend keeps is documented in `storage/protocol.py`; this module
re-exports it for callers (`from storage import Storage, ...`) and opens a backend.
"""

from __future__ import annotations

import os
from typing import Any

from storage.errors import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    StorageDenied,
    StorageError,
    StorageFull,
)
from storage.protocol import (
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    RESERVED_PREFIX,
    ObjectInfo,
    Storage,
    check_key,
    check_prefix,
)

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "RESERVED_PREFIX",
    "InvalidKey",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "Storage",
    "StorageDenied",
    "StorageError",
    "StorageFull",
    "check_key",
    "check_prefix",
    "open_storage",
]


def open_storage(location: str, *, endpoint_url: str | None = None, **options: Any) -> Storage:
    """Open `s3://bucket/prefix` as S3Storage, anything else as a disk directory.

    `endpoint_url` (else OCTOPACK_S3_ENDPOINT / AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
    only matters for S3; other options go to the backend's constructor.
    """
    if not isinstance(location, str) or not location.strip():
        raise InvalidKey(f"storage location must be a path or s3://bucket/prefix, got {location!r}")
    if location.startswith("s3://"):
        from storage.s3 import S3Storage

        return S3Storage.from_url(location, endpoint_url=endpoint_url, **options)
    from storage.disk import DiskStorage

    path = location[len("file://") :] if location.startswith("file://") else location
    return DiskStorage(os.path.expanduser(path), **options)
