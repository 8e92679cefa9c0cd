"""The corpus against the validator alone: quick, and names the rule before the HTTP tests do."""

from __future__ import annotations

from pathlib import Path

import pytest

from packer.archive.validator import NAME_COLLISION, inspect_archive
from packer.model.errors import PackerError
from tests.adversarial.corpus import ACCEPTED, REFUSED, Case


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.name)
def test_refused_case_is_refused_by_inspection(case: Case, tmp_path: Path) -> None:
    path, fragment = case.write(tmp_path, "Hostile")
    assert fragment
    if case.identity:
        return  # refused by the callers' id and version checks (the endpoint tests)
    with pytest.raises(PackerError) as caught:
        inspect_archive(path)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.name)
def test_accepted_case_passes_inspection(case: Case, tmp_path: Path) -> None:
    path, fragment = case.write(tmp_path, "Odd")
    assert fragment is None
    info = inspect_archive(path)
    if "collision" in case.name:
        [warning] = info.collisions
        assert warning.kind == NAME_COLLISION and len(warning.names) == 2


def test_corpus_is_large_enough() -> None:
    by_kind = {
        kind: [c for c in REFUSED if c.extension == kind] for kind in ("zip", "nupkg", "tar.gz")
    }
    assert len(REFUSED) >= 60
    assert all(len(cases) >= 10 for cases in by_kind.values()), {
        k: len(v) for k, v in by_kind.items()
    }
