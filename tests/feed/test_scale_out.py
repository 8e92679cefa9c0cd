"""Two `octopack serve` processes on one storage (a disk folder, one moto bucket) take a
mixed load spread over both: afterwards both answer identically, no push is lost or doubled.

Races are decided by the storage, so each same-version pair pushed to both processes at
once ends with exactly one 201 and one 409, whatever the order. moto checks conditions
without a lock, so on S3 the processes reach moto through the serialising fault proxy
(tests/storage/s3_fault_proxy.py): this shows our logic, not S3's atomicity.
"""

from __future__ import annotations

import random
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.helpers.feed_server import ADMIN_KEY, feed_process
from tests.helpers.moto_server import create_bucket, s3_environment
from tests.storage.s3_fault_proxy import s3_fault_proxy

IDS = ("Scale.Alpha", "Scale.Beta", "Scale.Gamma")
HEADERS = {"X-Octopus-ApiKey": ADMIN_KEY}
PUSHES = 36
RACES = 8
DELETES = 8


def make_package(folder: Path, package_id: str, version: str, salt: str) -> Path:
    path = folder / salt / f"{package_id}.{version}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("salt.txt", salt)
    return path


def push(url: str, path: Path) -> int:
    with path.open("rb") as stream:
        return requests.post(
            f"{url}/api/packages/raw",
            files={"file": (path.name, stream)},
            headers=HEADERS,
            timeout=60,
        ).status_code


def listing(url: str, package_id: str) -> list[tuple[str, str]]:
    response = requests.get(
        f"{url}/api/feeds/feeds-builtin/packages/versions",
        params={"packageId": package_id, "take": 1000, "includePreRelease": "true"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [(item["Version"], item["Published"]) for item in response.json()["Items"]]


@pytest.fixture(params=["disk", "s3"])
def shared_location(request, tmp_path: Path):
    """One storage both processes open, with the environment their children need."""
    if request.param == "disk":
        yield str(tmp_path / "store"), None
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    with s3_fault_proxy(endpoint, serialise_conditional=True) as proxy:
        bucket = create_bucket(endpoint)
        yield f"s3://{bucket}/feed", s3_environment(proxy.url)


def test_two_feed_processes_share_one_storage(shared_location, tmp_path: Path) -> None:
    location, env = shared_location
    rng = random.Random(15)
    with ExitStack() as stack:
        feeds = [stack.enter_context(feed_process(location, env=env)) for _ in range(2)]
        urls = [feed.url for feed in feeds]
        sent: Counter[str] = Counter()

        def send(index: int, operation, *args):  # noqa: ANN001, ANN202
            sent[urls[index]] += 1
            return operation(urls[index], *args)

        singles = [(IDS[n % 3], f"2.0.{n}") for n in range(PUSHES)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(
                pool.map(
                    lambda n: send(n % 2, push, make_package(tmp_path, *singles[n], f"s{n}")),
                    range(PUSHES),
                )
            )
            raced = [(IDS[n % 3], f"3.0.{n}") for n in range(RACES)]
            race_statuses = list(
                pool.map(
                    lambda job: send(
                        job % 2, push, make_package(tmp_path, *raced[job // 2], f"r{job}")
                    ),
                    range(2 * RACES),
                )
            )
            deleted = rng.sample(singles, DELETES)
            delete_statuses = list(
                pool.map(
                    lambda n: (
                        send(
                            n % 2,
                            lambda url, ref: requests.delete(
                                url + ref, headers=HEADERS, timeout=60
                            ),
                            f"/api/packages/packages-{deleted[n][0]}.{deleted[n][1]}",
                        ).status_code
                    ),
                    range(DELETES),
                )
            )
            answers = {
                package_id: [send(i, listing, package_id) for i in range(2)] for package_id in IDS
            }
        kind = "s3" if location.startswith("s3://") else "disk"
        print(f"\nscale-out on {kind}: requests per process {dict(sent)}")
    assert statuses == [201] * PUSHES
    for pair in range(RACES):
        assert sorted(race_statuses[2 * pair : 2 * pair + 2]) == [201, 409]
    assert len(set(delete_statuses)) == 1 and delete_statuses[0] in (200, 204)
    expected = {*singles, *raced} - set(deleted)
    for package_id, (first, second) in answers.items():
        assert first == second, package_id  # identical answers from both processes
        versions = [version for version, _ in first]
        assert len(versions) == len(set(versions))  # nothing doubled
        assert set(versions) == {v for i, v in expected if i == package_id}  # nothing lost
    assert min(sent.values()) >= (PUSHES + 2 * RACES + DELETES) // 2
