"""S3 faults seen through a real feed: quota and permission refusals, 5xx, an endpoint gone.

moto sits behind tests/storage/s3_fault_proxy.py, which answers the next writes from a
list. What boto retries by itself (500, 503 SlowDown, a dropped connection) heals when
the faults are few and gives 503 when they persist; quota answers 507 and a refusal 503,
each with a clear message and no bucket or key in it. Nothing half-visible either way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from storage.s3 import S3Storage, make_client
from tests.feed.packages import make_zip
from tests.helpers.feed_server import push_raw as push
from tests.helpers.feed_server import running_feed
from tests.storage.s3_fault_proxy import GONE, s3_fault_proxy

FULL = "feed storage is full; the feed's operator must free space or raise the quota"
DENIED = "feed storage refuses access; the feed's operator must check its permissions"
FAILING = "package storage is failing, try again"


CASES = [
    pytest.param([(403, "QuotaExceeded")], 507, FULL, id="quota"),
    pytest.param([(400, "EntityTooLarge")], 507, FULL, id="entity-too-large"),
    pytest.param([(403, "AccessDenied")], 503, DENIED, id="access-denied"),
    pytest.param([(503, "SlowDown")] * 2, 201, None, id="slowdown-healed"),
    pytest.param([(500, "InternalError")] * 2, 201, None, id="500-healed"),
    pytest.param([GONE] * 2, 201, None, id="gone-healed"),
    pytest.param([(503, "SlowDown")] * 10, 503, FAILING, id="slowdown-persists"),
    pytest.param([GONE] * 10, 503, FAILING, id="gone-persists"),
]


@pytest.mark.parametrize(("answers", "status", "message"), CASES)
def test_s3_faults_on_push(
    tmp_path: Path, bucket: str, moto_endpoint: str, answers, status: int, message: str | None
) -> None:
    package = make_zip(tmp_path, "Acme.App.1.0.0.zip")
    with s3_fault_proxy(moto_endpoint, answers=answers) as proxy:
        client = make_client(proxy.url, max_attempts=3)
        storage = S3Storage(bucket, "feed", client=client, endpoint_url=proxy.url)
        with running_feed(storage) as feed:
            response = push(feed.url, package)
            assert response.status_code == status, response.text
            used = len(proxy.answered)
            proxy.answers.clear()  # S3 is back: what does the feed show now?
            versions = requests.get(
                f"{feed.url}/api/feeds/feeds-builtin/packages/versions",
                params={"packageId": "Acme.App"},
                timeout=30,
            ).json()["Items"]
    if message is None:
        assert [item["Version"] for item in versions] == ["1.0.0"]
        assert used == len(answers)
        return
    body = response.json()
    assert body["ErrorMessage"] == message
    assert bucket not in response.text and "packages/" not in response.text
    assert versions == []  # nothing half-visible
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed if "/packages/" in o["Key"]] == []
