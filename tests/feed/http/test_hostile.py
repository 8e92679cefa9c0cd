"""Every hostile archive is refused at push with 400, a message naming the rule, nothing stored."""

from __future__ import annotations

import pytest
import requests

from tests.feed.conftest import stored_keys
from tests.helpers.hostile import HOSTILE_CASES


@pytest.mark.parametrize("case", HOSTILE_CASES, ids=[c.name for c in HOSTILE_CASES])
def test_hostile_push_is_refused_and_nothing_stored(feed, tmp_path, case) -> None:
    path, fragment = case.write(tmp_path)
    with path.open("rb") as stream:
        response = requests.post(
            f"{feed.url}/api/packages/raw",
            files={"file": (path.name, stream)},
            headers={"X-Octopus-ApiKey": feed.admin_key},
            timeout=60,
        )
    assert response.status_code == 400, response.text
    body = response.json()
    assert fragment.lower() in body["ErrorMessage"].lower()
    assert body["Errors"] == [body["ErrorMessage"]]
    assert stored_keys(feed.storage) == []
    listing = requests.get(f"{feed.url}/api/packages", timeout=10).json()
    assert listing["TotalResults"] == 0
