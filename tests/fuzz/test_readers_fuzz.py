"""Hypothesis fuzzing of the archive readers: whatever the bytes, only our own errors come out.

Valid seeds are mutated (bytes flipped, runs overwritten, cut short) and zips are written
with random names, modes and sizes; inspection and extraction must either succeed or raise
a PackerError (UnsafeArchive, OperationFailed...), never a bare KeyError, struct.error,
RecursionError or the like, and never write outside their destination. Examples are
bounded so the suite stays quick; tests/fuzz/atheris_harness.py runs the same check longer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packer.archive.validator import Limits, extract_archive, inspect_archive
from packer.model.errors import PackerError
from tests.adversarial.rawzip import Member, build
from tests.fuzz.seeds import FORMATS, seed

LIMITS = Limits(max_entries=2_000, max_uncompressed_bytes=64 << 20)
EXAMPLES = int(os.environ.get("OCTOPACK_FUZZ_EXAMPLES", "120"))  # raise it for a longer hunt
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def check_bytes(data: bytes, fmt: str) -> None:
    """Inspect and extract `data` as `fmt`; allow success or our own errors only."""
    with tempfile.TemporaryDirectory(prefix="octopack-fuzz-") as temp:
        path = Path(temp) / f"Fuzz.1.0.0.{fmt}"
        path.write_bytes(data)
        out = Path(temp) / "out"
        try:
            inspect_archive(path, fmt, LIMITS)
        except PackerError:
            pass
        try:
            extract_archive(path, fmt, out, LIMITS)
        except PackerError:
            pass
        left = {p.name for p in Path(temp).iterdir()}
        assert left <= {path.name, "out"}, left  # nothing beside the destination


mutation = st.tuples(st.integers(min_value=0), st.binary(min_size=1, max_size=8))


@SETTINGS
@given(
    fmt=st.sampled_from(FORMATS),
    mutations=st.lists(mutation, max_size=6),
    cut=st.one_of(st.none(), st.integers(min_value=0)),
)
def test_mutated_seeds_give_only_our_errors(fmt: str, mutations: list, cut: int | None) -> None:
    data = bytearray(seed(fmt))
    for offset, patch in mutations:
        at = offset % len(data)
        data[at : at + len(patch)] = patch
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    check_bytes(bytes(data), fmt)


names = st.one_of(
    st.sampled_from(["a", "A", "a/b", "a/", "./a", "../a", "a//b", "/a", "C:a", "a\\b", "é", "é"]),
    st.text(min_size=0, max_size=40),
)
members = st.builds(
    lambda name, data, deflate, mode: Member(
        name.encode("utf-8", "surrogatepass"), data, deflate, mode
    ),
    names,
    st.binary(max_size=64),
    st.booleans(),
    st.one_of(st.none(), st.integers(min_value=0, max_value=0xFFFF)),
)


@SETTINGS
@given(entries=st.lists(members, max_size=8), fmt=st.sampled_from(["zip", "nupkg"]))
def test_random_zips_give_only_our_errors(entries: list[Member], fmt: str) -> None:
    check_bytes(build(entries), fmt)
