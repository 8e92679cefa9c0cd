"""Fixtures for the storage contract suite: every test runs on disk and on S3 over HTTP.

The moto server, the shared client and the fresh `bucket` come from tests/conftest.py.
"""

from __future__ import annotations

import pytest

from storage import Storage
from storage.disk import DiskStorage
from storage.s3 import MIN_PART_SIZE, S3Storage, make_client
from tests.storage.s3_fault_proxy import s3_fault_proxy


@pytest.fixture(scope="session")
def serialised_s3_client(moto_endpoint: str):  # noqa: ANN201
    """A client whose conditional writes reach moto one at a time, as S3 decides them.

    moto checks conditions without a lock; see tests/storage/s3_fault_proxy.py.
    """
    with s3_fault_proxy(moto_endpoint, serialise_conditional=True) as proxy:
        yield make_client(proxy.url)


@pytest.fixture(params=["disk", "s3"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def storage(backend: str, request: pytest.FixtureRequest, tmp_path) -> Storage:  # noqa: ANN001
    """A fresh, empty store of the parametrised backend.

    S3 uses the smallest part size and reaches moto through the serialising proxy.
    """
    if backend == "disk":
        return DiskStorage(tmp_path / "store")
    bucket = request.getfixturevalue("bucket")
    client = request.getfixturevalue("serialised_s3_client")
    return S3Storage(bucket, "feed", client=client, part_size=MIN_PART_SIZE)
