"""Extraction benchmark: `octopack deploy --file` beside `unzip -q` on the same big zip.

Builds (once) a zip of at least 300 MB and 15,000 files under /tmp from Python library
folders with `zip -r -q`, then times both extractions in the same run, alternating, and
reports wall time, the ratio to unzip, CPU seconds (user + system, and each apart) and
each process's peak RSS (GNU time, else wait4), with the load average before and after:
on a shared machine the figures of one run only compare with each other. The trees are
kept until the end (about 1.7 GB per run) so no run pays for deleting another's.

    python3 bench/deploy.py [--rounds 2] [--work /tmp/octopack-bench] [--source DIR]...
    python3 bench/deploy.py --delta [--megabytes 300]   (bench/delta.py: delta vs full)
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MIN_ZIP_BYTES = 300 * 1000 * 1000
MIN_FILES = 15_000
ZIP_NAME = "Bench.Big.1.0.0.zip"
SETTLE_SECONDS = 40
DELTA_WORK = (
    "/tmp/octopack-bench-delta"  # ext4 treats inodes deleted in the last 30 s as still in use
)


def default_sources() -> list[str]:
    """Python library folders of this machine, biggest-yield first."""
    found = sorted(glob.glob("/usr/lib/python3*"))
    found += sorted(glob.glob("/root/.pyenv/versions/3.1[0-9]*/lib"), reverse=True)
    found += sorted(glob.glob("/usr/local/lib/python3*"))
    return [path for path in found if os.path.isdir(path)]


def build_zip(work: Path, sources: list[str]) -> Path:
    """Zip sources until the archive holds >= 300 MB and >= 15,000 files; reuse if present."""
    target = work / ZIP_NAME
    if target.exists() and target.stat().st_size >= MIN_ZIP_BYTES:
        return target
    work.mkdir(parents=True, exist_ok=True)
    partial = work / "building.zip"
    partial.unlink(missing_ok=True)
    for source in sources:
        print(f"zip -r -q adding {source}", flush=True)
        subprocess.run(["zip", "-r", "-q", str(partial), source], check=True)
        if partial.stat().st_size >= MIN_ZIP_BYTES and _count_files(partial) >= MIN_FILES:
            os.replace(partial, target)
            return target
    raise SystemExit(f"sources {sources} give only {partial.stat().st_size} bytes; add --source")


def _count_files(path: Path) -> int:
    """Count the file entries of a zip (directories excluded)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return sum(1 for info in archive.infolist() if not info.is_dir())


Timing = tuple[float, float, float, float]  # wall, user, system seconds, peak RSS MiB


def timed(command: list[str], env: dict[str, str] | None = None) -> Timing:
    """Run a command; return (wall, user CPU, system CPU seconds, peak RSS MiB) of it alone.

    GNU time measures the peak RSS when installed: a child forked from this Python
    process would otherwise inherit this process's high-water mark into ru_maxrss.
    """
    gnu_time = shutil.which("time") or (
        "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    )
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"octopack-bench-time-{os.getpid()}"
    if gnu_time:
        command = [gnu_time, "-f", "%M %U %S", "-o", str(report), *command]
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{command[:6]} failed with exit code {code}")
    if gnu_time:
        peak_kib, user, system = report.read_text().split()[-3:]
        report.unlink()
        return elapsed, float(user), float(system), int(peak_kib) / 1024
    return elapsed, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    """Build the zip, run both extractions alternately, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/octopack-bench"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--source", action="append", help="folder to zip (repeatable)")
    parser.add_argument("--package", type=Path, help="use this zip instead (no size check)")
    parser.add_argument("--delta", action="store_true", help="delta vs full deploy instead")
    parser.add_argument("--megabytes", type=int, default=300, help="--delta package size")
    args = parser.parse_args()
    if args.delta:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from delta import run  # bench/delta.py

        work = args.work if args.work != Path("/tmp/octopack-bench") else Path(DELTA_WORK)
        run(work, args.megabytes, args.rounds)
        return
    if not shutil.which("unzip") or not shutil.which("zip"):
        raise SystemExit("the benchmark needs zip and unzip (apt-get install zip unzip)")
    package = args.package or build_zip(args.work, args.source or default_sources())
    size, files = package.stat().st_size, _count_files(package)
    print(f"package {package}: {size / 1e6:.0f} MB, {files} files")
    _clear_outputs(args.work)
    with open(package, "rb") as stream:  # warm the page cache for both contenders alike
        while stream.read(1 << 24):
            pass
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(repo))
    print(f"load average before: {_load()}")
    results: dict[str, list[Timing]] = {
        "unzip -q": [],
        "octopack deploy --file": [],
    }
    for round_number in range(args.rounds):
        for name in results:
            out = args.work / f"out-{round_number}-{name.split()[0]}"
            if name.startswith("unzip"):
                command = ["unzip", "-q", str(package), "-d", str(out)]
            else:
                command = [sys.executable, "-c", "from packer.cli import main; main()",
                           "deploy", "--file", str(package), "--root", str(out)]  # fmt: skip
            results[name].append(timed(command, env))
    _clear_outputs(args.work, settle=False)
    print(f"load average after:  {_load()}")
    reference = min(run[0] for run in results["unzip -q"])
    for name, runs in results.items():
        best = min(runs)
        seconds, user, system = best[0], best[1], best[2]
        peak = max(run[3] for run in runs)
        print(
            f"{name:24s} best {seconds:6.2f} s  ratio {seconds / reference:4.2f}x unzip  "
            f"cpu {user + system:6.2f} s (user {user:5.2f} sys {system:5.2f})  "
            f"peak RSS {peak:6.1f} MiB"
        )
        for wall, user, system, rss in runs:
            print(f"    run {wall:6.2f} s  cpu {user + system:6.2f} s  rss {rss:6.1f} MiB")


def _clear_outputs(work: Path, settle: bool = True) -> None:
    """Delete the extracted trees of earlier runs; then sync and wait out ext4's memory.

    Every run writes a fresh tree and none is deleted until the end: right after a tree of
    70k files is deleted, ext4 skips its "recently deleted" inodes one by one on every file
    create (fs/ext4/ialloc.c), which doubles the system time of whichever tool runs next.
    """
    old = sorted(work.glob("out-*"))
    for tree in old:
        shutil.rmtree(tree, ignore_errors=True)
    if old and settle:
        os.sync()
        print(f"removed {len(old)} old output trees; waiting {SETTLE_SECONDS} s for ext4")
        time.sleep(SETTLE_SECONDS)


def _load() -> str:
    """Return the 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
