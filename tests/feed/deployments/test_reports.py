"""Deployment reports over HTTP, on disk and on moto S3: stored once, listed newest first,
folded into the current version per environment."""

from __future__ import annotations

import pytest

from tests.feed.deployments.conftest import push_versions, record


@pytest.fixture(autouse=True)
def packages(feed, tmp_path):
    push_versions(feed, tmp_path, "Acme.Web", "1.0.0", "1.1.0", "1.2.0")
    push_versions(feed, tmp_path, "Acme.Api", "2.0.0")


def test_report_answers_201_with_the_stored_record(api) -> None:
    body = record(version="1.1", target="web-01", forced=True)
    response = api.post(body)
    assert response.status_code == 201
    stored = response.json()
    assert stored == {
        "id": body["id"],
        "package_id": "Acme.Web",
        "version": "1.1.0",  # the feed's spelling of the version it holds
        "environment": "Production",
        "target": "web-01",
        "status": "succeeded",
        "started": "2026-11-22T11:59:30.000Z",
        "finished": "2026-11-22T12:00:00.000Z",
        "forced": True,
    }
    assert api.get(f"deployments/{body['id']}").json() == stored


def test_a_report_without_id_gets_one(api) -> None:
    body = record()
    del body["id"]
    response = api.post(body)
    assert response.status_code == 201
    assert len(response.json()["id"]) == 36


def test_a_retried_report_is_stored_once(api, feed) -> None:
    body = record()
    assert api.post(body).status_code == 201
    again = api.post(body)
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    listed = api.get("deployments", packageId="Acme.Web").json()
    assert [d["id"] for d in listed["deployments"]] == [body["id"]]
    assert listed["total"] == 1
    assert len(list(feed.storage.list("deployments/records/"))) == 1
    assert len(list(feed.storage.list("deployments/all/"))) == 1


def test_the_same_id_with_other_contents_is_a_conflict(api) -> None:
    body = record()
    assert api.post(body).status_code == 201
    response = api.post({**body, "target": "web-02"})
    assert response.status_code == 409
    assert "id:" in response.json()["ErrorMessage"]


def test_list_is_newest_first_and_filters(api) -> None:
    first = api.report(version="1.0.0", minute=1)
    second = api.report(version="1.1.0", environment="Test", minute=2)
    third = api.report(package_id="Acme.Api", version="2.0.0", minute=3)
    fourth = api.report(version="1.2.0", status="failed", minute=4)
    everything = api.get("deployments").json()
    assert [d["id"] for d in everything["deployments"]] == [
        fourth["id"],
        third["id"],
        second["id"],
        first["id"],
    ]
    web = api.get("deployments", packageId="acme.web").json()
    assert [d["id"] for d in web["deployments"]] == [fourth["id"], second["id"], first["id"]]
    assert web["total"] == 3
    production = api.get("deployments", environment="production").json()
    assert [d["id"] for d in production["deployments"]] == [
        fourth["id"],
        third["id"],
        first["id"],
    ]
    both = api.get("deployments", packageId="Acme.Web", environment="Production").json()
    assert [d["id"] for d in both["deployments"]] == [fourth["id"], first["id"]]
    succeeded = api.get(
        "deployments", packageId="Acme.Web", environment="Production", status="succeeded"
    ).json()
    assert [d["id"] for d in succeeded["deployments"]] == [first["id"]]
    assert succeeded["total"] == 1
    paged = api.get("deployments", packageId="Acme.Web", skip=1, take=1).json()
    assert [d["id"] for d in paged["deployments"]] == [second["id"]]
    assert paged["total"] == 3


def test_environments_show_current_version_and_targets(api) -> None:
    api.report(version="1.0.0", target="web-01", minute=1)
    api.report(version="1.1.0", target="web-01", minute=2)
    api.report(version="1.1.0", target="web-02", minute=3)
    api.report(version="1.0.0", environment="Test", minute=4)
    document = api.get("environments").json()
    assert document == {
        "environments": [
            {
                "name": "Production",
                "packages": [
                    {
                        "package_id": "Acme.Web",
                        "version": "1.1.0",
                        "deployed": "2026-11-22T12:03:00.000Z",
                        "targets": 2,
                        "last_status": "succeeded",
                    }
                ],
            },
            {
                "name": "Test",
                "packages": [
                    {
                        "package_id": "Acme.Web",
                        "version": "1.0.0",
                        "deployed": "2026-11-22T12:04:00.000Z",
                        "targets": 1,
                        "last_status": "succeeded",
                    }
                ],
            },
        ]
    }


def test_a_failed_deploy_is_recorded_and_current_stays(api, feed) -> None:
    api.report(version="1.1.0", minute=1)
    failed = api.report(version="1.2.0", minute=2, status="failed")
    assert failed["status"] == "failed"
    [production] = api.get("environments").json()["environments"]
    assert production["packages"][0]["version"] == "1.1.0"
    assert production["packages"][0]["last_status"] == "failed"
    assert production["packages"][0]["targets"] == 0  # web-01 last reported the failure
    [state] = feed.app.extensions["octopack"].deployments.states("Acme.Web")
    assert state["current"]["version"] == "1.1.0"
    assert state["previous"] is None
    assert state["last"]["status"] == "failed"


def test_current_and_previous_follow_finished_times(api, feed) -> None:
    api.report(version="1.0.0", minute=1)
    api.report(version="1.2.0", minute=3)
    api.report(version="1.1.0", minute=2)  # arrives late: it was the one before 1.2.0
    api.report(version="1.2.0", minute=4, target="web-02")
    [state] = feed.app.extensions["octopack"].deployments.states("Acme.Web")
    assert state["current"]["version"] == "1.2.0"
    assert state["current"]["finished"] == "2026-11-22T12:04:00.000Z"
    assert state["previous"]["version"] == "1.1.0"
    assert state["succeeded"] == ["1.2.0", "1.1.0", "1.0.0"]
    assert sorted(state["targets"]) == ["web-01", "web-02"]
