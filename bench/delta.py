"""Delta deploy benchmark (`bench/deploy.py --delta`): N+1 built from a cached N vs downloaded whole.

Packs a tree of at least 300 MB (incompressible files, so the package is as big) as 1.0.0,
changes 1% of its files and packs 1.1.0, pushes both to `octopack serve` on loopback, and
deploys 1.1.0 through a loopback proxy paced to 100 Mbit/s (tests/helpers/faulty_proxy.py
with a rate) both ways in the same run, alternating, best of `--rounds`: on a target that
holds 1.0.0 in its cache (delta) and on a fresh target (full). Each deploy is the real CLI
in a child process, after a `sync`; the proxy counts the bytes it passed to the target.
Prints both rows, the bytes and the ratios.

    python3 bench/deploy.py --delta [--work /tmp/octopack-bench-delta] [--megabytes 300]
                                    [--rounds 2]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from packer.client.feed import FeedClient  # noqa: E402
from tests.helpers.faulty_proxy import faulty_proxy  # noqa: E402
from tests.helpers.feed_server import feed_process  # noqa: E402

FILE_BYTES = 100_000
LINK_BYTES_PER_SECOND = 100e6 / 8  # 100 Mbit/s
CHANGED_SHARE = 0.01
DELTA, FULL = "delta (1.0.0 cached)", "full (empty cache)"
ENV = dict(os.environ, PYTHONPATH=str(REPO))


def make_trees(work: Path, megabytes: int) -> tuple[Path, Path, int]:
    """Write tree v1 of incompressible files and v2 with 1% of them rewritten; return both."""
    count = megabytes * 1_000_000 // FILE_BYTES
    v1, v2 = work / "v1", work / "v2"
    for tree in (v1, v2):
        shutil.rmtree(tree, ignore_errors=True)
    for number in range(count):
        path = v1 / f"lib{number % 50:02d}" / f"part{number:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(FILE_BYTES))
    (v1 / "Deploy.sh").write_text("#!/bin/sh\necho deployed\n")
    shutil.copytree(v1, v2, copy_function=os.link)  # unchanged files: the same bytes
    changed = sorted(v2.rglob("*.bin"))[:: int(1 / CHANGED_SHARE)]
    for path in changed:
        path.unlink()
        path.write_bytes(os.urandom(FILE_BYTES))
    return v1, v2, len(changed)


def octopack(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the octopack CLI of this checkout in a child process; fail loudly."""
    command = [sys.executable, "-c", "from packer.cli import main; main()", *map(str, args)]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"octopack {args[0]} failed: {done.stderr[-2000:]}")
    return done


def pack(tree: Path, out: Path, version: str) -> Path:
    """Pack a tree as Bench.Delta at `version` (zip, default level)."""
    done = octopack("pack", "--id", "Bench.Delta", "--version", version, "--base-path", tree,
                    "--out-folder", out, "--output-format", "json")  # fmt: skip
    return Path(json.loads(done.stdout)["path"])


def deploy(url: str, key: str, root: Path, version: str) -> tuple[float, dict]:
    """Deploy Bench.Delta `version` from `url`; return (seconds, deploy JSON)."""
    start = time.perf_counter()
    done = octopack("deploy", "Bench.Delta", "--version", version, "--root", root,
                    "--server", url, "--api-key", key, "--output-format", "json")  # fmt: skip
    return time.perf_counter() - start, json.loads(done.stdout)


def run(work: Path, megabytes: int, rounds: int = 2) -> list[tuple[str, float, dict, int]]:
    """Build, push, deploy both ways through the paced proxy, print and return the rows.

    Each row: (name, seconds, the deploy JSON's transfer, bytes the proxy passed to the target).
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    v1, v2, changed = make_trees(work, megabytes)
    first, second = pack(v1, work / "out", "1.0.0"), pack(v2, work / "out", "1.1.0")
    size = second.stat().st_size
    print(f"package {second.name}: {size / 1e6:.0f} MB, {changed} of "
          f"{len(list(v2.rglob('*.bin')))} files changed ({CHANGED_SHARE:.0%})")  # fmt: skip
    with feed_process(str(work / "store")) as feed:
        assert feed.admin_key is not None
        with FeedClient(feed.url, feed.admin_key) as client:
            for package in (first, second):
                if not client.push(package).ok:
                    raise SystemExit(f"push of {package.name} failed")
        seed = work / "target-seed"
        deploy(feed.url, feed.admin_key, seed, "1.0.0")  # the cached N, unpaced
        cached = seed / ".octopack" / "cache" / first.name
        runs: dict[str, list[tuple[float, dict, int]]] = {DELTA: [], FULL: []}
        for number in range(rounds):  # alternating; each run on a target of its own
            for name in runs:
                root = work / f"target-{number}-{name.split()[0]}"
                if name == DELTA:  # a target holding only 1.0.0 in its cache
                    (root / ".octopack" / "cache").mkdir(mode=0o700, parents=True)
                    os.link(cached, root / ".octopack" / "cache" / first.name)
                os.sync()  # no run pays for another's writeback
                with faulty_proxy(feed.url, rate=LINK_BYTES_PER_SECOND) as proxy:
                    seconds, document = deploy(proxy.url, feed.admin_key, root, "1.1.0")
                runs[name].append((seconds, document["transfer"], proxy.bytes_to_client))
                print(f"    run {name:22s} {seconds:7.2f} s", flush=True)
    rows = [(name, *min(found, key=lambda run: run[0])) for name, found in runs.items()]
    delta_root, full_root = (work / f"target-0-{name.split()[0]}" for name in runs)
    reference = rows[1]
    print(f"link: loopback proxy paced to {LINK_BYTES_PER_SECOND * 8 / 1e6:.0f} Mbit/s")
    for name, seconds, transfer, wire in rows:
        print(
            f"{name:22s} {seconds:7.2f} s  mode {transfer['mode']:5s}  "
            f"package bytes {transfer['bytes']:>11,}  ({transfer['bytes'] / size:6.2%})  "
            f"at the proxy {wire:>11,}  speed-up {reference[1] / seconds:5.2f}x"
        )
    delta = rows[0]
    fetched_share = delta[3] / size
    speedup = reference[1] / delta[1]
    print(f"delta fetched {fetched_share:.2%} of the package (aim <= 5%): "
          f"{'PASS' if fetched_share <= 0.05 else 'MISS'}")  # fmt: skip
    print(f"delta deploy {speedup:.1f}x faster than full (aim >= 5x): "
          f"{'PASS' if speedup >= 5 else 'MISS'}")  # fmt: skip
    same = _same_tree(*(root / "Bench.Delta" / "current" for root in (delta_root, full_root)))
    print(f"extracted releases identical: {'yes' if same else 'NO'}")
    shutil.rmtree(work, ignore_errors=True)
    if not same:
        raise SystemExit("the delta deploy's release differs from the full deploy's")
    return rows


def _same_tree(left: Path, right: Path) -> bool:
    """True when both trees hold the same files with the same bytes and modes."""
    done = subprocess.run(["diff", "-r", "-q", str(left), str(right)], capture_output=True)
    modes = [
        {p.relative_to(t).as_posix(): p.stat().st_mode for p in t.rglob("*")} for t in (left, right)
    ]
    return done.returncode == 0 and modes[0] == modes[1]
