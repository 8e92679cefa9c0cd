"""A feed whose storage is full answers 507 once: the client reports it without retrying."""

from __future__ import annotations

from pathlib import Path

from packer.client.feed import FeedClient
from packer.client.http import INSUFFICIENT_STORAGE, RETRY_STATUSES
from tests.helpers.faulty_proxy import Fault, faulty_proxy
from tests.packer.client.conftest import ADMIN_KEY, make_package


def test_507_is_not_a_retry_status() -> None:
    assert INSUFFICIENT_STORAGE not in RETRY_STATUSES


def test_push_to_a_full_feed_is_tried_once(feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Hello.App.1.0.0.zip")
    sleeps: list[float] = []
    plan = [Fault.answer(507)] * 3
    with faulty_proxy(feed.url, plan) as proxy:
        with FeedClient(proxy.url, api_key=ADMIN_KEY, sleep=sleeps.append, timeout=30) as client:
            result = client.push(package)
        posts = [line for line in proxy.request_lines if line.startswith("PUT")]
    assert result.status == "error"
    assert result.message == f"{proxy.url} answered 507: injected by the faulty proxy"
    assert sleeps == []
    assert len(posts) == 1
