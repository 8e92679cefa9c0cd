"""usable_cpus: the affinity mask, capped by a cgroup v2 or v1 CPU quota (fake cgroup files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from packer.pack.cpus import cgroup_quota, usable_cpus

AFFINITY = len(os.sched_getaffinity(0))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def v2(tmp_path: Path) -> tuple[Path, Path]:
    """A cgroup v2 mount and a /proc/self/cgroup naming /app.slice/job.scope in it."""
    root = tmp_path / "cgroup"
    write(root / "cpu.max", "max 100000\n")  # the root holds no quota
    write(root / "app.slice" / "cpu.max", "max 100000\n")
    write(root / "app.slice" / "job.scope" / "cpu.max", "max 100000\n")
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/app.slice/job.scope\n")
    return root, proc


def test_no_quota_is_the_affinity(v2: tuple[Path, Path]) -> None:
    root, proc = v2
    assert cgroup_quota(root, proc) is None
    assert usable_cpus(root, proc) == AFFINITY


def test_v2_quota_of_the_own_cgroup(v2: tuple[Path, Path]) -> None:
    root, proc = v2
    write(root / "app.slice" / "job.scope" / "cpu.max", "150000 100000\n")
    assert cgroup_quota(root, proc) == 1.5
    assert usable_cpus(root, proc) == min(AFFINITY, 2)  # 1.5 CPUs round up to 2


def test_v2_quota_of_a_parent_wins_when_smaller(v2: tuple[Path, Path]) -> None:
    root, proc = v2
    write(root / "app.slice" / "job.scope" / "cpu.max", "800000 100000\n")
    write(root / "app.slice" / "cpu.max", "50000 100000\n")
    assert cgroup_quota(root, proc) == 0.5
    assert usable_cpus(root, proc) == 1


def test_v1_cfs_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    folder = root / "cpu,cpuacct" / "docker" / "abc"
    write(folder / "cpu.cfs_quota_us", "100000\n")
    write(folder / "cpu.cfs_period_us", "100000\n")
    write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")
    write(root / "cpu,cpuacct" / "cpu.cfs_period_us", "100000\n")
    proc = tmp_path / "proc-cgroup"
    write(proc, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n")
    assert cgroup_quota(root, proc) == 1.0
    assert usable_cpus(root, proc) == 1


def test_v1_without_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(root / "cpu" / "cpu.cfs_quota_us", "-1\n")
    write(root / "cpu" / "cpu.cfs_period_us", "100000\n")
    proc = tmp_path / "proc-cgroup"
    write(proc, "3:cpu:/\n")
    assert cgroup_quota(root, proc) is None
    assert usable_cpus(root, proc) == AFFINITY


def test_unreadable_or_garbled_files_mean_no_quota(tmp_path: Path) -> None:
    root = tmp_path / "cgroup"
    write(root / "cpu.max", "lots 100000\n")
    proc = tmp_path / "proc-cgroup"
    write(proc, "0::/\n")
    assert cgroup_quota(root, proc) is None
    assert cgroup_quota(root, tmp_path / "missing") is None
    assert usable_cpus(root, tmp_path / "missing") == AFFINITY


def test_affinity_is_honoured() -> None:
    """A process pinned to one CPU (taskset) gets one thread, whatever the machine has."""
    mask = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(mask)})
    try:
        assert usable_cpus(Path("/nonexistent"), Path("/nonexistent")) == 1
    finally:
        os.sched_setaffinity(0, mask)
