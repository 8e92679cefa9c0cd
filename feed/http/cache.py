"""A response cache for read-only GET views, validated by the feed's generation marker.

Dialect-neutral: a dialect passes its own protocol headers through `cached(extra_headers=)`.
The repository rewrites `index/generation.json` after every committed change of a record,
and every lookup reads the marker first, so an answer is never staler than the last commit;
`cache_max_age` only bounds the damage of a writer that died between commit and marker.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, request

from feed.core.errors import BadRequest
from feed.http.context import EXTENSION, require, services, site_root

CACHE_EXTENSION = "octopack-response-cache"
CACHE_ENTRIES = 256
CACHE_MAX_BYTES = 512 * 1024
CACHE_MAX_SECONDS = 600.0  # default cache_max_age: the safety net for a lost marker rewrite

Key = tuple[str, ...]
HeaderHook = Callable[[], dict[str, str]]


class ResponseCache:
    """Recent GET answers keyed by (generation, site root, path and query); LRU, bounded.

    An entry older than `max_age` seconds is never served; `max_age=0` turns caching off.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_age: float = CACHE_MAX_SECONDS
    ) -> None:
        if max_age < 0:
            raise BadRequest(f"cache_max_age={max_age!r} must be 0 (off) or more seconds")
        self.clock = clock
        self.max_age = max_age
        self._entries: OrderedDict[Key, tuple[float, bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> tuple[bytes, str] | None:
        """Return a cached (body, mimetype) that is young enough, or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or self.clock() - found[0] >= self.max_age:
                return None
            self._entries.move_to_end(key)
            return found[1], found[2]

    def put(self, key: Key, body: bytes, mimetype: str) -> None:
        """Keep a small answer, dropping the least recently used beyond the limit."""
        if len(body) > CACHE_MAX_BYTES or self.max_age <= 0:
            return
        with self._lock:
            self._entries[key] = (self.clock(), body, mimetype)
            self._entries.move_to_end(key)
            while len(self._entries) > CACHE_ENTRIES:
                self._entries.popitem(last=False)


def install_cache(app: Flask) -> None:
    """Give the app one response cache shared by every dialect, aged by `cache_max_age`."""
    feed = app.extensions.get(EXTENSION)
    max_age = getattr(getattr(feed, "config", None), "cache_max_age", CACHE_MAX_SECONDS)
    app.extensions.setdefault(CACHE_EXTENSION, ResponseCache(max_age=max_age))


def cached(
    view: Callable[..., Any] | None = None,
    *,
    extra_headers: HeaderHook | None = None,
    absolute_links: bool = True,
) -> Any:
    """Serve a read-only GET view from the cache while the feed's generation is unchanged.

    Use as `@cached` or `@cached(extra_headers=hook, absolute_links=False)`: the hook adds
    protocol headers to a hit; a view whose answers hold only relative links may leave the
    site root (scheme, host, prefix) out of the key.
    """
    if view is None:
        return functools.partial(cached, extra_headers=extra_headers, absolute_links=absolute_links)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method != "GET":
            return view(*args, **kwargs)
        if services().config.private:  # public feeds read anonymously (feed.auth.authorize)
            require("read")  # every request, hit or miss: a revoked key stops at once
        cache: ResponseCache = current_app.extensions[CACHE_EXTENSION]
        key = cache_key(absolute_links)
        hit = cache.get(key)
        if hit is not None:
            headers = extra_headers() if extra_headers else {}
            return Response(hit[0], mimetype=hit[1], headers=headers)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.direct_passthrough:
            cache.put(key, response.get_data(), response.content_type)
        return response

    return wrapper


def cache_key(absolute_links: bool = True) -> Key:
    """Return what a read answer depends on; the generation is read before the view runs.

    Only requests allowed to read get here, and no read answer differs by which key was
    shown, so the auth outcome is the constant "read".
    """
    generation = services().repository.generation()
    root = site_root() if absolute_links else ""
    return (generation, "read", root, request.full_path)
