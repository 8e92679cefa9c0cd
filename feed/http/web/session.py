"""Who is signed in to the web page, the session cookie that says so, and CSRF tokens.

The cookie is Flask's signed session (HttpOnly, SameSite=Strict, Secure when the feed is
reached over HTTPS) and holds only the SHA-256 of the key, never the key: each request
looks the hash up again, so a revoked key signs its sessions out at once. The signing
secret comes from the core (`FeedServices.site_secret`), the same in every process.
Sessions open only for the page's own requests, so API calls never touch the secret.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, Request, g, request, session
from flask.sessions import SecureCookieSessionInterface

from feed.core.errors import BadRequest, Forbidden
from feed.core.keys import ApiKey
from feed.http.context import EXTENSION, services, site_root

COOKIE = "octopack_session"
LIFETIME = timedelta(hours=12)
CSRF_FIELD = "csrf_token"
PAGE_PREFIX = "/ui/"


class CsrfRefused(BadRequest):
    """A form came without the token of this session (or with another one)."""


def prefers_html(req: Request) -> bool:
    """True when the client ranks HTML above JSON (a browser; `*/*` alone means JSON)."""
    accepted = req.accept_mimetypes
    return accepted.quality("text/html") > accepted.quality("application/json")


def is_page_request(req: Request) -> bool:
    """True for the page's own requests: under /ui/, or a browser asking for `/`."""
    return req.path.startswith(PAGE_PREFIX) or (req.path == "/" and prefers_html(req))


class FeedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with the feed-wide secret, only for page requests."""

    def get_signing_serializer(self, app: Flask) -> Any:
        if not is_page_request(request):
            return None
        if not app.secret_key:
            app.secret_key = app.extensions[EXTENSION].site_secret.session_key()
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return site_root().startswith("https://")


def install_sessions(app: Flask) -> None:
    """Give the app the feed's session cookie settings."""
    app.session_interface = FeedSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=LIFETIME,
    )


def csrf_token() -> str:
    """Return this session's CSRF token, making one on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a form whose token is missing or not this session's (400)."""
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRefused(
            "this form carries no valid CSRF token (reload the page and send it again)"
        )


def sign_in(key: ApiKey) -> None:
    """Start a fresh session for a key: a new CSRF token, so none from before carries over."""
    session.clear()
    session.permanent = True
    session["key"] = key.sha256
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    """End the session."""
    session.clear()


def signed_in() -> ApiKey | None:
    """Return the key this session signed in with, or None (also when it was revoked)."""
    if "web_key" not in g:
        digest = session.get("key")
        g.web_key = services().keys.by_hash(digest) if isinstance(digest, str) else None
    return g.web_key


def require_admin() -> ApiKey:
    """Return the signed-in admin key, or refuse (403) with what to do."""
    key = signed_in()
    if key is None or not key.allows("admin"):
        raise Forbidden("sign in with an admin key to do this")
    return key


def may_read() -> bool:
    """True when this session may see the feed's pages (a private feed needs a key)."""
    return not services().config.private or signed_in() is not None
