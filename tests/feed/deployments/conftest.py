"""Helpers for deployment tests: a feed with packages in it, reports posted over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from feed.core.keys import KeyStore
from tests.feed.packages import make_zip

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def push_versions(feed: Any, folder: Path, package_id: str, *versions: str) -> None:
    """Put real zip packages into the feed through its repository."""
    for version in versions:
        path = make_zip(folder, f"{package_id}.{version}.zip")
        feed.repository.add_package(path, path.name)


def record(
    package_id: str = "Acme.Web",
    version: str = "1.0.0",
    environment: str = "Production",
    target: str = "web-01",
    status: str = "succeeded",
    minute: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """Return a report body that finished `minute` minutes after T0."""
    finished = T0 + timedelta(minutes=minute)
    body = {
        "id": str(uuid.uuid4()),
        "package_id": package_id,
        "version": version,
        "environment": environment,
        "target": target,
        "status": status,
        "started": (finished - timedelta(seconds=30)).isoformat().replace("+00:00", "Z"),
        "finished": finished.isoformat().replace("+00:00", "Z"),
        "forced": False,
    }
    body.update(extra)
    return body


class Api:
    """Calls of the deployments API with one key."""

    def __init__(self, url: str, key: str) -> None:
        self.url = f"{url}/api/octopack"
        self.headers = {"X-Octopus-ApiKey": key}

    def post(self, body: Any) -> requests.Response:
        return requests.post(f"{self.url}/deployments", json=body, headers=self.headers, timeout=10)

    def report(self, **fields: Any) -> dict[str, Any]:
        response = self.post(record(**fields))
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}/{path}", params=params, headers=self.headers, timeout=10)

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, f"{self.url}/{path}", headers=self.headers, timeout=10, **kwargs
        )


@pytest.fixture
def keys(feed: Any) -> dict[str, str]:
    """A stored key of each scope: {scope: plain key}."""
    store = KeyStore(feed.storage)
    scopes = ("read", "deploy", "push", "admin")
    return {scope: store.create(scope, f"test-{scope}")[1] for scope in scopes}


@pytest.fixture
def api(feed: Any, keys: dict[str, str]) -> Api:
    """The API with a deploy key (what targets use)."""
    return Api(feed.url, keys["deploy"])


@pytest.fixture
def admin(feed: Any) -> Api:
    """The API with the feed's admin key."""
    return Api(feed.url, feed.admin_key)
