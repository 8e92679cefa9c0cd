"""Soak: a bounded mixed load against one `octopack serve` for minutes; print the figures.

    python3 bench/soak.py [--seconds 180] [--clients 8] [--workers 2] [--out FILE]

Clients (threads, one HTTP session each) run a seeded mix until the time is up: versions
queries, package details, downloads (hash checked), pushes of new versions, deletes of
their own pushes, NuGet flat-container indexes. Printed: requests/s, p50/p99 latency,
errors (must be 0: any unexpected status, wrong bytes or failed request counts), and the
feed's memory (RSS of master and workers) after a warm-up and at the end, with the drift
(target under 10%). The feed runs on a fresh disk store under /tmp, removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import process_tree, repo_env  # noqa: E402
from bench.loadgen import stop_group, wait_until_up  # noqa: E402

KEY = "API-SOAKADMINKEY00000000000000000000000"
HEADERS = {"X-Octopus-ApiKey": KEY}
IDS = [f"Soak.App{n}" for n in range(8)]
MIX = [("versions", 45), ("detail", 10), ("download", 20), ("push", 15), ("delete", 5), ("flat", 5)]


@dataclass
class Tally:
    """What every client did, merged under a lock."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            if error is not None:
                self.errors.append(f"{kind}: {error}")


class Client(threading.Thread):
    """One load client: a seeded mix of operations until `deadline`."""

    def __init__(self, url: str, index: int, deadline: float, tally: Tally) -> None:
        super().__init__(name=f"soak-{index}", daemon=True)
        self.url, self.index, self.deadline, self.tally = url, index, deadline, tally
        self.rng = random.Random(index)
        self.session = requests.Session()
        self.pushed: list[tuple[str, str]] = []
        self.count = 0

    def run(self) -> None:
        kinds, weights = zip(*MIX, strict=True)
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(kinds, weights)[0]
            start = time.perf_counter()
            try:
                error = getattr(self, f"_{kind}")()
            except requests.RequestException as exc:
                error = f"request failed: {exc}"
            self.tally.add(kind, time.perf_counter() - start, error)

    def _versions(self) -> str | None:
        response = self.session.get(
            f"{self.url}/api/feeds/feeds-builtin/packages/versions",
            params={"packageId": self.rng.choice(IDS)},
            timeout=60,
        )
        return None if response.status_code == 200 else f"status {response.status_code}"

    def _some_version(self) -> tuple[str, str] | None:
        return self.rng.choice(self.pushed) if self.pushed else None

    def _detail(self) -> str | None:
        chosen = self._some_version()
        if chosen is None:
            return self._versions()
        response = self.session.get(
            f"{self.url}/api/packages/packages-{chosen[0]}.{chosen[1]}", timeout=60
        )
        return None if response.status_code == 200 else f"status {response.status_code}"

    def _download(self) -> str | None:
        chosen = self._some_version()
        if chosen is None:
            return self._versions()
        ref = f"{self.url}/api/packages/packages-{chosen[0]}.{chosen[1]}"
        detail = self.session.get(ref, timeout=60)
        raw = self.session.get(f"{ref}/raw", timeout=60)
        if detail.status_code != 200 or raw.status_code != 200:
            return f"status {detail.status_code}/{raw.status_code}"
        if hashlib.sha256(raw.content).hexdigest() != detail.json()["Sha256"]:
            return "downloaded bytes do not match the recorded SHA-256"
        return None

    def _push(self) -> str | None:
        self.count += 1
        package_id = self.rng.choice(IDS)
        version = f"{self.index + 1}.{self.count}.0"
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("Deploy.sh", "#!/bin/sh\necho soak\n")
            archive.writestr("data.bin", self.rng.randbytes(32 * 1024))
        response = self.session.post(
            f"{self.url}/api/packages/raw",
            files={"file": (f"{package_id}.{version}.zip", body.getvalue())},
            headers=HEADERS,
            timeout=60,
        )
        if response.status_code != 201:
            return f"status {response.status_code}: {response.text[:200]}"
        self.pushed.append((package_id, version))
        return None

    def _delete(self) -> str | None:
        if len(self.pushed) < 20:
            return self._versions()
        package_id, version = self.pushed.pop(self.rng.randrange(len(self.pushed)))
        response = self.session.delete(
            f"{self.url}/api/packages/packages-{package_id}.{version}", headers=HEADERS, timeout=60
        )
        return None if response.status_code in (200, 204) else f"status {response.status_code}"

    def _flat(self) -> str | None:
        response = self.session.get(
            f"{self.url}/v3/flatcontainer/{self.rng.choice(IDS).lower()}/index.json", timeout=60
        )
        return None if response.status_code in (200, 404) else f"status {response.status_code}"


def rss_mib(pid: int) -> float:
    """Current RSS of a process tree (gunicorn master and workers), in MiB."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_phase(url: str, seconds: float, clients: int, tally: Tally, first: int = 0) -> list[Client]:
    """Run `clients` clients numbered from `first` (their versions never meet) for `seconds`."""
    deadline = time.monotonic() + seconds
    threads = [Client(url, first + n, deadline, tally) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return threads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--warmup", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="octopack-soak-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from packer.cli import main; main()", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--storage", str(folder / "store")]
    command += ["--workers", str(options.workers), "--api-key", KEY]
    # the feed logs a line per request: a file, never an unread pipe that fills and blocks it
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            env=repo_env(),
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        wait_until_up(f"{url}/health", process)
        run_phase(url, options.warmup, options.clients, Tally(), 1000)  # caches, pools, imports
        memory_start = rss_mib(process.pid)
        tally = Tally()
        started = time.perf_counter()
        run_phase(url, options.seconds, options.clients, tally)
        elapsed = time.perf_counter() - started
        memory_end = rss_mib(process.pid)
    finally:
        stop_group(process)
        shutil.rmtree(folder, ignore_errors=True)
    every = [s for values in tally.latencies.values() for s in values]
    drift = (memory_end - memory_start) / memory_start * 100
    lines.append(
        f"soak: {options.seconds:.0f} s after a {options.warmup:.0f} s warm-up, {options.clients} "
        f"clients, octopack serve --workers {options.workers} on disk"
    )
    lines.append(
        f"requests: {len(every)} ({len(every) / elapsed:.1f} req/s), errors: {len(tally.errors)}"
    )
    lines.append(
        f"latency all: p50 {statistics.median(every) * 1000:.1f} ms, p99 {percentile(every, 0.99) * 1000:.1f} ms"
    )
    for kind, values in sorted(tally.latencies.items()):
        lines.append(
            f"  {kind:9s} {len(values):6d} requests, p50 {statistics.median(values) * 1000:7.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:7.1f} ms"
        )
    lines.append(
        f"memory (RSS, master + workers): start {memory_start:.1f} MiB, end {memory_end:.1f} MiB, "
        f"drift {drift:+.1f}% (target under 10%)"
    )
    for error in tally.errors[:10]:
        lines.append(f"error: {error}")
    verdict = "PASS" if not tally.errors and abs(drift) < 10 else "MISS"
    lines.append(f"{verdict}: errors {len(tally.errors)} (must be 0), drift {drift:+.1f}%")
    text = "\n".join(lines)
    print(text)
    if options.out:
        options.out.write_text(text + "\n")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
