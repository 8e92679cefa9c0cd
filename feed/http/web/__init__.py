"""The feed's web page: server-rendered pages for people, under `/ui/` and at `/` for browsers.

Home (search), package, environments dashboard and retention pages, sign-in with an API
key, and the admin actions (delete, unlist/relist, pin/unpin) behind CSRF-checked forms.
No JavaScript and nothing from the internet: templates and CSS are served by the feed.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from feed.http.context import services
from feed.http.web import actions, pages  # noqa: F401 - the modules register their views
from feed.http.web.blueprint import bp
from feed.http.web.filters import FILTERS
from feed.http.web.session import csrf_token, install_sessions, signed_in


def init_app(app: Flask) -> None:
    """Install the page's blueprint, its session cookie, and `/` for browsers."""
    install_sessions(app)
    app.register_blueprint(bp)
    app.add_url_rule("/", "front_door", pages.front_door)
    app.jinja_env.filters.update(FILTERS)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.context_processor(_page_context)


def _page_context() -> dict[str, Any]:
    """Give every template the signed-in key, the CSRF token maker and the feed's mode."""
    try:
        key = signed_in()
    except Exception:  # noqa: BLE001 - an error page must render while storage fails
        key = None
    return {
        "current_key": key,
        "csrf_token": csrf_token,
        "private_feed": services().config.private,
    }
