"""What deployments keep: per environment the current version, the previous one (for
rollback) and the newest N that succeeded there (`--keep-deployed N`, default 2).

Pure: it reads the (package, environment) state documents the deployments store keeps
(one read per environment of the package) and returns the rule text per version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from feed.retention.policy import DEFAULT_KEEP_DEPLOYED
from packer.model.versions import parse_version

_CURRENT, _PREVIOUS, _RECENT = 0, 1, 2


def deployed_rules(states: Iterable[Mapping[str, Any]], keep: int | None) -> dict[str, str]:
    """Return {normalised lower-case version: rule text} for the versions deployments keep.

    Texts: `current in Production`, `previous in Production (rollback)`,
    `newest 3 deployed in Test`; a version kept in several environments names each.
    """
    count = DEFAULT_KEEP_DEPLOYED if keep is None else keep
    best: dict[tuple[str, str], tuple[int, str]] = {}  # (version, env) -> (rank, text)
    for state in states:
        environment = state["environment"]
        found = []
        if state.get("current"):
            found.append((_CURRENT, state["current"]["version"], f"current in {environment}"))
        if state.get("previous"):
            text = f"previous in {environment} (rollback)"
            found.append((_PREVIOUS, state["previous"]["version"], text))
        for version in state.get("succeeded", [])[:count]:
            found.append((_RECENT, version, f"newest {count} deployed in {environment}"))
        for rank, version, text in found:
            slot = (parse_version(version).normalized.lower(), environment.lower())
            if slot not in best or rank < best[slot][0]:
                best[slot] = (rank, text)
    by_version: dict[str, list[tuple[int, str, str]]] = {}
    for (version, environment), (rank, text) in best.items():
        by_version.setdefault(version, []).append((rank, environment, text))
    return {
        version: ", ".join(text for _, _, text in sorted(reasons))
        for version, reasons in by_version.items()
    }
