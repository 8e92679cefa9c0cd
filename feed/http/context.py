"""The objects one feed app shares between its blueprints, and request helpers they all use."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import current_app, g, request

from feed.core.errors import BadRequest, Forbidden
from feed.core.keys import ApiKey, UnknownApiKey, authorize
from feed.services import FeedServices

EXTENSION = "octopack"
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~\-]+)*$")


def services() -> FeedServices:
    """Return the current app's services (set up by create_app)."""
    return current_app.extensions[EXTENSION]


def site_root() -> str:
    """Return `scheme://host[:port][/prefix]` of the feed as the client reached it.

    Behind a proxy the feed is configured to trust, X-Forwarded-Proto, -Host and -Prefix
    win; a forwarded value that is not a plain scheme, host or path is ignored.
    """
    scheme, host, prefix = request.scheme, request.host, request.script_root
    if getattr(services().config, "trust_proxy", False):
        scheme = _forwarded("X-Forwarded-Proto", lambda v: v.lower() in ("http", "https")) or scheme
        host = _forwarded("X-Forwarded-Host", lambda v: bool(_HOST.match(v))) or host
        prefix = _forwarded("X-Forwarded-Prefix", lambda v: bool(_PREFIX.match(v))) or prefix
    return f"{scheme.lower()}://{host}{prefix.rstrip('/')}"


def _forwarded(header: str, valid: Callable[[str], bool]) -> str | None:
    """Return the first (client-side) value of a forwarded header when it is valid."""
    raw = request.headers.get(header)
    if not raw:
        return None
    value = raw.split(",")[0].strip()
    return value if value and valid(value) else None


def presented_key() -> str | None:
    """Return the API key a request carries: header, Basic password or ?apikey=."""
    for header in ("X-Octopus-ApiKey", "X-NuGet-ApiKey"):
        if request.headers.get(header):
            return request.headers[header].strip()
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.password:
        return auth.password
    for name, value in request.args.items():
        if name.lower() == "apikey" and value:
            return value
    return None


def require(scope: str) -> ApiKey | None:
    """Check the request's key against a scope (read passes anonymously on a public feed)."""
    feed = services()
    try:
        key = authorize(feed.keys, presented_key(), scope, feed.config.private)
    except UnknownApiKey as error:
        if request.headers.get("X-NuGet-ApiKey"):
            # NuGet clients answer a 401 by asking for a user name and never show our words
            raise Forbidden(str(error)) from None
        raise
    if key is not None:
        g.octopack_key_name = key.name  # the request log names the key, never the key itself
    return key


def arg_bool(name: str, default: bool = False) -> bool:
    """Read a true/false query parameter case-insensitively; refuse anything else."""
    text = _arg(name)
    if text is None or text == "":
        return default
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise BadRequest(f"query parameter {name}={text!r} must be true or false")


def arg_int(name: str, default: int, maximum: int | None = None) -> int:
    """Read a non-negative whole-number query parameter, capped at `maximum`."""
    text = _arg(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"query parameter {name}={text!r} must be a whole number") from None
    if value < 0:
        raise BadRequest(f"query parameter {name}={text!r} must not be negative")
    return min(value, maximum) if maximum is not None else value


def arg_str(name: str) -> str | None:
    """Read a query parameter whose name is matched case-insensitively (Octopus is lax)."""
    return _arg(name)


def _arg(name: str) -> str | None:
    """Return a query parameter by case-insensitive name."""
    if name in request.args:
        return request.args[name]
    lowered = name.lower()
    for key, value in request.args.items():
        if key.lower() == lowered:
            return value
    return None
