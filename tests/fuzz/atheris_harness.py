"""A longer fuzzing run of the archive readers with atheris (coverage-guided), optional.

    pip install atheris
    PYTHONPATH=. python3 tests/fuzz/atheris_harness.py -max_total_time=600 [corpus_dir]

Each input's first byte picks the format; the rest is the archive. Only PackerError may
come out of inspection and extraction (as in test_readers_fuzz.py); anything else is a
crash atheris reports with the input that caused it. Seeds come from tests/fuzz/seeds.py.
"""

from __future__ import annotations

import sys

from tests.fuzz.seeds import FORMATS, seed
from tests.fuzz.test_readers_fuzz import check_bytes


def fuzz_one(data: bytes) -> None:
    """Check one input: byte 0 chooses the format, the rest is the archive."""
    if not data:
        return
    check_bytes(data[1:], FORMATS[data[0] % len(FORMATS)])


def seeds() -> list[bytes]:
    """One valid input per format, to start the search from."""
    return [bytes([index]) + seed(fmt) for index, fmt in enumerate(FORMATS)]


def main() -> None:
    """Run atheris over fuzz_one until its own limits stop it."""
    import atheris  # optional: imported only when the harness runs

    for start in seeds():
        fuzz_one(start)  # the seeds themselves must pass
    atheris.Setup(sys.argv, fuzz_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
