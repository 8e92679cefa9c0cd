"""Races through real HTTP: many pushes of one version, exactly one wins.

On S3 this runs against moto, which checks If-None-Match without a lock: the test shows our
create-if-absent / loser-cleans-up logic, not S3's own atomicity.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.feed.conftest import stored_keys
from tests.feed.packages import digests, make_zip

PUSHERS = 20


def test_parallel_pushes_of_one_version_have_one_winner(feed, tmp_path) -> None:
    paths = []
    for n in range(PUSHERS):
        folder = tmp_path / f"p{n}"
        folder.mkdir()
        paths.append(make_zip(folder, "Acme.Race.1.0.0.zip", {"who.txt": f"pusher {n}".encode()}))
    barrier = threading.Barrier(PUSHERS)

    def push_one(path):
        data = path.read_bytes()
        barrier.wait()
        response = requests.post(
            f"{feed.url}/api/packages/raw",
            files={"package": (path.name, data)},
            headers={"X-Octopus-ApiKey": feed.admin_key},
            timeout=60,
        )
        return response, path

    with ThreadPoolExecutor(PUSHERS) as pool:
        results = list(pool.map(push_one, paths))

    codes = sorted(r.status_code for r, _ in results)
    assert codes == [201] + [409] * (PUSHERS - 1), [r.text for r, _ in results]
    winner_path = next(p for r, p in results if r.status_code == 201)
    winner_sha = digests(winner_path)["sha256"]
    detail = requests.get(f"{feed.url}/api/packages/packages-Acme.Race.1.0.0", timeout=10).json()
    assert detail["Sha256"] == winner_sha
    raw = requests.get(feed.url + detail["Links"]["Raw"], timeout=10)
    assert raw.content == winner_path.read_bytes()
    blob, record = stored_keys(feed.storage, "packages/")  # every loser removed its own blob
    assert record == "packages/acme.race/1.0.0/package.json"
    assert blob.startswith(f"packages/acme.race/1.0.0/{winner_sha}.") and blob.endswith(".zip")


def test_parallel_identical_pushes_leave_one_blob(feed, tmp_path) -> None:
    path = make_zip(tmp_path, "Acme.Same.1.0.0.zip")
    data = path.read_bytes()
    barrier = threading.Barrier(8)

    def push_one(_):
        barrier.wait()
        return requests.post(
            f"{feed.url}/api/packages/raw",
            params={"overwriteMode": "IgnoreIfExists"},
            files={"package": (path.name, data)},
            headers={"X-Octopus-ApiKey": feed.admin_key},
            timeout=60,
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(push_one, range(8)))
    assert codes == [200] * 7 + [201]
    raw = requests.get(f"{feed.url}/api/packages/packages-Acme.Same.1.0.0/raw", timeout=10)
    assert raw.status_code == 200 and raw.content == data
    blobs = [k for k in stored_keys(feed.storage, "packages/") if not k.endswith("package.json")]
    assert len(blobs) == 1  # each push wrote its own blob; the kept ones removed theirs
