"""`octopack keys` against storage directly and through a running feed's admin API."""

from __future__ import annotations

import json

import pytest
import requests
from click.testing import CliRunner

from packer.cli import main
from tests.feed.packages import make_zip
from tests.helpers.feed_server import running_feed


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["keys", *args])
    return result.exit_code, result.stdout, result.stderr


def _can_push(url: str, key: str, path) -> int:
    with path.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw",
            files={"f": (path.name, stream)},
            headers={"X-Octopus-ApiKey": key},
            timeout=10,
        ).status_code


@pytest.mark.parametrize("mode", ["storage", "server"])
def test_create_list_revoke(disk_feed, tmp_path, mode) -> None:
    if mode == "storage":
        where = ["--storage", str(disk_feed.storage.root)]
    else:
        where = ["--server", disk_feed.url, "--api-key", disk_feed.admin_key]
    code, out, _ = run(
        "create", "--scope", "push", "--name", "ci", *where, "--output-format", "json"
    )
    assert code == 0, out
    created = json.loads(out)
    assert (created["name"], created["scope"]) == ("ci", "push")
    assert _can_push(disk_feed.url, created["key"], make_zip(tmp_path, "Acme.K.1.0.0.zip")) == 201

    code, out, _ = run("list", *where, "--output-format", "json")
    assert code == 0 and [k["name"] for k in json.loads(out)["keys"]] == ["ci"]
    assert created["key"] not in out

    code, out, _ = run("create", "--scope", "push", "--name", "ci", *where)
    assert code == 1

    code, out, _ = run("revoke", "ci", *where)
    assert code == 0 and "'ci'" in out
    assert _can_push(disk_feed.url, created["key"], make_zip(tmp_path, "Acme.K.2.0.0.zip")) == 401
    code, _, err = run("revoke", "ci", *where)
    assert code == 1 and "ci" in err


def test_plain_text_output_prints_the_key_alone_on_stdout(disk_feed) -> None:
    code, out, err = run("create", "--scope", "read", "--storage", str(disk_feed.storage.root))
    assert code == 0
    assert out.strip().startswith("API-") and len(out.strip().splitlines()) == 1
    assert "only time" in err


def test_usage_errors_exit_2(disk_feed) -> None:
    code, _, err = run("list")
    assert code == 2 and "--storage" in err
    code, _, err = run("list", "--server", disk_feed.url)
    assert code == 2 and "--api-key" in err
    code, _, _ = run("create", "--scope", "root", "--storage", str(disk_feed.storage.root))
    assert code == 2
    code, _, err = run(
        "create", "--scope", "read", "--name", "../x", "--storage", str(disk_feed.storage.root)
    )
    assert code == 2 and "'../x'" in err


def test_server_mode_with_a_non_admin_key_fails(disk_backend) -> None:
    with running_feed(disk_backend.storage) as feed:
        code, out, _ = run("create", "--scope", "read", "--storage", str(disk_backend.storage.root))
        reader = out.strip()
        code, _, err = run("list", "--server", feed.url, "--api-key", reader)
        assert code == 1 and "403" in err


@pytest.mark.parametrize("mode", ["storage", "server"])
def test_a_deploy_key_may_report_but_not_push(disk_feed, tmp_path, mode) -> None:
    if mode == "storage":
        where = ["--storage", str(disk_feed.storage.root)]
    else:
        where = ["--server", disk_feed.url, "--api-key", disk_feed.admin_key]
    code, out, _ = run("create", "--scope", "deploy", *where, "--output-format", "json")
    assert code == 0, out
    created = json.loads(out)
    assert created["scope"] == "deploy"
    assert _can_push(disk_feed.url, created["key"], make_zip(tmp_path, "Acme.K.1.0.0.zip")) == 403
    answer = requests.post(
        f"{disk_feed.url}/api/octopack/deployments",
        json={},
        headers={"X-Octopus-ApiKey": created["key"]},
        timeout=10,
    )
    assert answer.status_code == 400  # past the scope check: the empty record is refused
