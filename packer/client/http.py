"""What every client of the feed shares: which answers to retry and how to quote an error."""

from __future__ import annotations

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout)


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
