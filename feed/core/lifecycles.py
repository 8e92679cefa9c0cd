"""Stored lifecycles: a feed-wide default plus overrides by id or glob (`lifecycles.json`).

The rules (phases, which override applies) are `packer.model.lifecycles`, shared with the
targets that enforce them; this store only keeps the document, changed by compare-and-swap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from feed.core.errors import PackageNotFound
from feed.core.jsonrecords import Codec, JsonRecords, json_codec
from packer.model.lifecycles import Lifecycle, LifecycleTable, parse_phases
from packer.model.patterns import check_pattern
from storage import Storage

LIFECYCLES_KEY = "lifecycles.json"


def table_to_json(table: LifecycleTable) -> dict[str, Any]:
    """Return `{"default": [phases] | null, "packages": [[pattern, [phases]], ...]}`."""
    return {
        "default": list(table.default.phases) if table.default is not None else None,
        "packages": [[pattern, list(lifecycle.phases)] for pattern, lifecycle in table.packages],
    }


def _codec() -> Codec[LifecycleTable]:
    document = json_codec(indent=1)
    return Codec(
        lambda table: document.encode(table_to_json(table)),
        lambda data: LifecycleTable.from_json(document.decode(data)),
    )


class LifecycleStore:
    """The lifecycles of one feed, shared by every feed process through storage."""

    def __init__(self, storage: Storage) -> None:
        self._records = JsonRecords(storage, _codec())

    def table(self) -> LifecycleTable:
        """Return the stored lifecycles (none at all when nothing is set)."""
        found = self._records.read(LIFECYCLES_KEY)
        return found.value if found is not None else LifecycleTable()

    def for_package(self, package_id: str) -> Lifecycle | None:
        """Return the lifecycle that applies to one package (exact id, then longest glob)."""
        return self.table().for_package(package_id)

    def set(self, phases: Iterable[Any] | str, package: str | None) -> LifecycleTable:
        """Set the default (package None) or the override of one id or glob."""
        lifecycle = Lifecycle(parse_phases(phases))
        if package is not None:
            check_pattern(package)

        def change(table: LifecycleTable) -> LifecycleTable:
            if package is None:
                return LifecycleTable(lifecycle, table.packages)
            others = _without(table.packages, package)
            return LifecycleTable(table.default, tuple(sorted(others + ((package, lifecycle),))))

        return self._update(change)

    def clear(self, package: str | None) -> LifecycleTable:
        """Clear the default (package None) or one override; refuse an unknown override."""

        def change(table: LifecycleTable) -> LifecycleTable:
            if package is None:
                return LifecycleTable(None, table.packages)
            others = _without(table.packages, package)
            if len(others) == len(table.packages):
                raise PackageNotFound(f"no lifecycle is set for {package!r}")
            return LifecycleTable(table.default, others)

        return self._update(change)

    def _update(self, change: Callable[[LifecycleTable], LifecycleTable]) -> LifecycleTable:
        """Apply a change by compare-and-swap, retrying on a race."""
        swapped = self._records.update(
            LIFECYCLES_KEY,
            lambda current: change(current if current is not None else LifecycleTable()),
            "the lifecycles kept changing; try again",
        )
        return swapped.value


def _without(
    packages: tuple[tuple[str, Lifecycle], ...], pattern: str
) -> tuple[tuple[str, Lifecycle], ...]:
    """Return the overrides other than `pattern` (compared case-insensitively)."""
    return tuple((p, lc) for p, lc in packages if p.lower() != pattern.lower())
