"""Benchmark `octopack pack` against `zip -r -q -6` on the same tree, in the same run.

Builds (once) a tree of at least 300 MB and 15,000 files under /tmp by copying files from
--source folders (default: this interpreter's standard library, which holds site-packages on
most installs), warms the page cache, then times zip -6 and `octopack pack` at each level as
subprocesses. Prints wall and CPU seconds, MB/s, output size, size and speed relative to zip,
and the peak memory: of the whole process tree (pack, its walker and worker processes: their
proportional set sizes summed, sampled from /proc every 20 ms) or of the largest single process (os.wait4), whichever is
higher. On a shared machine wall times swing with the
load; the CPU column (user + sys) shows the work done. Figures only; nothing here is a test.

With --threads 1,2,... each level runs once per thread count (`pack --threads N`). The
"serial" column is the CPU time of pack's main thread per file, in microseconds: the part
that orders entries and writes the central directory and does not spread over threads.

    python3 bench/pack.py [--tree /tmp/octopack-bench/tree] [--source DIR]... [--levels fast,optimal]
    python3 bench/pack.py --threads 1,2,4,8,16
    python3 bench/pack.py --many 250000   # memory: a tree of that many tiny files instead
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIN_BYTES = 300_000_000
MIN_FILES = 15_000
TARGETS = {"fast": (8.0, 1.10), "optimal": (2.0, 1.01)}  # speed-up at least, size ratio at most
MAX_RSS_MIB = 150
# the pack child writes its main thread's CPU seconds (the serial part) here as it exits
_MAIN_THREAD_CPU = (
    "import atexit, os, time\n"
    "atexit.register(lambda: open(os.environ['OCTOPACK_BENCH_MAIN_CPU'], 'w')"
    ".write(repr(time.thread_time())))\n"
    "from packer.cli import main; main()\n"
)


def build_tree(tree: Path, sources: list[Path], min_bytes: int, min_files: int) -> None:
    """Copy regular files from the sources in sorted order until both minimums are reached."""
    tree.mkdir(parents=True)
    total = files = 0
    for index, source in enumerate(sources):
        for root, dirs, names in os.walk(source):
            dirs.sort()
            for name in sorted(names):
                src = os.path.join(root, name)
                if os.path.islink(src) or not os.path.isfile(src):
                    continue
                dest = tree / f"s{index}" / os.path.relpath(src, source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copy2(src, dest)
                except OSError:
                    continue
                total += dest.stat().st_size
                files += 1
                if total >= min_bytes and files >= min_files:
                    return
    if total < min_bytes or files < min_files:
        sys.exit(f"sources hold only {total} bytes in {files} files; add --source folders")


def build_many(tree: Path, count: int) -> None:
    """A tree of `count` tiny files, 500 per folder: peak memory must not grow with it."""
    for index in range(count):
        folder = tree / f"d{index // 500:04d}"
        if index % 500 == 0:
            folder.mkdir(parents=True)
        (folder / f"file-with-a-longish-name-{index % 500:04d}.txt").write_bytes(
            b"x" * (index % 50)
        )


def tree_stats(tree: Path) -> tuple[int, int]:
    """Bytes and file count; reading every file also warms the page cache for both tools."""
    total = files = 0
    for root, _, names in os.walk(tree):
        for name in names:
            with open(os.path.join(root, name), "rb") as handle:
                while chunk := handle.read(1 << 20):
                    total += len(chunk)
            files += 1
    return total, files


def tree_rss(root: int) -> int:
    """Bytes resident now in `root` and all its descendants, from /proc: each process's
    proportional share (PSS), so pages a forked worker shares with its parent count once."""
    parents: dict[int, int] = {}
    resident: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        parents[pid], resident[pid] = int(fields[1]), int(fields[21]) * _PAGE
    total = 0
    for pid, size in resident.items():
        ancestor = pid
        while ancestor not in (root, 0, 1) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += _pss(pid, size)
    return total


def _pss(pid: int, rss: int) -> int:
    """A process's proportional set size; its RSS where the kernel does not say."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return rss


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class TreeMemory:
    """The highest sum of resident memory of a process and its children, sampled on a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(pid, interval), daemon=True)
        self._thread.start()

    def _sample(self, pid: int, interval: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(pid))
            self._stop.wait(interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[float, float, float, str]:
    """Run a command; return wall seconds, CPU seconds (its children's too), peak RSS (MiB:
    the process tree's sampled sum or the largest process's own peak, the higher), stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)  # fmt: skip
    memory = TreeMemory(proc.pid) if os.path.isdir("/proc") else None
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    tree_peak = memory.stop() if memory is not None else 0  # before reaping: pid still there
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{command[0]} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    peak = max(usage.ru_maxrss * 1024, tree_peak) / (1 << 20)
    return elapsed, usage.ru_utime + usage.ru_stime, peak, stdout.decode()


def run_round(
    tree: Path, out: Path, levels: list[str], verify: bool, threads: list[int | None], files: int
) -> list[tuple]:
    """Time zip -6 and each octopack level (per thread count) once; rows of
    (name, wall, cpu, size, rss, level, serial microseconds per file)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    reference = out / "reference.zip"
    wall, cpu, rss, _ = timed(["zip", "-r", "-q", "-6", str(reference), "."], cwd=tree)
    rows = [("zip -r -6", wall, cpu, reference.stat().st_size, rss, None, None)]
    marker = out / "main-thread-cpu"
    env = {**os.environ, "OCTOPACK_BENCH_MAIN_CPU": str(marker)}
    for level in levels:
        for count in threads:
            version = f"1.0.0-{level}" + (f"-t{count}" if count else "")
            command = [sys.executable, "-c", _MAIN_THREAD_CPU, "pack", "--id", "Bench",
                       "--version", version, "--base-path", str(tree), "--out-folder", str(out),
                       "--compression-level", level, "--output-format", "json"]  # fmt: skip
            if count:
                command += ["--threads", str(count)]
            wall, cpu, rss, stdout = timed(command, cwd=REPO, env=env)
            serial = float(marker.read_text()) / files * 1e6
            doc = json.loads(stdout)
            name = f"octopack {level}" + (f" t={count}" if count else "")
            rows.append((name, wall, cpu, doc["size"], rss, level, serial))
            if verify:
                subprocess.run(["unzip", "-tq", doc["path"]], check=True,
                               stdout=subprocess.DEVNULL)  # fmt: skip
            os.unlink(doc["path"])
    return rows


def print_rows(rows: list[tuple], mb: float, memory_only: bool = False) -> None:
    """One line per tool: time, throughput, size and speed relative to zip, RSS, verdict."""
    _, zip_wall, zip_cpu, zip_size, _, _, _ = rows[0]
    print(f"{'tool':22} {'wall s':>7} {'MB/s':>7} {'cpu s':>7} {'out MB':>8} {'size/zip':>8} "
          f"{'speed-up':>8} {'cpu-x':>6} {'peak RSS':>10} {'serial':>11}  verdict")  # fmt: skip
    for name, wall, cpu, out_size, rss, level, serial in rows:
        ratio, speedup = out_size / zip_size, zip_wall / wall
        verdict = ""
        if level in TARGETS:
            want_speed, want_ratio = TARGETS[level]
            misses = []
            if speedup < want_speed and not memory_only:
                misses.append(f"speed-up < {want_speed}x")
            if ratio > want_ratio and not memory_only:
                misses.append(f"size > {want_ratio}x")
            if rss > MAX_RSS_MIB:
                misses.append(f"RSS > {MAX_RSS_MIB} MiB")
            verdict = "MISS: " + ", ".join(misses) if misses else "meets target"
        per_file = f"{serial:5.1f} us/f" if serial is not None else ""
        print(f"{name:22} {wall:7.2f} {mb / wall:7.1f} {cpu:7.2f} {out_size / 1e6:8.1f} "
              f"{ratio:8.3f} {speedup:7.2f}x {zip_cpu / cpu:5.1f}x {rss:6.1f} MiB {per_file:>11}"
              f"  {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path("/tmp/octopack-bench/tree"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/octopack-bench/out"))
    parser.add_argument("--source", type=Path, action="append")
    parser.add_argument("--levels", default="fast,optimal")
    parser.add_argument("--threads", help="thread counts to pack with, e.g. 1,2,4,8,16 "
                        "[default: pack's own default]")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=1, help="repeat zip and each level")
    parser.add_argument("--no-verify", action="store_true", help="skip unzip -t afterwards")
    parser.add_argument("--many", type=int, metavar="FILES",
                        help="pack a tree of this many tiny files instead (peak memory)")  # fmt: skip
    args = parser.parse_args()
    if args.many:
        args.tree = args.tree.parent / f"many-{args.many}"
        if not args.tree.exists():
            print(f"building {args.tree} ...", flush=True)
            build_many(args.tree, args.many)
    elif not args.tree.exists():
        sources = args.source or [Path(sysconfig.get_paths()["stdlib"])]
        print(f"building {args.tree} from {', '.join(map(str, sources))} ...", flush=True)
        build_tree(args.tree, sources, MIN_BYTES, MIN_FILES)
    size, files = tree_stats(args.tree)
    mb = size / 1e6
    print(f"tree {args.tree}: {mb:.1f} MB in {files} files; cores: {os.cpu_count()}, "
          f"usable: {len(os.sched_getaffinity(0))}; "
          f"load average: {os.getloadavg()[0]:.2f}")  # fmt: skip
    if not args.many and (size < MIN_BYTES or files < MIN_FILES):
        print(
            f"warning: the issue asks for at least {MIN_BYTES / 1e6:.0f} MB and {MIN_FILES} files"
        )
    levels = args.levels.split(",")
    threads: list[int | None] = (
        [int(n) for n in args.threads.split(",")] if args.threads else [None]
    )
    for number in range(1, args.rounds + 1):
        rows = run_round(args.tree, args.out, levels, not args.no_verify, threads, files)
        print(f"round {number} (load average now {os.getloadavg()[0]:.2f}):")
        print_rows(rows, mb, memory_only=bool(args.many))


if __name__ == "__main__":
    main()
