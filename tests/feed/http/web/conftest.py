"""Fixtures for the web page: a feed app over disk storage, packages and deployment reports."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from feed.core.config import FeedConfig
from feed.http.app import create_app
from feed.services import open_feed
from tests.feed.packages import make_zip
from tests.helpers.clock import FixedClock
from tests.helpers.feed_server import ADMIN_KEY

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
MANIFEST = b'[process]\nsubstitute = ["app/*.json"]\n\n[health]\ncommand = "true"\n'
WEB_FILES = {"Deploy.sh": b"echo deploy\n", "octopack.toml": MANIFEST, "app/a.json": b"{}"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(storage: Any, clock: FixedClock, **config: Any) -> Flask:
    """Build a feed app over a storage with the test admin key."""
    config.setdefault("api_keys", (ADMIN_KEY,))
    app = create_app(open_feed(storage, FeedConfig(storage="test", clock=clock, **config)))
    app.testing = True
    return app


@dataclass
class Site:
    """A feed app, its test client, and helpers to fill it and to post forms."""

    app: Flask
    client: FlaskClient
    clock: FixedClock
    folder: Path

    def push(self, package_id: str, version: str, files: dict[str, bytes] | None = None) -> Any:
        """Put a real zip into the feed through the repository."""
        path = make_zip(self.folder, f"{package_id}.{version}.zip", files or WEB_FILES)
        self.clock.advance(minutes=1)
        return self.app.extensions["octopack"].repository.add_package(path, path.name).record

    def report(
        self,
        package_id: str,
        version: str,
        environment: str,
        target: str,
        status: str = "succeeded",
    ) -> None:
        """Report a deployment through the HTTP API, as a target does."""
        self.clock.advance(minutes=1)
        finished = self.clock()
        body = {
            "id": str(uuid.uuid4()),
            "package_id": package_id,
            "version": version,
            "environment": environment,
            "target": target,
            "status": status,
            "started": (finished - timedelta(seconds=30)).isoformat(),
            "finished": finished.isoformat(),
        }
        answer = self.client.post(
            "/api/octopack/deployments", json=body, headers={"X-Octopus-ApiKey": ADMIN_KEY}
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)

    def page(self, path: str, **kwargs: Any) -> str:
        """GET a page as a browser and return its HTML (asserting 200)."""
        answer = self.client.get(path, headers=HTML, **kwargs)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer.get_data(as_text=True)

    def token(self, path: str = "/ui/sign-in") -> str:
        """Return the CSRF token a page's forms carry."""
        found = _CSRF.search(self.page(path))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, key: str = ADMIN_KEY) -> Any:
        """Sign in through the form."""
        return self.client.post(
            "/ui/sign-in", data={"api_key": key, "csrf_token": self.token(), "next": "/ui/"}
        )


@pytest.fixture
def site(disk_backend: Any, clock: FixedClock, tmp_path: Path) -> Site:
    """A public feed app over fresh disk storage."""
    app = make_app(disk_backend.storage, clock)
    return Site(app, app.test_client(), clock, tmp_path)
