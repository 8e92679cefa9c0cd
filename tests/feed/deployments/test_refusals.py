"""Bad reports are refused with 400 naming the field; scopes decide who may report."""

from __future__ import annotations

import pytest

from tests.feed.deployments.conftest import Api, push_versions, record
from tests.feed.packages import make_zip


@pytest.fixture(autouse=True)
def packages(feed, tmp_path):
    push_versions(feed, tmp_path, "Acme.Web", "1.0.0")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"package_id": "Acme.Missing"}, "package_id"),
        ({"version": "9.9.9"}, "version"),
        ({"version": "not-a-version"}, "version"),
        ({"status": "success"}, "status"),
        ({"finished": "yesterday"}, "finished"),
        ({"started": "2026-13-40T00:00:00Z"}, "started"),
        ({"started": "2026-11-22T13:00:00Z"}, "finished"),  # finished before started
        ({"environment": "../etc"}, "environment"),
        ({"target": ""}, "target"),
        ({"forced": "yes"}, "forced"),
        ({"id": "not-a-uuid"}, "id"),
        ({"environment": None}, "environment"),
        ({"target": None}, "target"),
    ],
)
def test_bad_records_are_refused_naming_the_field(api, feed, change, field) -> None:
    response = api.post(record(**change))
    assert response.status_code == 400, response.text
    message = response.json()["ErrorMessage"]
    assert message.startswith(f"{field}: "), message
    assert list(feed.storage.list("deployments/")) == []


def test_a_body_that_is_not_an_object_is_refused(api) -> None:
    response = api.post(["not", "a", "record"])
    assert response.status_code == 400
    assert "JSON object" in response.json()["ErrorMessage"]


def test_bad_queries_are_refused(api) -> None:
    assert api.get("deployments", status="done").status_code == 400
    assert (
        api.get("deployments", environment="a/b").json()["ErrorMessage"].startswith("environment: ")
    )
    assert api.get("deployments/not-a-uuid").status_code == 404
    assert api.get("deployments/6f9619ff-8b86-d011-b42d-00cf4fc964ff").status_code == 404


def test_a_read_key_cannot_report(feed, keys) -> None:
    response = Api(feed.url, keys["read"]).post(record())
    assert response.status_code == 403
    assert "needs deploy" in response.json()["ErrorMessage"]
    assert Api(feed.url, keys["read"]).get("deployments").status_code == 200


def test_a_report_needs_a_key(feed) -> None:
    assert Api(feed.url, "").post(record()).status_code == 401


def test_push_and_admin_keys_may_report(feed, keys) -> None:
    assert Api(feed.url, keys["push"]).post(record()).status_code == 201
    assert Api(feed.url, keys["admin"]).post(record()).status_code == 201


def test_a_deploy_key_cannot_push(feed, keys, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Web.2.0.0.zip")
    with path.open("rb") as stream:
        response = Api(feed.url, keys["deploy"]).send(
            "POST", "../packages/raw", files={"f": (path.name, stream)}
        )
    assert response.status_code == 403
    assert "scope deploy" in response.json()["ErrorMessage"]
