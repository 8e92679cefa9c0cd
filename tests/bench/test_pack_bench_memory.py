"""bench/pack.py counts the memory of pack's children too, not only its largest process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.pack import tree_rss

HOLD = 64 << 20
_CHILD = (
    "import sys\n"
    f"block = bytearray({HOLD})\n"
    "block[::4096] = b'x' * len(block[::4096])  # touch every page\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_tree_rss_adds_up_the_children() -> None:
    alone = tree_rss(os.getpid())
    children = [subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    try:
        for child in children:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        together = tree_rss(os.getpid())
    finally:
        for child in children:
            child.communicate("")
    assert together - alone >= 2 * HOLD * 0.9
