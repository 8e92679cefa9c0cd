"""The one JSON-record helper: create-if-absent, compare-and-swap, one retry limit."""

from __future__ import annotations

import pytest

from feed.core.errors import PackageConflict
from feed.core.jsonrecords import CAS_ATTEMPTS, JsonRecords, json_codec
from storage import open_storage
from tests.feed.retention.hooks import HookedStorage

KEY = "things/one.json"


@pytest.fixture
def storage(tmp_path):
    return open_storage(str(tmp_path / "store"))


def test_create_read_replace_delete_by_etag(storage) -> None:
    records = JsonRecords(storage, json_codec())
    etag = records.create(KEY, {"n": 1})
    assert etag is not None
    assert records.create(KEY, {"n": 2}) is None  # create-if-absent
    found = records.read(KEY)
    assert (found.value, found.etag) == ({"n": 1}, etag)
    newer = records.replace(KEY, {"n": 3}, etag)
    assert newer is not None and newer != etag
    assert records.replace(KEY, {"n": 4}, etag) is None  # a stale etag loses
    assert records.delete(KEY, etag) is False
    assert records.delete(KEY, newer) is True
    assert records.read(KEY) is None


def test_update_retries_a_lost_race_and_reports_what_it_replaced(storage) -> None:
    hooked = HookedStorage(storage)
    records = JsonRecords(hooked, json_codec())
    records.create(KEY, {"n": 1})
    raced = []

    def rival(op: str, key: str) -> None:
        if op == "replace_record" and not raced:
            raced.append(True)
            current = JsonRecords(storage, json_codec()).read(KEY)
            storage.replace_record(KEY, b'{"n": 10}', if_match=current.etag)

    hooked.before = rival
    swapped = records.update(KEY, lambda doc: {"n": doc["n"] + 1}, "busy")
    assert (swapped.value, swapped.previous) == ({"n": 11}, {"n": 10})
    assert records.read(KEY).value == {"n": 11}


def test_update_gives_up_after_the_one_retry_limit_with_the_callers_words(storage) -> None:
    hooked = HookedStorage(storage)
    records = JsonRecords(hooked, json_codec())
    records.create(KEY, {"n": 0})
    tries = []

    def always_changed(op: str, key: str) -> None:
        if op == "replace_record":
            tries.append(op)
            current = JsonRecords(storage, json_codec()).read(KEY)
            storage.replace_record(KEY, b'{"n": -1}', if_match=current.etag)

    hooked.before = always_changed
    with pytest.raises(PackageConflict, match="^the thing kept changing; try again$"):
        records.update(KEY, lambda doc: {"n": 1}, "the thing kept changing; try again")
    assert len(tries) == CAS_ATTEMPTS


def test_remove_returns_what_was_there_or_none(storage) -> None:
    records = JsonRecords(storage, json_codec())
    assert records.remove(KEY, "busy") is None
    records.create(KEY, ["x"])
    assert records.remove(KEY, "busy") == ["x"]
    assert records.read(KEY) is None
