"""The feed's admin API (`/api/octopack/{keys,retention}`), as `keys`, `retention`, `pin`
and `unpin` call it with `--server` and an admin key."""

from __future__ import annotations

from typing import Any

import requests

from packer.client.http import API_KEY_HEADER, check_server_url, error_text
from packer.model.errors import BadInput, OperationFailed


class AdminApi:
    """JSON calls to one of the feed's admin areas (`/api/octopack/{area}`) with an admin key."""

    def __init__(self, server: str, api_key: str | None, area: str, timeout: float) -> None:
        if not api_key:
            raise BadInput("--server needs an admin --api-key (or OCTOPACK_API_KEY)")
        self.base = f"{check_server_url(server)}/api/octopack/{area}"
        self.headers = {API_KEY_HEADER: api_key}
        self.timeout = timeout

    def call(self, method: str, path: str = "", **kwargs: Any) -> dict[str, Any]:
        """Send one request; an error answer becomes BadInput (400) or OperationFailed."""
        url = self.base + path
        try:
            response = requests.request(
                method, url, headers=self.headers, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as error:
            raise OperationFailed(f"cannot reach {url}: {error.__class__.__name__}") from None
        if response.status_code >= 400:
            error_type = BadInput if response.status_code == 400 else OperationFailed
            raise error_type(f"{url} answered {response.status_code}: {error_text(response)}")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise OperationFailed(f"{url} answered {response.status_code} without a JSON object")
        return document
