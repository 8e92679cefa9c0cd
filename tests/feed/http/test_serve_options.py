"""`octopack serve` options that reach FeedConfig: --cache-max-age, --trust-proxy, --nuget-delete."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from packer.cli import main
from tests.feed.packages import make_nupkg
from tests.helpers.feed_server import ADMIN_KEY, feed_process

ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}


def test_help_names_the_options_and_their_variables() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for expected in (
        "--cache-max-age SECONDS",
        "OCTOPACK_CACHE_MAX_AGE",
        "--trust-proxy",
        "OCTOPACK_TRUST_PROXY",
        "--nuget-delete [unlist|delete]",
        "OCTOPACK_NUGET_DELETE",
    ):
        assert expected in text


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--nuget-delete", "wipe"], "'wipe'"),
        (["--cache-max-age", "-1"], "-1"),
        (["--cache-max-age", "soon"], "'soon'"),
    ],
)
def test_bad_values_exit_2_naming_the_value(tmp_path, args, named) -> None:
    result = CliRunner().invoke(main, ["serve", "--storage", str(tmp_path / "s"), *args])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert not (tmp_path / "s").exists()  # refused before anything was opened or created


@pytest.mark.slow
def test_options_reach_the_running_feed(tmp_path) -> None:
    package = make_nupkg(tmp_path, "Acme.Lib.3.1.0.nupkg", "Acme.Lib", "3.1.0")
    args = ["--nuget-delete", "delete", "--trust-proxy", "--cache-max-age", "0"]
    with feed_process(str(tmp_path / "store"), args=args) as feed:
        with package.open("rb") as body:
            pushed = requests.post(
                feed.url + "/api/packages/raw", files={"file": body}, headers=ADMIN, timeout=30
            )
        assert pushed.status_code == 201, pushed.text
        index = requests.get(
            feed.url + "/v3/index.json", headers={"X-Forwarded-Host": "feed.example"}, timeout=10
        ).json()
        assert index["resources"][0]["@id"].startswith("http://feed.example/")
        gone = requests.delete(
            feed.url + "/v3/package/Acme.Lib/3.1.0", headers={"X-NuGet-ApiKey": ADMIN_KEY}
        )
        assert gone.status_code == 204, gone.text
        detail = requests.get(feed.url + "/api/packages/packages-Acme.Lib.3.1.0", timeout=10)
        assert detail.status_code == 404  # deleted for good, not only unlisted
