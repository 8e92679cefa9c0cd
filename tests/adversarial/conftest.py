"""The adversarial suite's tally: what each endpoint did with each case, printed at the end.

The lead quotes "corpus size, cases refused per endpoint" from this table.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

ENDPOINTS = ("octopus POST /api/packages/raw", "nuget v3 publish", "nuget v2 PUT", "deploy --file")
TALLY: dict[str, Counter[str]] = defaultdict(Counter)
CASES_RUN: set[str] = set()


def record(case: str, endpoint: str, outcome: str) -> None:
    """Count one outcome ("refused" or "accepted") of one case at one endpoint."""
    CASES_RUN.add(case)
    TALLY[endpoint][outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the per-endpoint table when any adversarial case ran."""
    if not CASES_RUN:
        return
    write = terminalreporter.write_line
    terminalreporter.section("adversarial corpus")
    write(f"corpus size: {len(CASES_RUN)} cases")
    write(f"{'endpoint':34} {'refused':>8} {'accepted':>9}")
    for endpoint in ENDPOINTS:
        counts = TALLY[endpoint]
        write(f"{endpoint:34} {counts['refused']:>8} {counts['accepted']:>9}")
