"""Small helpers the feed benchmark shares: statistics, peak memory from /proc, child runs.

Peak RSS of a child is read from its own /proc/self/status VmHWM just before it exits:
ru_maxrss of a child forked from a large Python process inherits the parent's high-water
mark at exec, so it would overstate a small client.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024

# Run a Python snippet, then write this process's VmHWM (KiB) to $OCTOPACK_BENCH_HWM at exit.
_HWM_PRELUDE = (
    "import atexit, os\n"
    "def _hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['OCTOPACK_BENCH_HWM'], 'w').write(line.split()[1])\n"
    "atexit.register(_hwm)\n"
)


@dataclass(frozen=True)
class Latency:
    """Median and 95th percentile of a list of durations, in milliseconds."""

    median_ms: float
    p95_ms: float
    count: int

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        """Summarise durations given in seconds."""
        ordered = sorted(seconds)
        p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
        return cls(statistics.median(ordered) * 1000, p95 * 1000, len(ordered))


@dataclass(frozen=True)
class ChildRun:
    """Wall time and peak RSS (MiB, from the child's own VmHWM) of one child process."""

    seconds: float
    peak_mib: float
    stdout: str


def repo_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment in which children import this checkout's packages."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def run_python(code: str, env: dict[str, str] | None = None) -> ChildRun:
    """Run `code` in a fresh interpreter; fail loudly on a non-zero exit."""
    with tempfile.NamedTemporaryFile(prefix="octopack-bench-hwm-", delete=False) as marker:
        hwm_path = marker.name
    child_env = repo_env(env)
    child_env["OCTOPACK_BENCH_HWM"] = hwm_path
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _HWM_PRELUDE + code], env=child_env, capture_output=True
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(
                f"child failed with exit code {done.returncode}: {done.stderr.decode()[-2000:]}"
            )
        text = Path(hwm_path).read_text().strip()
    finally:
        os.unlink(hwm_path)
    return ChildRun(elapsed, int(text) / 1024 if text else float("nan"), done.stdout.decode())


def process_tree(pid: int) -> list[int]:
    """Return `pid` and all its descendants (gunicorn master and workers)."""
    found = [pid]
    for current in found:
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def peak_rss_mib(pid: int) -> float | None:
    """Return VmHWM of one live process in MiB, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def tree_peaks(pid: int) -> dict[int, float]:
    """Return the peak RSS (MiB) of every live process in the tree below `pid`."""
    peaks = {p: peak_rss_mib(p) for p in process_tree(pid)}
    return {p: v for p, v in peaks.items() if v is not None}


def tree_cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds used so far by the live processes of a tree."""
    ticks = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def verdict(ok: bool) -> str:
    """Return the word the summary table prints."""
    return "PASS" if ok else "MISS"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Print (target, figure, limit, verdict) rows as an aligned table."""
    header = ("target", "measured", "limit", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
