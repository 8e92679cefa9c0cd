"""Signing in, the session cookie, CSRF tokens, the admin actions and the private feed."""

from __future__ import annotations

from typing import Any

import pytest

from feed.core.sitesecret import SECRET_KEY
from tests.feed.http.web.conftest import HTML, Site, make_app
from tests.helpers.feed_server import ADMIN_KEY


def _cookie_header(answer: Any) -> str:
    """Return the Set-Cookie header of the session cookie."""
    cookies = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("octopack_session=")]
    assert len(cookies) == 1, answer.headers
    return cookies[0]


def test_sign_in_sets_a_strict_http_only_cookie_holding_no_key(site: Site) -> None:
    answer = site.sign_in()
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/"
    cookie = _cookie_header(answer)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert ADMIN_KEY not in cookie
    html = site.page("/ui/")
    assert "Signed in as" in html and "Sign out" in html and ">Retention</a>" in html


@pytest.mark.parametrize(
    ("base_url", "headers", "trust_proxy"),
    [
        ("https://feed.example", {}, False),
        ("http://localhost", {"X-Forwarded-Proto": "https"}, True),
    ],
)
def test_the_cookie_is_secure_behind_https(
    disk_backend, clock, tmp_path, base_url, headers, trust_proxy
) -> None:
    app = make_app(disk_backend.storage, clock, trust_proxy=trust_proxy)
    client = app.test_client()
    form = client.get("/ui/sign-in", base_url=base_url, headers={**HTML, **headers})
    assert "Secure" in _cookie_header(form)
    token = form.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(
        "/ui/sign-in",
        base_url=base_url,
        headers=headers,
        data={"api_key": ADMIN_KEY, "csrf_token": token},
    )
    assert answer.status_code == 303 and "Secure" in _cookie_header(answer)


def test_an_unknown_key_gets_the_form_again(site: Site) -> None:
    answer = site.sign_in("API-NOT-A-KEY")
    assert answer.status_code == 401
    assert "not known to this feed" in answer.get_data(as_text=True)
    assert "Sign out" not in site.page("/ui/")


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_forms_without_the_sessions_token_are_400(site: Site, token: str | None) -> None:
    record = site.push("Acme.Web", "1.0.0")
    site.sign_in()
    data = {} if token is None else {"csrf_token": token}
    for path in ("/ui/packages/Acme.Web/1.0.0/delete", "/ui/sign-out", "/ui/sign-in"):
        answer = site.client.post(path, data={**data, "api_key": ADMIN_KEY}, headers=HTML)
        assert answer.status_code == 400, path
        assert "no valid CSRF token" in answer.get_data(as_text=True)
    assert site.app.extensions["octopack"].repository.get(record.id, record.version)


def test_admin_actions_change_the_feed_through_the_core(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    site.push("Acme.Web", "1.1.0")
    site.sign_in()
    feed = site.app.extensions["octopack"]

    def act(action: str, version: str = "1.0.0") -> Any:
        token = site.token("/ui/")  # one token per session, on every page's forms
        return site.client.post(
            f"/ui/packages/Acme.Web/{version}/{action}", data={"csrf_token": token}
        )

    answer = act("unlist")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/packages/Acme.Web/1.0.0"
    assert not feed.repository.get("Acme.Web", "1.0.0").listed
    assert "Unlisted Acme.Web 1.0.0." in site.page("/ui/packages/Acme.Web/1.0.0")
    act("relist")
    assert feed.repository.get("Acme.Web", "1.0.0").listed
    act("pin")
    pins = [(p.id, p.version, p.pinned_by) for p in feed.retention.pins()]
    assert pins == [("Acme.Web", "1.0.0", "config-1")]
    assert ">Unpin 1.0.0<" in site.page("/ui/packages/Acme.Web/1.0.0")
    act("unpin")
    assert feed.retention.pins() == []
    answer = act("delete")
    assert answer.headers["Location"] == "/ui/packages/Acme.Web"
    assert [r.version for r in feed.repository.list_versions("Acme.Web")] == ["1.1.0"]
    answer = act("delete", "1.1.0")
    assert answer.headers["Location"] == "/ui/"
    assert site.client.get("/api/packages/packages-Acme.Web.1.1.0").status_code == 404
    assert act("frobnicate", "1.1.0").status_code == 404


def test_actions_need_an_admin_key(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    feed = site.app.extensions["octopack"]
    _, reader = feed.keys.create("read", "reader")
    token = site.token("/ui/sign-in")
    anonymous = site.client.post("/ui/packages/Acme.Web/1.0.0/delete", data={"csrf_token": token})
    assert anonymous.status_code == 403
    assert site.sign_in(reader).status_code == 303
    html = site.page("/ui/packages/Acme.Web")
    assert "Delete 1.0.0" not in html and ">Retention</a>" not in html
    token = site.token("/ui/packages/Acme.Web")
    refused = site.client.post("/ui/packages/Acme.Web/1.0.0/delete", data={"csrf_token": token})
    assert refused.status_code == 403 and "sign in with an admin key" in refused.get_data(True)
    assert feed.repository.list_versions("Acme.Web")


def test_a_revoked_key_is_signed_out(site: Site) -> None:
    feed = site.app.extensions["octopack"]
    _, plain = feed.keys.create("admin", "short-lived")
    site.sign_in(plain)
    assert "Sign out short-lived" in site.page("/ui/")
    feed.keys.revoke("short-lived")
    assert "Sign out" not in site.page("/ui/")


def test_sign_out_ends_the_session(site: Site) -> None:
    site.sign_in()
    answer = site.client.post("/ui/sign-out", data={"csrf_token": site.token("/ui/")})
    assert answer.status_code == 303
    assert "Sign out" not in site.page("/ui/")


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("/ui/environments", "/ui/environments"),
        ("//evil.example/x", "/ui/"),
        ("https://evil.example/", "/ui/"),
        ("/\\evil.example", "/ui/"),
    ],
)
def test_sign_in_returns_only_to_local_pages(site: Site, asked: str, lands: str) -> None:
    token = site.token()
    answer = site.client.post(
        "/ui/sign-in", data={"api_key": ADMIN_KEY, "csrf_token": token, "next": asked}
    )
    assert answer.headers["Location"] == lands


def test_a_private_feed_shows_only_the_sign_in_page(disk_backend, clock, tmp_path) -> None:
    app = make_app(disk_backend.storage, clock, private=True)
    client = app.test_client()
    for path in ("/", "/ui/", "/ui/environments", "/ui/packages/Acme.Web", "/ui/retention"):
        answer = client.get(path, headers=HTML)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/ui/sign-in?next="), path
    form = client.get("/ui/sign-in", headers=HTML).get_data(as_text=True)
    assert "This feed is private" in form and ">Environments</a>" not in form
    assert client.get("/ui/static/octopack.css").status_code == 200
    assert client.get("/").json["Application"] == "octopack"  # clients keep today's answer
    assert client.get("/api/packages").status_code == 401
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    signed = client.post(
        "/ui/sign-in", data={"api_key": ADMIN_KEY, "csrf_token": token, "next": "/ui/environments"}
    )
    assert signed.headers["Location"] == "/ui/environments"
    assert client.get("/ui/environments", headers=HTML).status_code == 200


def test_every_process_shares_one_stored_secret(disk_backend, clock) -> None:
    first = make_app(disk_backend.storage, clock)
    second = make_app(disk_backend.storage, clock)
    client = first.test_client()
    token = client.get("/ui/sign-in").get_data(as_text=True).split('value="')[1].split('"')[0]
    client.post("/ui/sign-in", data={"api_key": ADMIN_KEY, "csrf_token": token})
    cookie = client.get_cookie("octopack_session")
    assert cookie is not None
    other = second.test_client()
    other.set_cookie("octopack_session", cookie.value)
    assert "Sign out" in other.get("/ui/", headers=HTML).get_data(as_text=True)
    assert disk_backend.storage.stat(SECRET_KEY).size > 64


def test_api_requests_never_open_a_session(disk_backend, clock) -> None:
    app = make_app(disk_backend.storage, clock)
    client = app.test_client()
    for path in ("/api/packages", "/health", "/v3/index.json", "/"):
        answer = client.get(path)
        assert "Set-Cookie" not in answer.headers, path
    assert [i.key for i in disk_backend.storage.list("site/")] == []
