"""A small tmpfs the test mounts and removes: a real full disk (ENOSPC) on demand.

Mounting needs root (or CAP_SYS_ADMIN). Where that is missing the test is skipped with
the reason printed; in CI (the variable CI set) running as root, a failed mount fails.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_tmpfs(size_bytes: int) -> Iterator[Path]:
    """Mount a tmpfs of `size_bytes` on a fresh folder, yield it, unmount and remove it."""
    folder = Path(tempfile.mkdtemp(prefix="octopack-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        reason = f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}"
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(reason)
        print(f"\nSKIP full-disk test: {reason}")
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)
        folder.rmdir()
