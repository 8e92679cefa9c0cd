"""What every client of the feed shares: which answers to retry and how to quote an error."""

from __future__ import annotations

import re
from typing import Any

import requests

from packer.model.errors import BadInput, OperationFailed

API_KEY_HEADER = "X-Octopus-ApiKey"
# Answers worth another attempt. 507 (feed storage is full) is deliberately absent: no
# retry frees space, so the client reports it at once.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
INSUFFICIENT_STORAGE = 507
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout)


_SERVER_URL = re.compile(r"https?://[^/\s]+")


def check_server_url(server: str) -> str:
    """Return the feed URL without a trailing slash; BadInput unless it is http(s)://host."""
    if not _SERVER_URL.match(server):
        raise BadInput(f"feed server {server!r} is not an http:// or https:// URL")
    return server.rstrip("/")


def attempts_text(count: int) -> str:
    """Return `1 attempt` or `N attempts`."""
    return "1 attempt" if count == 1 else f"{count} attempts"


def error_text(response: requests.Response) -> str:
    """The feed's ErrorMessage (and Errors) or the start of the body."""
    try:
        document = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason or f"HTTP {response.status_code}"
    if not isinstance(document, dict):
        return str(document)[:300]
    message = str(document.get("ErrorMessage") or response.reason or "")
    details = [str(item) for item in document.get("Errors") or [] if str(item) != message]
    return "; ".join([message, *details]) if details else message


def json_object(
    response: requests.Response, what: str, kind: str = "a JSON object"
) -> dict[str, Any]:
    """Return the answer's JSON object; OperationFailed (`the answer is not {kind}`) else."""
    try:
        document = response.json()
    except ValueError:
        raise OperationFailed(f"{what}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise OperationFailed(f"{what}: the answer is not {kind}")
    return document
