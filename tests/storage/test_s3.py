"""S3-only behaviour: multipart aborts, pagination, prefixes, endpoints, conflicts, lost replies."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import socket
import threading

import pytest

from storage import (
    InvalidKey,
    ObjectExists,
    ObjectNotFound,
    PreconditionFailed,
    StorageError,
    open_storage,
)
from storage.s3 import MIN_PART_SIZE, S3Storage, make_client
from tests.helpers.moto_server import s3_client
from tests.storage.s3_fault_proxy import PASS, s3_fault_proxy
from tests.storage.test_contract import PatternStream, pattern_bytes

MIB = 1024 * 1024


def test_failed_multipart_upload_is_aborted(bucket: str, s3_client, moto_endpoint: str) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "feed", client=s3_client, part_size=MIN_PART_SIZE)
    with pytest.raises(OSError, match="half way"):
        storage.put_blob("big.bin", PatternStream(12 * MIB, fail_at=11 * MIB))
    assert storage.calls["create_multipart_upload"] == 1
    assert storage.calls["abort_multipart_upload"] == 1
    uploads = s3_client.list_multipart_uploads(Bucket=bucket)
    assert uploads.get("Uploads", []) == []
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_small_blob_is_one_put(bucket: str, s3_client) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "", client=s3_client, part_size=MIN_PART_SIZE)
    storage.put_blob("small.bin", io.BytesIO(b"x" * (MIN_PART_SIZE - 1)))
    assert dict(storage.calls) == {"put_object": 1}
    assert s3_client.head_object(Bucket=bucket, Key="small.bin")["ContentLength"] == (
        MIN_PART_SIZE - 1
    )


def test_part_size_below_s3_minimum_is_refused(bucket: str, s3_client) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="part_size 1024"):
        S3Storage(bucket, client=s3_client, part_size=1024)


def test_list_paginates(bucket: str, s3_client) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "feed", client=s3_client, page_size=2)
    keys = [f"p/{n}.json" for n in range(5)]
    for key in reversed(keys):
        storage.create_record(key, b"{}")
    assert [o.key for o in storage.list("p/")] == keys
    assert storage.calls["list_objects_v2"] == 3


def test_prefixes_isolate_stores_in_one_bucket(bucket: str, s3_client) -> None:  # noqa: ANN001
    feed = S3Storage(bucket, "feed", client=s3_client)
    feed2 = S3Storage(bucket, "feed2", client=s3_client)
    feed.create_record("a.json", b"1")
    feed2.create_record("a.json", b"2")
    assert [o.key for o in feed.list("")] == ["a.json"]
    assert feed.read_record("a.json")[0] == b"1"
    keys = [o["Key"] for o in s3_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["feed/a.json", "feed2/a.json"]


def test_open_storage_s3_url_with_explicit_endpoint(bucket: str, moto_endpoint: str) -> None:
    storage = open_storage(f"s3://{bucket}/deep/prefix/", endpoint_url=moto_endpoint)
    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix) == (bucket, "deep/prefix/")
    storage.create_record("x.json", b"{}")
    assert s3_client(moto_endpoint).get_object(Bucket=bucket, Key="deep/prefix/x.json")
    assert storage.client.meta.config.s3["addressing_style"] == "path"


@pytest.mark.parametrize(
    "variable", ["OCTOPACK_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
)
def test_open_storage_reads_the_endpoint_from_the_environment(
    bucket: str, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, moto_endpoint)
    monkeypatch.delenv("AWS_DEFAULT_REGION")  # MinIO setups often set none
    storage = open_storage(f"s3://{bucket}")
    assert storage.endpoint_url == moto_endpoint
    assert storage.client.meta.config.s3["addressing_style"] == "path"
    storage.put_blob("b.bin", io.BytesIO(b"via env"))
    assert storage.open_blob("b.bin").read() == b"via env"


@pytest.mark.parametrize(
    ("url", "message"),
    [("s3://", "has no bucket"), ("s3:///prefix", "has no bucket"), ("s3://b/../x", "'..'")],
)
def test_bad_s3_locations(url: str, message: str, moto_endpoint: str) -> None:
    with pytest.raises(InvalidKey, match=message):
        open_storage(url, endpoint_url=moto_endpoint)


def test_missing_bucket_is_a_clear_storage_error(s3_client) -> None:  # noqa: ANN001
    storage = S3Storage("no-such-bucket-here", "feed", client=s3_client)
    with pytest.raises(StorageError, match="'no-such-bucket-here' does not exist"):
        storage.create_record("a.json", b"{}")
    with pytest.raises(StorageError, match="no-such-bucket-here"):
        list(storage.list(""))


def test_unreachable_endpoint_is_a_storage_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    storage = S3Storage("bucket", client=make_client(f"http://127.0.0.1:{port}", max_attempts=1))
    with pytest.raises(StorageError, match="head_object on s3://bucket/k.bin failed"):
        storage.stat("k.bin")


# -- 409 ConditionalRequestConflict (injected by a proxy; moto never sends it) -----------


def _through(proxy_url: str, bucket: str, delays: list[float]) -> S3Storage:
    return S3Storage(
        bucket, "feed", endpoint_url=proxy_url, sleep=delays.append, conditional_delete=True
    )


def test_create_record_retries_conflicts(bucket: str, moto_endpoint: str) -> None:
    delays: list[float] = []
    with s3_fault_proxy(moto_endpoint, conflicts=2) as proxy:
        storage = _through(proxy.url, bucket, delays)
        etag = storage.create_record("c.json", b"mine")
        assert proxy.conflicts_sent == 2
    assert delays == [0.05, 0.1]
    assert storage.read_record("c.json") == (b"mine", etag)


def test_persistent_conflict_reports_a_lost_race(bucket: str, moto_endpoint: str) -> None:
    delays: list[float] = []
    with s3_fault_proxy(moto_endpoint, conflicts=100) as proxy:
        storage = _through(proxy.url, bucket, delays)
        with pytest.raises(ObjectExists, match="kept conflicting"):
            storage.create_record("c.json", b"mine")
        assert proxy.conflicts_sent == 5
    with pytest.raises(ObjectNotFound):
        storage.read_record("c.json")


def test_replace_and_delete_retry_conflicts(bucket: str, moto_endpoint: str) -> None:
    delays: list[float] = []
    with s3_fault_proxy(moto_endpoint, conflicts=0) as proxy:
        storage = _through(proxy.url, bucket, delays)
        etag = storage.create_record("r.json", b"one")
        proxy.conflicts = 1
        etag = storage.replace_record("r.json", b"two", etag)
        proxy.conflicts = 100
        with pytest.raises(PreconditionFailed, match="kept conflicting"):
            storage.replace_record("r.json", b"three", etag)
        with pytest.raises(PreconditionFailed, match="kept conflicting"):
            storage.delete_record("r.json", etag)
        assert storage.read_record("r.json") == (b"two", etag)
        proxy.conflicts = 1
        storage.delete_record("r.json", etag)
    with pytest.raises(ObjectNotFound):
        storage.read_record("r.json")


# -- a reply lost after the write landed: boto retries and sees its own write -------------


def test_create_whose_reply_was_lost_still_succeeds(bucket: str, moto_endpoint: str) -> None:
    """boto retries the PUT, gets 412 from its own first write, and we recognise our bytes."""
    with s3_fault_proxy(moto_endpoint, lost_replies=1) as proxy:
        storage = S3Storage(bucket, "feed", endpoint_url=proxy.url)
        etag = storage.create_record("lost.json", b"unique bytes of this writer")
        assert proxy.replies_lost == 1
        assert storage.calls["get_object"] == 1  # the check that the write was ours
        assert storage.read_record("lost.json") == (b"unique bytes of this writer", etag)


def test_create_lost_reply_does_not_claim_someone_elses_record(
    bucket: str, moto_endpoint: str
) -> None:
    direct = S3Storage(bucket, "feed", endpoint_url=moto_endpoint)
    direct.create_record("taken.json", b"theirs")
    with s3_fault_proxy(moto_endpoint, lost_replies=1) as proxy:
        storage = S3Storage(bucket, "feed", endpoint_url=proxy.url)
        with pytest.raises(ObjectExists, match="taken.json"):
            storage.create_record("taken.json", b"mine")
        assert proxy.replies_lost == 1
    assert direct.read_record("taken.json")[0] == b"theirs"


def test_replace_and_delete_whose_reply_was_lost(bucket: str, moto_endpoint: str) -> None:
    direct = S3Storage(bucket, "feed", endpoint_url=moto_endpoint)
    etag = direct.create_record("r.json", b"one")
    with s3_fault_proxy(moto_endpoint, lost_replies=1) as proxy:
        storage = S3Storage(bucket, "feed", endpoint_url=proxy.url, conditional_delete=True)
        etag = storage.replace_record("r.json", b"two", etag)
        assert proxy.replies_lost == 1
        proxy.lost_replies = 1
        assert direct.read_record("r.json") == (b"two", etag)
        storage.delete_record("r.json", etag)
        assert proxy.replies_lost == 2
    with pytest.raises(ObjectNotFound):
        direct.read_record("r.json")


# -- conditional delete: probed once; a store that ignores If-Match gets the fallback -------


def test_conditional_delete_is_probed_once(bucket: str, s3_client) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "feed", client=s3_client)
    first = storage.create_record("a.json", b"a")
    second = storage.create_record("b.json", b"b")
    storage.delete_record("a.json", first)
    storage.delete_record("b.json", second)
    assert storage.conditional_delete is True
    assert storage.calls["put_object"] == 3  # two records and one probe
    assert storage.calls["delete_object"] == 4  # probe, probe cleanup, two records
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_store_ignoring_conditional_delete_gets_compare_then_delete(
    bucket: str, moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    with s3_fault_proxy(moto_endpoint, strip_delete_conditions=True) as proxy:
        storage = S3Storage(bucket, "feed", endpoint_url=proxy.url)
        first = storage.create_record("r.json", b"one")
        second = storage.replace_record("r.json", b"two", first)
        with caplog.at_level("WARNING", logger="storage.s3"):
            with pytest.raises(PreconditionFailed, match="r.json"):
                storage.delete_record("r.json", first)
        assert storage.conditional_delete is False
        assert "ignores If-Match on DeleteObject" in caplog.text
        assert storage.read_record("r.json") == (b"two", second)
        storage.delete_record("r.json", second)
        with pytest.raises(ObjectNotFound):
            storage.read_record("r.json")
        with pytest.raises(ObjectNotFound):
            storage.delete_record("r.json", second)
        assert list(storage.list("")) == []


def test_list_hides_leftover_probe_objects(bucket: str, s3_client) -> None:  # noqa: ANN001
    s3_client.put_object(Bucket=bucket, Key="feed/.octopack-probe/abc", Body=b"probe")
    storage = S3Storage(bucket, "feed", client=s3_client)
    storage.create_record("real.json", b"{}")
    assert [o.key for o in storage.list("")] == ["real.json"]


def _use_after_fork(storage: S3Storage, parent_client_id: int, results) -> None:  # noqa: ANN001
    try:
        storage.create_record("from-child.json", b"child")
        results.put(("ok", id(storage.client) != parent_client_id))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        results.put((repr(exc), False))


def test_a_forked_worker_builds_its_own_client(bucket: str, moto_endpoint: str) -> None:
    """gunicorn forks workers after the app (and maybe the store) exists: no shared sockets."""
    storage = S3Storage(bucket, "feed", endpoint_url=moto_endpoint)
    storage.create_record("from-parent.json", b"parent")
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_use_after_fork, args=(storage, id(storage.client), results))
    child.start()
    try:
        assert results.get(timeout=60) == ("ok", True)
        child.join(timeout=60)
        assert child.exitcode == 0
    finally:
        if child.is_alive():
            child.kill()
            child.join()
    assert storage.read_record("from-child.json")[0] == b"child"
    assert storage.read_record("from-parent.json")[0] == b"parent"


def test_a_file_is_uploaded_in_parallel_parts(bucket: str, s3_client, tmp_path) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "feed", client=s3_client, part_size=MIN_PART_SIZE)
    size = 3 * MIN_PART_SIZE + 4321  # four parts, the last one short
    source = tmp_path / "spool"
    source.write_bytes(pattern_bytes(0, size))
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    info = storage.put_blob_file("big.bin", str(source))
    assert info.size == size
    assert not source.exists()
    assert storage.calls["upload_part"] == 4
    assert storage.calls["complete_multipart_upload"] == 1
    with storage.open_blob("big.bin") as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == expected  # parts in order


def test_a_failed_part_aborts_the_parallel_upload(
    bucket: str, s3_client, moto_endpoint: str, tmp_path
) -> None:  # noqa: ANN001
    source = tmp_path / "spool"
    source.write_bytes(b"x" * (3 * MIN_PART_SIZE))
    with s3_fault_proxy(moto_endpoint, answers=[PASS, (403, "AccessDenied")]) as proxy:
        client = make_client(proxy.url, max_attempts=1)
        storage = S3Storage(bucket, "feed", client=client, part_size=MIN_PART_SIZE)
        with pytest.raises(StorageError):
            storage.put_blob_file("big.bin", str(source))
    assert storage.calls["abort_multipart_upload"] == 1
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3_client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_parts_of_a_file_are_in_flight_together(
    bucket: str, s3_client, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    storage = S3Storage(bucket, "feed", client=s3_client, part_size=MIN_PART_SIZE)
    source = tmp_path / "spool"
    source.write_bytes(b"y" * (4 * MIN_PART_SIZE))
    together = threading.Barrier(2, timeout=30)  # a part waits until a second one is sending
    call = storage._s3.call

    def meeting_call(operation: str, key: str, **arguments):  # noqa: ANN003, ANN202
        if operation == "upload_part":
            together.wait()  # one part at a time would break the barrier here
        return call(operation, key, **arguments)

    monkeypatch.setattr(storage._s3, "call", meeting_call)
    assert storage.put_blob_file("big.bin", str(source)).size == 4 * MIN_PART_SIZE
