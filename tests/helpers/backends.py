"""A fresh storage for a feed test, on disk or on the session's moto S3 server.

tests/feed/conftest.py turns `open_backend` into the `backend` and `disk_backend`
fixtures (tests/feed/http/nuget uses them as they are), tests/feed/retention/conftest.py
into its `storage` fixture. S3 needs the fixtures `moto_endpoint` and `s3_client`
and `shared_bucket` (tests/conftest.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.moto_server import s3_environment


@dataclass
class Backend:
    """One storage for a test: its location string and an open Storage.

    `env` is what a child process (the CLI, gunicorn) needs to reach it.
    """

    name: str
    location: str
    storage: Any
    env: dict[str, str] | None = None


def open_backend(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> Backend:
    """Open a fresh disk directory or a fresh prefix of the session's S3 bucket."""
    from storage import open_storage

    if name == "disk":
        location = str(tmp_path / "store")
        return Backend("disk", location, open_storage(location))
    from storage.s3 import S3Storage

    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = request.getfixturevalue("shared_bucket")
    client = request.getfixturevalue("s3_client")
    prefix = f"feed-{uuid.uuid4().hex[:12]}"
    storage = S3Storage(bucket, prefix, endpoint_url=endpoint, client=client)
    return Backend("s3", f"s3://{bucket}/{prefix}", storage, s3_environment(endpoint))
