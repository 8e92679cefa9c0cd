"""The atheris harness stays runnable: its seeds pass, and a short run works where atheris is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.atheris_harness import fuzz_one, seeds

ROOT = Path(__file__).resolve().parents[2]


def test_seeds_and_odd_inputs_pass_the_harness_check() -> None:
    for data in seeds() + [b"", b"\x00", b"\x01PK\x05\x06" + bytes(18), b"\x03" + bytes(1024)]:
        fuzz_one(data)


def test_a_short_atheris_run() -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (optional)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "tests/fuzz/atheris_harness.py", "-runs=300"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
