"""The web page's HTML routes through Flask's test client: negotiation, pages, their facts."""

from __future__ import annotations

import pytest

from tests.feed.http.web.conftest import HTML, Site


def test_browsers_get_the_page_at_the_root_and_clients_keep_json(site: Site) -> None:
    page = site.client.get("/", headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<h1>Packages</h1>" in page.get_data(as_text=True)
    assert {"Accept", "User-Agent"} <= set(page.vary)
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        answer = site.client.get("/", headers=headers)
        assert answer.status_code == 200 and answer.json["Application"] == "octopack", headers
        assert "Accept" in answer.vary and "Set-Cookie" not in answer.headers
    nuget = site.client.get("/", headers={**HTML, "User-Agent": "NuGet Command Line/6.8"})
    assert nuget.status_code == 302 and nuget.headers["Location"].endswith("/api/v2/")


def test_home_lists_latest_versions_with_environment_badges(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    site.push("Acme.Web", "1.1.0")
    site.push("Acme.Api", "2.0.0-beta.1")
    site.report("Acme.Web", "1.0.0", "Production", "web-01")
    site.report("Acme.Web", "1.1.0", "Staging", "stage-01", status="failed")
    html = site.page("/ui/")
    assert html.count("<tr>") == 3  # the header and two packages
    assert "/ui/packages/Acme.Web" in html and ">1.1.0" in html and "1.0.0</td>" not in html
    assert "prerelease</span>" in html and "zip" in html
    assert '<span class="badge">Production 1.0.0</span>' in html
    assert '<span class="badge failed">Staging' in html and "(last deployment failed)" in html


def test_search_finds_ids_containing_the_text(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    site.push("Acme.Api", "1.0.0")
    html = site.page("/ui/", query_string={"q": "api"})
    assert "/ui/packages/Acme.Api" in html and "/ui/packages/Acme.Web" not in html
    assert "1 package whose id contains" in html
    assert "No packages match" in site.page("/ui/", query_string={"q": "nothing-like-it"})


def test_package_page_shows_versions_contents_and_commands(site: Site) -> None:
    old = site.push("Acme.Web", "1.0.0")
    site.push("Acme.Web", "1.1.0-rc.1")
    site.push("Acme.Web", "0.9.0")
    site.app.extensions["octopack"].repository.set_listed("Acme.Web", "0.9.0", False)
    site.report("Acme.Web", "1.0.0", "Production", "web-01")
    site.report("Acme.Web", "1.0.0", "Production", "web-02")
    html = site.page("/ui/packages/acme.web/1.0")  # any case, matched by value
    rows = [html.index(f">{v}</a>") for v in ("1.1.0-rc.1", "1.0.0", "0.9.0")]
    assert rows == sorted(rows), "versions newest first"
    assert "unlisted</span>" in html and "prerelease</span>" in html
    assert old.sha256 in html and old.sha1 in html and old.sha512 in html
    assert "<code>Deploy.sh</code>" in html and "app/*.json" in html
    assert "<code>true</code> (1 attempts)" in html
    assert "2 targets (web-01, web-02)" in html
    assert "octopack deploy Acme.Web --version 1.0.0 --server http://localhost" in html
    assert "http://localhost/v3/index.json" in html and "http://localhost/api/v2/" in html
    assert "nuget install" not in html  # a zip is no NuGet package
    assert "/api/packages/packages-Acme.Web.1.0.0/raw" in html


def test_package_page_defaults_to_the_newest_listed_version(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    site.push("Acme.Web", "2.0.0")
    site.app.extensions["octopack"].repository.set_listed("Acme.Web", "2.0.0", False)
    html = site.page("/ui/packages/Acme.Web")
    assert '<h2 id="chosen">Acme.Web 1.0.0' in html


@pytest.mark.parametrize("path", ["/ui/packages/Nope", "/ui/packages/Acme.Web/9.9.9"])
def test_missing_packages_are_404_pages(site: Site, path: str) -> None:
    site.push("Acme.Web", "1.0.0")
    answer = site.client.get(path, headers=HTML)
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "is not in the feed" in answer.get_data(as_text=True)


def test_environments_dashboard_marks_a_failed_last_deployment(site: Site) -> None:
    site.push("Acme.Web", "1.0.0")
    site.push("Acme.Web", "1.1.0")
    site.push("Acme.Api", "3.0.0")
    site.report("Acme.Web", "1.0.0", "Production", "web-01")
    site.report("Acme.Web", "1.0.0", "Production", "web-02")
    site.report("Acme.Web", "1.1.0", "Production", "web-01", status="failed")
    site.report("Acme.Api", "3.0.0", "Staging", "api-01")
    html = site.page("/ui/environments")
    assert '<th scope="col">Production</th>' in html and '<th scope="col">Staging</th>' in html
    web_row = html[html.index(">Acme.Web</a>") :]
    web_row = web_row[: web_row.index("</tr>")]
    assert 'class="cell failed"' in web_row and "last deployment failed" in web_row
    assert ">1.0.0</a>" in web_row and "1 target" in web_row  # web-01 now reports a failure
    api_row = html[html.index(">Acme.Api</a>") :]
    api_row = api_row[: api_row.index("</tr>")]
    assert 'class="cell"' in api_row and "1 target<" in api_row and "—" in api_row


def test_environments_without_reports_says_so(site: Site) -> None:
    assert "No deployments reported yet" in site.page("/ui/environments")


def test_retention_page_needs_an_admin_and_shows_rule_texts(site: Site) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        site.push("Acme.Web", version)
    site.app.extensions["octopack"].retention.set_policy(None, _rules(keep_last=1))
    site.clock.advance(minutes=1)  # the run starts after the last push
    refused = site.client.get("/ui/retention", headers=HTML)
    assert refused.status_code == 403 and "sign in with an admin key" in refused.get_data(True)
    site.sign_in()
    html = site.page("/ui/retention")
    assert "<code>--keep-last 1</code>" in html
    would = html[html.index("What a run would delete now") : html.index("<details>")]
    assert ">1.0.0</a>" in would and ">1.1.0</a>" in would and "1.2.0" not in would
    assert "beyond newest 1 stable" in would and "Acme.Web 1.2.0: latest stable" in html
    versions = site.app.extensions["octopack"].repository.list_versions("Acme.Web")
    assert len(versions) == 3, "the page only plans"


def test_static_css_is_served_by_the_feed(site: Site) -> None:
    css = site.client.get("/ui/static/octopack.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    html = site.page("/ui/")
    assert "http://" not in html.split("<main")[0].replace("http://localhost", "")
    assert "<script" not in html


def _rules(**values: int):
    from feed.retention.policy import Rules

    return Rules(**values)
