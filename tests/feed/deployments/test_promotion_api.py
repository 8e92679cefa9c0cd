"""Lifecycles and channels over HTTP, on disk and on moto S3: CRUD, scopes, resolution."""

from __future__ import annotations

import pytest

from feed.core.channels import MAX_TAG
from tests.feed.deployments.conftest import Api


def test_lifecycles_crud_and_resolution(admin, api) -> None:
    assert api.get("lifecycles").json() == {"default": None, "packages": []}
    put = admin.send("PUT", "lifecycles", json={"phases": ["Test", "Production"]})
    assert put.status_code == 200
    assert put.json() == {"default": ["Test", "Production"], "packages": []}
    admin.send("PUT", "lifecycles", json={"phases": "Dev,Test,Production", "package": "Acme.*"})
    admin.send("PUT", "lifecycles", json={"phases": ["QA", "Live"], "package": "Acme.Web.*"})
    admin.send("PUT", "lifecycles", json={"phases": ["Staging"], "package": "Acme.Web.Api"})
    assert api.get("lifecycles").json() == {
        "default": ["Test", "Production"],
        "packages": [
            ["Acme.*", ["Dev", "Test", "Production"]],
            ["Acme.Web.*", ["QA", "Live"]],
            ["Acme.Web.Api", ["Staging"]],
        ],
    }

    def phases(package_id: str):
        answer = api.get("lifecycles", package=package_id).json()
        assert answer["package"] == package_id
        return answer["phases"]

    assert phases("acme.web.api") == ["Staging"]  # exact id beats every glob
    assert phases("Acme.Web.Ui") == ["QA", "Live"]  # the longest glob wins
    assert phases("Acme.Db") == ["Dev", "Test", "Production"]
    assert phases("Other") == ["Test", "Production"]  # the default

    cleared = admin.send("DELETE", "lifecycles", params={"package": "acme.web.*"})
    assert cleared.status_code == 200
    assert phases("Acme.Web.Ui") == ["Dev", "Test", "Production"]
    assert admin.send("DELETE", "lifecycles", params={"package": "Nope.*"}).status_code == 404
    assert admin.send("DELETE", "lifecycles").json()["default"] is None
    assert phases("Other") is None


@pytest.mark.parametrize(
    "body",
    [
        {"phases": []},
        {"phases": ["Test", "test"]},
        {"phases": ["../etc"]},
        {"phases": ["Test"], "package": "a/b"},
        {"package": "Acme.*"},
    ],
)
def test_bad_lifecycles_are_refused(admin, body) -> None:
    response = admin.send("PUT", "lifecycles", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["ErrorMessage"]


def test_changing_lifecycles_and_channels_needs_admin(api, feed, keys) -> None:
    for scope in ("read", "deploy", "push"):
        key = Api(feed.url, keys[scope])
        assert key.send("PUT", "lifecycles", json={"phases": ["Test"]}).status_code == 403
        assert key.send("DELETE", "lifecycles").status_code == 403
        assert key.send("PUT", "channels", json={"name": "b", "tag": "^b"}).status_code == 403
        assert key.send("DELETE", "channels", params={"name": "b"}).status_code == 403
        assert key.get("lifecycles").status_code == 200
        assert key.get("channels").status_code == 200


def test_channels_crud_and_resolution(admin, api) -> None:
    assert api.get("channels").json() == {"channels": []}
    stable = {"name": "release", "range": "[1.0,2.0)", "tag": "^$", "package": None}
    assert admin.send("PUT", "channels", json=stable).json() == stable
    acme = {"name": "release", "range": "[2.0,3.0)", "tag": None, "package": "Acme.*"}
    web = {"name": "release", "range": "[3.0,4.0)", "tag": None, "package": "Acme.Web.*"}
    exact = {"name": "release", "range": "[4.0,5.0)", "tag": None, "package": "Acme.Web.Api"}
    beta = {"name": "beta", "range": None, "tag": "^beta", "package": "Acme.*"}
    for body in (web, acme, exact, beta):
        assert admin.send("PUT", "channels", json=body).status_code == 200
    listed = api.get("channels").json()["channels"]
    assert listed == [beta, exact, web, acme, stable]  # by name, most specific first

    def resolved(package_id: str, **params):
        return api.get("channels", package=package_id, **params).json()["channels"]

    assert resolved("Acme.Web.Api") == [beta, exact]
    assert resolved("Acme.Web.Ui") == [beta, web]
    assert resolved("Acme.Db", name="release") == [acme]
    assert resolved("Other") == [stable]  # beta is only for Acme.*

    replaced = {**acme, "range": "[2.5,3.0)"}
    admin.send("PUT", "channels", json=replaced)
    assert resolved("Acme.Db", name="RELEASE") == [replaced]

    one = admin.send("DELETE", "channels", params={"name": "release", "package": "acme.*"})
    assert one.json() == {"deleted": [replaced]}
    assert resolved("Acme.Db", name="release") == [stable]
    every = admin.send("DELETE", "channels", params={"name": "release"})
    assert len(every.json()["deleted"]) == 3
    assert api.get("channels").json()["channels"] == [beta]
    assert admin.send("DELETE", "channels", params={"name": "release"}).status_code == 404
    assert admin.send("DELETE", "channels").status_code == 400


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "x", "tag": "(unclosed"}, "not a regular expression"),
        ({"name": "x", "tag": "a" * (MAX_TAG + 1)}, "tag: "),
        ({"name": "x", "range": "[2.0"}, "range"),
        ({"name": "x"}, "needs a --range, a --tag"),
        ({"name": "../x", "tag": "^$"}, "channel name"),
        ({"name": "x", "tag": "^$", "package": "a/b"}, "package pattern"),
        (["x"], "JSON object"),
    ],
)
def test_bad_channels_are_refused(admin, body, words) -> None:
    response = admin.send("PUT", "channels", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["ErrorMessage"]
