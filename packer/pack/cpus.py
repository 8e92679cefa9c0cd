"""How many CPUs this process may use: its affinity, capped by its cgroup's CPU quota.

`os.cpu_count()` counts the machine's cores, so under `taskset` or in a container limited to
two CPUs a pack would start a thread per core of the host and fight over two.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cpus(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path | None = None) -> int:
    """Return the CPUs this process may run on, rounded up from a fractional quota; at least 1."""
    count = _affinity()
    quota = cgroup_quota(cgroup_root, proc_cgroup or Path("/proc/self/cgroup"))
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def cgroup_quota(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    """Return the smallest CPU quota (in CPUs) of this process's cgroup and its parents.

    cgroup v2 keeps `cpu.max` ("max 100000" or "200000 100000") in every level of the
    hierarchy; v1 keeps `cpu.cfs_quota_us` (-1 for none) and `cpu.cfs_period_us` in the cpu
    controller's folder. None when no level sets a quota or nothing can be read.
    """
    quotas = [q for folder in _cgroup_folders(cgroup_root, proc_cgroup) if (q := _quota(folder))]
    return min(quotas) if quotas else None


def _cgroup_folders(root: Path, proc_cgroup: Path) -> list[Path]:
    """The folders of this process's cgroup, from its own up to the root of the mount."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return []
    folders: list[Path] = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2: "0::/user.slice/..."
            base = root
        elif "cpu" in controllers.split(","):  # v1: "4:cpu,cpuacct:/docker/..."
            base = _v1_cpu_mount(root, controllers)
        else:
            continue
        relative = Path(path.strip().lstrip("/"))
        folders += [base / parent for parent in [relative, *relative.parents]]
    return folders


def _v1_cpu_mount(root: Path, controllers: str) -> Path:
    """The v1 cpu controller's mount: `cpu,cpuacct` on most systems, `cpu` on some."""
    for name in (controllers, "cpu,cpuacct", "cpu"):
        if (root / name).is_dir():
            return root / name
    return root / "cpu"


def _quota(folder: Path) -> float | None:
    """The quota set in one cgroup folder, in CPUs; None for none, or for a file we cannot read."""
    v2 = _read(folder / "cpu.max")
    if v2 is not None:
        fields = v2.split()
        if len(fields) == 2 and fields[0] != "max":
            return _ratio(fields[0], fields[1])
        return None
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is not None and period is not None:
        return _ratio(quota, period)
    return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        value, per = int(quota), int(period)
    except ValueError:
        return None
    return value / per if value > 0 and per > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
