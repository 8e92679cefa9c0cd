"""Smoke test of bench/soak.py at the smallest scale: it runs, loads the feed, prints figures.

Never asserts on timing or memory: only that requests ran without a single error.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_soak_runs_a_short_mixed_load_without_errors(tmp_path: Path) -> None:
    out = tmp_path / "soak.txt"
    done = subprocess.run(
        [
            sys.executable,
            "bench/soak.py",
            "--seconds",
            "2",
            "--warmup",
            "1",
            "--clients",
            "2",
            "--workers",
            "1",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = out.read_text()
    assert re.search(r"requests: [1-9]\d* \([\d.]+ req/s\), errors: 0", text), (
        done.stdout + done.stderr
    )
    assert "latency all: p50" in text and "memory (RSS" in text
