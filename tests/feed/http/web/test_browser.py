"""The web page in a real browser: Playwright driving Debian's chromium against `octopack serve`.

The feed runs as a real gunicorn process with two workers, so a session signed in by one
worker must be honoured by the other (the secret is shared through storage). Packages
are pushed and deployments reported through the HTTP API, as pipelines and targets do.
Screenshots (desktop 1280 and phone 390 wide) go under the test's tmp_path; their paths
are printed. Without chromium or playwright the tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.feed.http.web.conftest import WEB_FILES
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, FeedProcess, feed_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
HEADERS = {"X-Octopus-ApiKey": ADMIN_KEY}


def _missing_browser() -> str | None:
    """Say why no browser test can run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for this module; skipped locally (failed under CI) without one."""
    reason = _missing_browser()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        print(f"skipping browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def push(feed: FeedProcess, folder: Path, package_id: str, version: str) -> None:
    """Push a real zip through the Octopus API."""
    path = make_zip(folder, f"{package_id}.{version}.zip", WEB_FILES)
    with path.open("rb") as stream:
        answer = requests.post(
            f"{feed.url}/api/packages/raw",
            files={"file": (path.name, stream, "application/zip")},
            headers=HEADERS,
            timeout=30,
        )
    assert answer.status_code == 201, answer.text


def report(
    feed: FeedProcess,
    package_id: str,
    version: str,
    env: str,
    target: str,
    status: str,
    minutes_ago: int,
) -> None:
    """Report a deployment through the deployments API, as a target does after a deploy."""
    finished = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    body = {
        "id": str(uuid.uuid4()),
        "package_id": package_id,
        "version": version,
        "environment": env,
        "target": target,
        "status": status,
        "started": (finished - timedelta(seconds=40)).isoformat(),
        "finished": finished.isoformat(),
    }
    answer = requests.post(
        f"{feed.url}/api/octopack/deployments", json=body, headers=HEADERS, timeout=10
    )
    assert answer.status_code == 201, answer.text


@pytest.fixture(scope="module")
def feed(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeedProcess]:
    """A two-worker feed with packages, deployments and a retention policy in it."""
    folder = tmp_path_factory.mktemp("web-feed")
    with feed_process(str(folder / "store"), workers=2) as running:
        for package_id, version in [
            ("Acme.Web", "1.0.0"),
            ("Acme.Web", "1.1.0"),
            ("Acme.Web", "1.2.0-beta.1"),
            ("Acme.Api", "2.0.0"),
            ("Acme.Api", "2.1.0"),
            ("Acme.Worker", "0.9.0"),
        ]:
            push(running, folder, package_id, version)
        report(running, "Acme.Web", "1.0.0", "Production", "web-01", "succeeded", 50)
        report(running, "Acme.Web", "1.0.0", "Production", "web-02", "succeeded", 49)
        report(running, "Acme.Web", "1.1.0", "Staging", "stage-01", "succeeded", 30)
        report(running, "Acme.Web", "1.1.0", "Production", "web-01", "failed", 10)
        report(running, "Acme.Api", "2.1.0", "Production", "api-01", "succeeded", 20)
        report(running, "Acme.Api", "2.1.0", "Staging", "stage-01", "succeeded", 25)
        policy = {"package": None, "rules": {"keep_last": 1}}
        answer = requests.put(
            f"{running.url}/api/octopack/retention/policy", json=policy, headers=HEADERS, timeout=10
        )
        assert answer.status_code == 200, answer.text
        yield running


def new_page(browser: Any, viewport: dict[str, int] = DESKTOP) -> Any:
    """Open a page in a fresh context (its own cookies)."""
    return browser.new_context(viewport=viewport).new_page()


def sign_in(page: Any, feed: FeedProcess, key: str = ADMIN_KEY) -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{feed.url}/ui/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "Signed in as" in page.content()


def test_open_every_page_search_and_follow_links(browser: Any, feed: FeedProcess) -> None:
    page = new_page(browser)
    page.goto(feed.url + "/")
    assert page.title() == "Packages · octopack feed"
    home = page.locator("main")
    assert home.get_by_role("link", name="Acme.Worker").is_visible()
    assert home.locator(".badge", has_text="Production 1.0.0").count() == 1
    assert home.locator(".badge.failed").count() == 1  # Acme.Web in Production failed last

    page.get_by_label("Search package ids").fill("api")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/?q=api")
    assert page.locator("main tbody tr").count() == 1
    page.get_by_role("link", name="Acme.Api").click()
    page.wait_for_url("**/ui/packages/Acme.Api")
    rows = page.locator("main table tbody th a").all_inner_texts()
    assert rows == ["2.1.0", "2.0.0"]
    assert (
        page.get_by_label("Deploy with octopack")
        .input_value()
        .startswith(f"octopack deploy Acme.Api --version 2.1.0 --server {feed.url}")
    )
    assert page.locator("code", has_text="Deploy.sh").count() == 1

    page.get_by_role("link", name="Environments").click()
    page.wait_for_url("**/ui/environments")
    failed = page.locator("td.failed")
    assert failed.count() == 1 and "last deployment failed" in failed.inner_text()
    assert "1.0.0" in failed.inner_text() and "1 target" in failed.inner_text()
    red = failed.evaluate("cell => getComputedStyle(cell).color")
    assert red == "rgb(164, 0, 27)"
    page.get_by_role("link", name="1.1.0").first.click()
    page.wait_for_url("**/ui/packages/Acme.Web/1.1.0")
    assert "stage-01" in page.locator("main").inner_text()
    page.context.close()


def test_sign_in_delete_a_version_and_it_is_gone_from_the_api(
    browser: Any, feed: FeedProcess, tmp_path: Path
) -> None:
    push(feed, tmp_path, "Acme.Old", "1.0.0")
    page = new_page(browser)
    sign_in(page, feed)
    cookie = next(c for c in page.context.cookies() if c["name"] == "octopack_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    for _ in range(4):  # two workers: every request must honour the session
        page.goto(f"{feed.url}/ui/retention")
        assert page.locator("h1").inner_text() == "Retention"
    assert "beyond newest 1 stable" in page.locator("main").inner_text()
    page.goto(f"{feed.url}/ui/packages/Acme.Old/1.0.0")
    page.get_by_role("button", name="Delete 1.0.0").click()
    page.wait_for_url(f"{feed.url}/ui/")
    assert "Deleted Acme.Old 1.0.0." in page.locator("[role=status]").inner_text()
    gone = requests.get(f"{feed.url}/api/packages/packages-Acme.Old.1.0.0", timeout=10)
    assert gone.status_code == 404
    page.context.close()


def test_a_form_without_its_csrf_token_is_refused(browser: Any, feed: FeedProcess) -> None:
    page = new_page(browser)
    sign_in(page, feed)
    page.goto(f"{feed.url}/ui/packages/Acme.Worker/0.9.0")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_response(lambda r: r.url.endswith("/unlist")) as answer:
        page.get_by_role("button", name="Unlist 0.9.0").click()
    assert answer.value.status == 400
    assert "no valid CSRF token" in page.locator("[role=alert]").inner_text()
    detail = requests.get(f"{feed.url}/api/packages/packages-Acme.Worker.0.9.0", timeout=10)
    assert detail.status_code == 200  # still there
    versions = requests.get(
        f"{feed.url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": "Acme.Worker"},
        timeout=10,
    ).json()
    assert [item["Version"] for item in versions["Items"]] == ["0.9.0"]  # still listed
    page.context.close()


def test_keyboard_order_labels_and_contrast(browser: Any, feed: FeedProcess) -> None:
    page = new_page(browser)
    page.goto(f"{feed.url}/ui/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden])')]
             .filter(i => !i.labels || i.labels.length === 0).length"""
    )
    assert unlabelled == 0
    for selector in ("main p, main td", "main a", ".badge", ".mark", "button"):
        ratio = page.evaluate(CONTRAST_JS, selector)
        assert ratio is None or ratio >= 4.5, f"{selector}: contrast {ratio}"
    page.goto(f"{feed.url}/ui/environments")
    assert page.evaluate(CONTRAST_JS, "td.failed") >= 4.5
    page.context.close()


def test_pages_fit_a_phone_and_screenshots_are_saved(
    browser: Any, feed: FeedProcess, tmp_path: Path
) -> None:
    pages = {
        "home": "/",
        "package": "/ui/packages/Acme.Web/1.0.0",
        "environments": "/ui/environments",
        "retention": "/ui/retention",
    }
    saved = []
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_page(browser, viewport)
        sign_in(page, feed)
        for title, path in pages.items():
            page.goto(feed.url + path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= viewport["width"], f"{title} is {wide}px wide on a {name}"
            shot = tmp_path / f"{title}-{name}-{viewport['width']}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            saved.append(shot)
        page.context.close()
    for shot in saved:
        print(f"screenshot: {shot}")


def test_a_private_feed_shows_the_sign_in_page_only(browser: Any, tmp_path: Path) -> None:
    with feed_process(str(tmp_path / "store"), workers=2, args=["--private"]) as private:
        push(private, tmp_path, "Acme.Secret", "1.0.0")
        page = new_page(browser)
        for path in ("/", "/ui/environments", "/ui/packages/Acme.Secret"):
            page.goto(private.url + path)
            assert page.locator("h1").inner_text() == "Sign in", path
            assert page.get_by_role("link", name="Environments").count() == 0
            assert page.locator("main table").count() == 0  # nothing of the feed shows
            assert page.get_by_role("link", name="Acme.Secret").count() == 0
        sign_in(page, private)
        page.goto(private.url + "/ui/packages/Acme.Secret")
        assert page.locator("h1").inner_text() == "Acme.Secret"
        page.context.close()


CONTRAST_JS = """selector => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  let worst = null;
  for (const el of document.querySelectorAll(selector)) {
    if (!el.textContent.trim()) continue;
    const a = lum(rgb(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    worst = worst === null ? ratio : Math.min(worst, ratio);
  }
  return worst;
}"""
