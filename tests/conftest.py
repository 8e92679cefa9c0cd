"""Fixtures every test directory shares: one moto S3 server for the session, fresh buckets.

Directory conftests build on these (tests/storage: the contract suite's stores;
tests/feed: a disk and an S3 backend per feed test) and add only what differs there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.moto_server import create_bucket, moto_s3_endpoint


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server on loopback for the whole session, stopped at its end."""
    with moto_s3_endpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    """One client configured as S3Storage builds it, shared (clients are thread-safe)."""
    from storage.s3 import make_client

    return make_client(moto_endpoint)


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    """A fresh, empty bucket per test."""
    return create_bucket(moto_endpoint)


@pytest.fixture(scope="session")
def shared_bucket(moto_endpoint: str) -> str:
    """One bucket for the session; each test that shares it takes its own prefix in it."""
    return create_bucket(moto_endpoint)
