"""Feed retention rules and the pure planner: versions + rules + pins + clock -> decisions.

Nothing here touches storage, so every decision can be tested and explained on its own.
A version is deleted only when no rule keeps it; each decision carries the rule text
that decided it (`kept: newest 5 stable`, `deleted: beyond newest 10 prerelease`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from packer.model.errors import BadInput
from packer.model.patterns import best_match, check_pattern, is_glob, matches
from packer.model.versions import NuGetVersion

__all__ = ["check_pattern", "is_glob", "matches"]  # retention's callers import them from here

KEPT = "kept"
DELETED = "deleted"
DEFAULT_KEEP_DEPLOYED = 2  # current + previous, per environment


@dataclass(frozen=True)
class RuleSpec:
    """One retention rule: its JSON key (and `Rules` field) and what it does, in CLI words."""

    name: str
    metavar: str  # the letter the help text uses
    help: str

    @property
    def option(self) -> str:
        """Return the command-line option (`--keep-last`)."""
        return option_of(self.name)


# The one table of retention rules: the CLI's options, the API's keys and `Rules` follow it.
RULES = (
    RuleSpec("keep_last", "N", "Keep the newest N stable versions."),
    RuleSpec(
        "keep_prerelease", "M", "Keep the newest M prerelease versions (per group, see below)."
    ),
    RuleSpec(
        "prerelease_group_labels",
        "K",
        "Count prereleases per group of their first K labels (beta vs feature-x).",
    ),
    RuleSpec(
        "keep_days", "D", "Keep everything published in the last D days; absent counts are 0."
    ),
    RuleSpec(
        "keep_deployed",
        "N",
        "Keep the last N versions that succeeded in each environment (default 2; the "
        "current and previous ones are always kept).",
    ),
)
RULE_NAMES = tuple(rule.name for rule in RULES)


def option_of(name: str) -> str:
    """Return the command-line option of a rule name (`keep_last` -> `--keep-last`)."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Rules:
    """One set of retention rules; None means the rule was not given."""

    keep_last: int | None = None
    keep_prerelease: int | None = None
    prerelease_group_labels: int | None = None
    keep_days: int | None = None
    keep_deployed: int | None = None

    def __post_init__(self) -> None:
        """Refuse negative or non-integer counts and a group size without a prerelease count."""
        for name in RULE_NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadInput(f"{option_of(name)} must be a whole number >= 0, got {value!r}")
        if self.prerelease_group_labels is not None and self.keep_prerelease is None:
            raise BadInput("--prerelease-group-labels needs --keep-prerelease (what to count)")

    @property
    def is_empty(self) -> bool:
        """True when no rule is given: such a policy deletes nothing."""
        return all(getattr(self, name) is None for name in RULE_NAMES)

    def to_dict(self) -> dict[str, int]:
        """Return the given rules as JSON-ready snake_case keys (absent rules left out)."""
        return {name: getattr(self, name) for name in RULE_NAMES if getattr(self, name) is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rules:
        """Build rules from stored or posted JSON, naming any key we do not know."""
        if not isinstance(data, Mapping):
            raise BadInput(f"retention rules must be a JSON object, got {data!r}")
        unknown = sorted(set(data) - set(RULE_NAMES))
        if unknown:
            raise BadInput(f"unknown retention rule {unknown[0]!r}; known: {', '.join(RULE_NAMES)}")
        return cls(**{k: v for k, v in data.items() if v is not None})

    def describe(self) -> str:
        """Say the rules in command-line words, for `policy show` and logs."""
        if self.is_empty:
            return "(no rules: nothing is deleted)"
        return " ".join(
            f"{option_of(name)} {getattr(self, name)}"
            for name in RULE_NAMES
            if getattr(self, name) is not None
        )


@dataclass(frozen=True)
class Policy:
    """The stored policy: a feed-wide default and per-package overrides by id or glob.

    An override replaces the default whole (rules are not merged); which override applies
    is `packer.model.patterns.best_match` (exact id, then the longest glob), as for
    lifecycles and channels.
    """

    default: Rules = Rules()
    packages: tuple[tuple[str, Rules], ...] = ()

    def rules_for(self, package_id: str) -> Rules:
        """Return the rules that apply to one package."""
        return best_match(self.packages, package_id, self.default)

    def with_rules(self, pattern: str | None, rules: Rules) -> Policy:
        """Return a copy with the default (pattern None) or one override set."""
        if pattern is None:
            return Policy(rules, self.packages)
        check_pattern(pattern)
        others = tuple((p, r) for p, r in self.packages if p.lower() != pattern.lower())
        return Policy(self.default, tuple(sorted(others + ((pattern, rules),))))

    def without(self, pattern: str | None) -> Policy:
        """Return a copy with the default (pattern None) or one override removed."""
        if pattern is None:
            return Policy(Rules(), self.packages)
        return Policy(
            self.default, tuple((p, r) for p, r in self.packages if p.lower() != pattern.lower())
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document stored in the feed and shown by `policy show`."""
        return {
            "default": self.default.to_dict(),
            "packages": {pattern: rules.to_dict() for pattern, rules in self.packages},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Read a stored policy document."""
        if not isinstance(data, Mapping):
            raise BadInput(f"a retention policy must be a JSON object, got {data!r}")
        packages = data.get("packages") or {}
        if not isinstance(packages, Mapping):
            raise BadInput("retention policy 'packages' must map id patterns to rules")
        overrides = tuple(
            sorted((check_pattern(p), Rules.from_dict(r)) for p, r in packages.items())
        )
        return cls(Rules.from_dict(data.get("default") or {}), overrides)


@dataclass(frozen=True)
class Candidate:
    """One stored version as the planner sees it (listed or not: unlisted count the same)."""

    id: str
    version: NuGetVersion
    published: datetime


@dataclass(frozen=True)
class Decision:
    """What retention does with one version and the rule that decided it."""

    id: str
    version: str
    decision: str
    rule: str

    @property
    def deleted(self) -> bool:
        """True when the plan deletes this version."""
        return self.decision == DELETED

    def to_json(self) -> dict[str, str]:
        """Return the keys of the retention JSON contract."""
        return {
            "id": self.id,
            "version": self.version,
            "decision": self.decision,
            "rule": self.rule,
        }


def group_of(version: NuGetVersion, labels: int | None) -> str:
    """Return the prerelease group: the first `labels` release labels, lower case."""
    if not labels:
        return ""
    return ".".join(version.release_labels[:labels]).lower()


def plan_package(
    candidates: Iterable[Candidate],
    rules: Rules,
    pins: Iterable[str],
    now: datetime,
    deployed: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Decide every version of one package, newest first, as of `now` (the run's start).

    `pins` holds normalised versions; `deployed` maps normalised lower-case versions that
    deployments keep to their rule text (`current in Production`). Versions published at
    or after `now` are kept and do not count, so the plan is the one the feed's state just
    before `now` gives.
    """
    pinned = {p.lower() for p in pins}
    deployed = deployed or {}
    ordered = sorted(candidates, key=lambda c: c.version, reverse=True)
    present = [c for c in ordered if c.published < now]
    latest = _latest(present)
    empty = rules.is_empty
    stable_seen = 0
    group_seen: dict[str, int] = {}
    decisions = []
    for candidate in ordered:
        if candidate.published >= now:
            rule = (KEPT, "pushed after the run started")
        elif candidate.version.is_prerelease:
            group = group_of(candidate.version, rules.prerelease_group_labels)
            rank = group_seen.get(group, 0)
            group_seen[group] = rank + 1
            rule = _decide(candidate, rules, pinned, latest, now, rank, group, empty)
        else:
            rule = _decide(candidate, rules, pinned, latest, now, stable_seen, None, empty)
            stable_seen += 1
        kept_by_deployment = deployed.get(candidate.version.normalized.lower())
        if kept_by_deployment and candidate.published < now and rule[1] != "pinned":
            rule = (KEPT, kept_by_deployment)
        decisions.append(Decision(candidate.id, str(candidate.version), rule[0], rule[1]))
    return decisions


def _latest(present: list[Candidate]) -> Candidate | None:
    """Return the latest stable version, or the latest of all when none is stable."""
    for candidate in present:
        if not candidate.version.is_prerelease:
            return candidate
    return present[0] if present else None


def _decide(
    candidate: Candidate,
    rules: Rules,
    pinned: set[str],
    latest: Candidate | None,
    now: datetime,
    rank: int,
    group: str | None,
    empty: bool,
) -> tuple[str, str]:
    """Return (decision, rule text) for one version given its rank among its kind."""
    if candidate.version.normalized.lower() in pinned:
        return KEPT, "pinned"
    if candidate is latest:
        kind = "stable" if not candidate.version.is_prerelease else "version (none is stable)"
        return KEPT, f"latest {kind}"
    if empty:
        return KEPT, "no retention rule"
    kind = "stable" if group is None else "prerelease"
    if group:
        kind += f" in group {group}"
    given = rules.keep_last if group is None else rules.keep_prerelease
    if given is None and rules.keep_days is None:
        return KEPT, f"no {'stable' if group is None else 'prerelease'} rule"
    count = given or 0
    if rank < count:
        return KEPT, f"newest {count} {kind}"
    if rules.keep_days is not None:
        if candidate.published >= now - timedelta(days=rules.keep_days):
            return KEPT, f"published in the last {rules.keep_days} days"
        if given is None:
            return DELETED, f"older than {rules.keep_days} days"
        return DELETED, f"beyond newest {count} {kind}, older than {rules.keep_days} days"
    return DELETED, f"beyond newest {count} {kind}"
