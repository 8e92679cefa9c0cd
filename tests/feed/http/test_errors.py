"""Every error answers in the one JSON shape, with a message that names what was wrong."""

from __future__ import annotations

import requests


def test_unknown_route_is_json_404(disk_feed) -> None:
    response = requests.get(f"{disk_feed.url}/no/such/thing", timeout=10)
    assert response.status_code == 404
    body = response.json()
    assert "/no/such/thing" in body["ErrorMessage"] and body["Errors"] == [body["ErrorMessage"]]


def test_wrong_method_is_json_405_with_allow(disk_feed) -> None:
    response = requests.put(f"{disk_feed.url}/api/packages/raw", timeout=10)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "PUT" in response.json()["ErrorMessage"]


def test_unknown_package_is_json_404(disk_feed) -> None:
    response = requests.get(f"{disk_feed.url}/api/packages/packages-Nope.1.0.0", timeout=10)
    assert response.status_code == 404
    assert "Nope.1.0.0" in response.json()["ErrorMessage"]


def test_bad_query_values_are_400(disk_feed) -> None:
    url = f"{disk_feed.url}/api/feeds/feeds-builtin/packages/versions"
    missing = requests.get(url, timeout=10)
    assert missing.status_code == 400 and "packageId" in missing.json()["ErrorMessage"]
    bad_take = requests.get(url, params={"packageId": "A", "take": "lots"}, timeout=10)
    assert bad_take.status_code == 400 and "'lots'" in bad_take.json()["ErrorMessage"]
    bad_range = requests.get(url, params={"packageId": "A", "versionRange": "[1,"}, timeout=10)
    assert bad_range.status_code == 400 and "[1," in bad_range.json()["ErrorMessage"]


def test_api_root_spaces_and_health(disk_feed) -> None:
    root = requests.get(f"{disk_feed.url}/api", timeout=10).json()
    assert root["Links"]["Spaces"] == "/api/spaces"
    spaces = requests.get(f"{disk_feed.url}/api/spaces", timeout=10).json()
    assert [s["Id"] for s in spaces["Items"]] == ["Spaces-1"]
    one = requests.get(disk_feed.url + spaces["Items"][0]["Links"]["Self"], timeout=10)
    assert one.json()["Id"] == "Spaces-1"
    assert requests.get(f"{disk_feed.url}/api/spaces/Spaces-9", timeout=10).status_code == 404
    assert requests.get(f"{disk_feed.url}/health", timeout=10).json() == {"status": "ok"}


def test_failing_storage_is_json_503(tmp_path) -> None:
    """A store nobody answers for (a closed loopback port) gives 503, never a bare 500."""
    import boto3
    from botocore.config import Config

    from storage.s3 import S3Storage
    from tests.helpers.feed_server import free_port, running_feed
    from tests.helpers.moto_server import fake_aws_credentials

    endpoint = f"http://127.0.0.1:{free_port()}"
    with fake_aws_credentials():
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )
        storage = S3Storage("nobucket", endpoint_url=endpoint, client=client)
        with running_feed(storage) as feed:
            response = requests.get(
                f"{feed.url}/api/feeds/feeds-builtin/packages/versions",
                params={"packageId": "Acme.App"},
                timeout=30,
            )
    assert response.status_code == 503
    assert "storage is failing" in response.json()["ErrorMessage"]


def test_error_kinds_carry_no_status_and_map_in_one_place() -> None:
    from feed.core import errors
    from feed.http.errors import status_for
    from feed.retention.lease import LeaseHeld
    from packer.model.errors import BadInput, OperationFailed, PackerError
    from storage import InvalidKey, StorageError

    expected = {
        errors.BadRequest: 400,
        errors.PackageRefused: 400,
        errors.Unauthorized: 401,
        errors.Forbidden: 403,
        errors.PackageNotFound: 404,
        errors.PackageConflict: 409,
        LeaseHeld: 409,
        errors.PackageTooLarge: 413,
    }
    for kind, status in expected.items():
        assert "status" not in vars(kind) and "exit_code" not in vars(kind), kind
        assert isinstance(kind("x"), OperationFailed)
        assert status_for(kind("x")) == status, kind
    assert isinstance(errors.BadRequest("x"), BadInput)
    assert status_for(PackerError("x")) == 400
    assert status_for(InvalidKey("a/../b")) == 400
    assert status_for(StorageError("down")) == 503
    assert status_for(RuntimeError("bug")) == 500
