"""list() order and prefix matching equal plain string sorting and startswith, on both backends.

The disk backend walks directories and sorts each as 'name/', which must give the same
order as S3's flat byte-order listing; hypothesis hunts for key sets where it would not.
"""

from __future__ import annotations

import io
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import check_key
from storage.disk import DiskStorage
from storage.s3 import S3Storage
from tests.helpers.moto_server import create_bucket

SEGMENT = st.text(alphabet="ab.-_0~é", min_size=1, max_size=4).filter(
    lambda s: s not in (".", "..")
)
KEY = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)


def _consistent(keys: set[str]) -> bool:
    """Keep sets a file system can hold: no key is also a directory of another key."""
    return not any(other.startswith(key + "/") for key in keys for other in keys)


KEY_SETS = st.sets(KEY, min_size=1, max_size=12).filter(_consistent)
PREFIX = st.one_of(st.just(""), KEY, KEY.map(lambda k: k + "/"))


def _check(storage, keys: set[str], prefix: str) -> None:  # noqa: ANN001
    for key in keys:
        storage.put_blob(check_key(key), io.BytesIO(key.encode()))
    assert [o.key for o in storage.list("")] == sorted(keys)
    expected = sorted(k for k in keys if k.startswith(prefix))
    assert [o.key for o in storage.list(prefix)] == expected
    for info in storage.list(prefix):
        assert info.size == len(info.key.encode())


@settings(max_examples=50, deadline=None)
@given(keys=KEY_SETS, prefix=PREFIX)
def test_disk_list_matches_string_order(keys: set[str], prefix: str) -> None:
    root = tempfile.mkdtemp(prefix="octopack-list-")
    try:
        _check(DiskStorage(root, durable=False), keys, prefix)  # fsync is not the point here
    finally:
        shutil.rmtree(root)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keys=KEY_SETS, prefix=PREFIX)
def test_s3_list_matches_string_order(
    keys: set[str],
    prefix: str,
    moto_endpoint: str,
    s3_client,  # noqa: ANN001
) -> None:
    storage = S3Storage(create_bucket(moto_endpoint), "feed", client=s3_client, page_size=3)
    _check(storage, keys, prefix)
