"""Lifecycles: the order of environments a version is promoted through.

With phases `Test,Production`, Production takes only a version that succeeded in Test;
the first phase, and environments outside the lifecycle, take any version. The feed
stores a default plus overrides by id or glob (see `patterns`); targets enforce it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packer.model.environments import check_name
from packer.model.errors import BadInput
from packer.model.patterns import best_match, check_pattern

__all__ = ["Lifecycle", "LifecycleTable", "parse_phases"]


def _check_phase(phase: Any) -> str:
    """Return an environment name fit to be a phase; BadInput naming it otherwise."""
    return check_name(phase, "lifecycle phase")


def parse_phases(phases: Iterable[Any] | str) -> tuple[str, ...]:
    """Read `Test,Production` or a list of names; BadInput when empty or repeated."""
    items = phases.split(",") if isinstance(phases, str) else list(phases)
    checked = tuple(_check_phase(p.strip() if isinstance(p, str) else p) for p in items)
    if not checked:
        raise BadInput("a lifecycle needs at least one phase, e.g. Test,Production")
    lowered = [p.lower() for p in checked]
    repeated = sorted({p for p in checked if lowered.count(p.lower()) > 1})
    if repeated:
        raise BadInput(f"lifecycle phase {repeated[0]!r} is given more than once")
    return checked


@dataclass(frozen=True)
class Lifecycle:
    """Phases in promotion order; environment names compare case-insensitively."""

    phases: tuple[str, ...]

    def phase_before(self, environment: str | None) -> str | None:
        """Return the phase a version must have passed to enter `environment`, or None."""
        lowered = [p.lower() for p in self.phases]
        if environment is None or environment.lower() not in lowered:
            return None
        index = lowered.index(environment.lower())
        return self.phases[index - 1] if index > 0 else None

    def __str__(self) -> str:
        return ",".join(self.phases)


@dataclass(frozen=True)
class LifecycleTable:
    """The stored lifecycles: a feed-wide default and overrides by id or glob."""

    default: Lifecycle | None = None
    packages: tuple[tuple[str, Lifecycle], ...] = ()

    def for_package(self, package_id: str) -> Lifecycle | None:
        """Return the lifecycle of one package (exact id beats glob, longest glob wins)."""
        return best_match(self.packages, package_id, self.default)

    @classmethod
    def from_json(cls, document: Any) -> LifecycleTable:
        """Read `{"default": [phases] | null, "packages": [[pattern, [phases]], ...]}`."""
        if not isinstance(document, Mapping):
            raise BadInput(f"lifecycles must be a JSON object, got {document!r:.200}")
        default = document.get("default")
        packages = document.get("packages") or []
        pairs = packages.items() if isinstance(packages, Mapping) else packages
        try:
            overrides = tuple(
                (check_pattern(pattern), Lifecycle(parse_phases(phases)))
                for pattern, phases in pairs
            )
        except (TypeError, ValueError):
            raise BadInput("lifecycle 'packages' must pair id patterns with phases") from None
        return cls(Lifecycle(parse_phases(default)) if default else None, overrides)
