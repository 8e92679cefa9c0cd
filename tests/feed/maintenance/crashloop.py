"""The crash loop: SIGKILL a real `octopack serve` at random moments under a stream of
pushes, overwrites, deletes and retention runs; after each restart check what a client sees.

Used by tests/feed/maintenance/test_crash_loop.py (bounded for CI) and by bench runs with
more kills. A seeded RNG picks the operations and the moment of each kill; whatever the
moment, the invariants must hold, so nothing here depends on timing:

* every version a versions query shows downloads, and its bytes hash to the recorded SHA-256;
* `fsck --repair --grace 0` (with a clock past the retention lease of a killed job) leaves
  the storage clean: a second fsck finds nothing.

Most kills hit the gunicorn worker (the master respawns it); every `master_every`-th kill
takes the whole process group down and starts `octopack serve` again.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from tests.helpers.feed_server import ADMIN_KEY, FeedProcess, _wait_healthy, feed_process

IDS = ("Crash.Alpha", "Crash.Beta", "Crash.Gamma")
VERSIONS = [f"1.0.{n}" for n in range(6)]
HEADERS = {"X-Octopus-ApiKey": ADMIN_KEY}


@dataclass
class CrashFigures:
    """What a crash loop did and found."""

    kills: int = 0
    master_kills: int = 0
    operations: int = 0
    interrupted: int = 0
    inconsistencies: list[str] = field(default_factory=list)
    orphans_found: int = 0
    orphans_removed: int = 0
    findings_by_kind: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"crash loop: {self.kills} SIGKILLs ({self.master_kills} of the whole serve "
            f"process), {self.operations} operations ({self.interrupted} cut by a kill), "
            f"{len(self.inconsistencies)} inconsistencies; fsck orphans found "
            f"{self.orphans_found}, removed {self.orphans_removed}; findings {self.findings_by_kind}"
        )


class CrashLoop:
    """One seeded crash loop over a disk store in `folder`."""

    def __init__(self, folder: Path, seed: int = 15, master_every: int = 10) -> None:
        self.folder = folder
        self.store = str(folder / "store")
        self.spool = folder / "spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        self.master_every = master_every
        self.figures = CrashFigures()
        self.made = 0

    # -- the loop ------------------------------------------------------------------------

    def run(self, kills: int) -> CrashFigures:
        """Kill `kills` times, checking after each restart."""
        env = {**os.environ, "OCTOPACK_UPLOAD_DIR": str(self.spool)}
        while self.figures.kills < kills:
            with feed_process(self.store, env=env) as feed:
                for _ in range(self.master_every):
                    if self.figures.kills >= kills:
                        break
                    whole = (self.figures.kills + 1) % self.master_every == 0
                    self._round(feed, whole)
                    if whole:
                        break
                    _wait_healthy(feed)
                    self._check(feed)
            if self.figures.master_kills and self.figures.kills % self.master_every == 0:
                with feed_process(self.store, env=env) as feed:  # a start after a whole kill
                    self._check(feed)
        return self.figures

    def _round(self, feed: FeedProcess, whole: bool) -> None:
        """Run a few operations, then one more cut short by a SIGKILL at a random moment."""
        for _ in range(self.rng.randint(0, 3)):
            self._operation(feed.url)
        done = threading.Event()
        cut = threading.Thread(target=self._cut_operation, args=(feed.url, done), daemon=True)
        cut.start()
        time.sleep(self.rng.uniform(0, 0.03))  # the moment varies; no result depends on it
        if whole:
            os.killpg(feed.process.pid, signal.SIGKILL)
            feed.process.wait()
            self.figures.master_kills += 1
        else:
            for pid in _children(feed.process.pid):
                os.kill(pid, signal.SIGKILL)
        cut.join(timeout=60)
        self.figures.kills += 1
        if not done.is_set():
            self.figures.interrupted += 1

    def _cut_operation(self, url: str, done: threading.Event) -> None:
        try:
            self._operation(url)
            done.set()
        except requests.RequestException:
            pass

    # -- operations ----------------------------------------------------------------------

    def _operation(self, url: str) -> None:
        self.figures.operations += 1
        kind = self.rng.choices(["push", "overwrite", "delete", "retention"], [5, 2, 2, 1])[0]
        package_id, version = self.rng.choice(IDS), self.rng.choice(VERSIONS)
        if kind in ("push", "overwrite"):
            mode = "OverwriteExisting" if kind == "overwrite" else "FailIfExists"
            path = self._package(package_id, version)
            with path.open("rb") as stream:
                requests.post(
                    f"{url}/api/packages/raw",
                    params={"overwriteMode": mode},
                    files={"file": (path.name, stream)},
                    headers=HEADERS,
                    timeout=60,
                )
            path.unlink()
        elif kind == "delete":
            requests.delete(
                f"{url}/api/packages/packages-{package_id}.{version}", headers=HEADERS, timeout=60
            )
        else:
            requests.post(
                f"{url}/api/octopack/retention/run",
                json={"keep_last": 3},
                headers=HEADERS,
                timeout=60,
            )

    def _package(self, package_id: str, version: str) -> Path:
        """A fresh zip with random content (about 64 KiB, so a kill can land mid-upload)."""
        self.made += 1
        path = self.folder / f"{package_id}.{version}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("data.bin", self.rng.randbytes(64 * 1024))
            archive.writestr("made.txt", str(self.made))
        return path

    # -- invariants ----------------------------------------------------------------------

    def _check(self, feed: FeedProcess) -> None:
        """Every listed version downloads with its hash; fsck repairs to clean."""
        for package_id in IDS:
            listing = requests.get(
                f"{feed.url}/api/feeds/feeds-builtin/packages/versions",
                params={"packageId": package_id, "take": 100},
                timeout=60,
            )
            if listing.status_code != 200:
                self._wrong(f"versions of {package_id} answered {listing.status_code}")
                continue
            for item in listing.json()["Items"]:
                self._check_download(feed.url, package_id, item["Version"])
        self._fsck()

    def _check_download(self, url: str, package_id: str, version: str) -> None:
        ref = f"{url}/api/packages/packages-{package_id}.{version}"
        detail = requests.get(ref, timeout=60)
        raw = requests.get(f"{ref}/raw", timeout=60)
        if detail.status_code == 404 and raw.status_code == 404:
            return  # deleted between the listing and now: no operation runs, so unlikely
        if detail.status_code != 200 or raw.status_code != 200:
            self._wrong(
                f"{package_id} {version}: detail {detail.status_code}, raw {raw.status_code}"
            )
            return
        if hashlib.sha256(raw.content).hexdigest() != detail.json()["Sha256"]:
            self._wrong(f"{package_id} {version}: bytes do not match the recorded SHA-256")

    def _fsck(self) -> None:
        from feed.core.config import FeedConfig
        from feed.maintenance.fsck import fsck
        from feed.services import open_feed
        from storage import open_storage

        later = datetime.now(UTC) + timedelta(hours=1)  # past any killed job's lease
        config = FeedConfig(storage=self.store, upload_dir=str(self.spool), clock=lambda: later)
        storage = open_storage(self.store)
        services = open_feed(storage, config)
        repaired = fsck(storage, services, repair=True, grace=0)
        for finding in repaired.findings:
            kinds = self.figures.findings_by_kind
            kinds[finding.kind] = kinds.get(finding.kind, 0) + 1
        self.figures.orphans_found += repaired.count("orphan-blob")
        self.figures.orphans_removed += repaired.count("orphan-blob", repaired=True)
        if repaired.count("missing-blob") or repaired.count("corrupt-blob"):
            self._wrong(f"fsck found visible damage: {[f.line() for f in repaired.findings]}")
        again = fsck(storage, services, grace=0)
        if again.findings:
            self._wrong(f"fsck not clean after repair: {[f.line() for f in again.findings]}")

    def _wrong(self, what: str) -> None:
        self.figures.inconsistencies.append(what)


def _children(pid: int) -> list[int]:
    """The direct children of a process (gunicorn's workers of its master)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(part) for part in text.split()]
