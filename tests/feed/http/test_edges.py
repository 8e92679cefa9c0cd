"""The edges of HTTP: malformed chunks, too many multipart parts, HEAD of a nuspec, and a
nuspec whose part name is URI-escaped. Each against a real feed on loopback; the chunk
case also against a real `octopack serve` (gunicorn parses chunks itself)."""

from __future__ import annotations

import shutil
import socket
import zipfile
from pathlib import Path

import pytest
import requests

from tests.feed.http.nuget.packages import make_package
from tests.helpers.feed_server import ADMIN_KEY, feed_process, running_feed

BAD_CHUNKED = (
    b"POST /api/packages/raw HTTP/1.1\r\nHost: x\r\nX-Octopus-ApiKey: "
    + ADMIN_KEY.encode()
    + b"\r\nContent-Type: multipart/form-data; boundary=b\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz-not-hex\r\nabc\r\n0\r\n\r\n"
)


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes, read the whole answer (the server closes the connection)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_malformed_chunk_size_is_400_in_process(tmp_path: Path) -> None:
    with running_feed(tmp_path / "store") as feed:
        answer = raw_exchange(feed.url, BAD_CHUNKED)
        assert status_of(answer) == 400, answer[:400]
        assert b"the request body is malformed" in answer
        assert requests.get(f"{feed.url}/health", timeout=10).status_code == 200


def test_a_malformed_chunk_size_is_400_under_gunicorn(tmp_path: Path) -> None:
    with feed_process(str(tmp_path / "store")) as feed:
        answer = raw_exchange(feed.url, BAD_CHUNKED)
        assert status_of(answer) == 400, answer[:400]
        assert requests.get(f"{feed.url}/health", timeout=10).status_code == 200


def test_over_a_thousand_parts_is_400_naming_the_parts(tmp_path: Path) -> None:
    fields = [(f"f{i}", (None, "x")) for i in range(1001)]
    with running_feed(tmp_path / "store") as feed:
        response = requests.post(
            f"{feed.url}/api/packages/raw",
            files=fields,
            headers={"X-Octopus-ApiKey": ADMIN_KEY},
            timeout=30,
        )
    assert response.status_code == 400, response.text
    assert "more than 1000 parts" in response.json()["ErrorMessage"]
    assert "larger than" not in response.text


def escaped_nuspec_package(folder: Path) -> Path:
    """A real nupkg whose nuspec part is stored as `Acme.Web%2Enuspec` (legal OPC escaping)."""
    plain = make_package(folder, "Acme.Web", "1.0.0")
    escaped = folder / "escaped" / plain.name
    escaped.parent.mkdir()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(escaped, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "Acme.Web.nuspec":
                info.filename = "Acme.Web%2Enuspec"
            target.writestr(info, data)
    shutil.rmtree(plain.parent)
    return escaped


@pytest.fixture
def nuspec_feed(tmp_path: Path):
    with running_feed(tmp_path / "store") as feed:
        yield feed


def test_head_of_a_nuspec_has_the_get_content_length(nuspec_feed, tmp_path: Path) -> None:
    package = make_package(tmp_path, "Acme.Web", "1.0.0")
    nuspec_feed.repository.add_package(package, package.name)
    url = f"{nuspec_feed.url}/v3/flatcontainer/acme.web/1.0.0/acme.web.nuspec"
    got = requests.get(url, timeout=10)
    head = requests.head(url, timeout=10)
    assert got.status_code == head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(got.content) > 0
    assert head.content == b""


def test_an_escaped_nuspec_accepted_on_push_is_served(nuspec_feed, tmp_path: Path) -> None:
    package = escaped_nuspec_package(tmp_path)
    with package.open("rb") as body:
        pushed = requests.put(
            f"{nuspec_feed.url}/api/v2/package",
            files={"package": ("package.nupkg", body)},
            headers={"X-NuGet-ApiKey": ADMIN_KEY},
            timeout=30,
        )
    assert pushed.status_code == 201, pushed.text
    url = f"{nuspec_feed.url}/v3/flatcontainer/acme.web/1.0.0/acme.web.nuspec"
    served = requests.get(url, timeout=10)
    assert served.status_code == 200 and b"<id>Acme.Web</id>" in served.content
