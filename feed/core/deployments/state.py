"""The state of one package in one environment, folded from its deployment records.

`apply(state, record)` is pure and idempotent: a record already in `applied` changes
nothing, so a retried report, or a replay after a crash between the record and its
state, is safe. Records may arrive out of order; `finished` times decide.

Document: `{"package_id", "environment", "current", "previous", "last", "succeeded",
"targets", "applied"}` (see docs/deployments.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feed.core.deployments.records import DeploymentRecord
from packer.model.versions import parse_version

APPLIED_LIMIT = 64
SUCCEEDED_LIMIT = 200

State = dict[str, Any]


def new_state(record: DeploymentRecord) -> State:
    """Return the empty state of the record's package and environment."""
    return {
        "package_id": record.package_id,
        "environment": record.environment,
        "current": None,
        "previous": None,
        "last": None,
        "succeeded": [],
        "targets": {},
        "applied": [],
    }


def is_applied(state: State | None, record: DeploymentRecord) -> bool:
    """True when the state already holds this record."""
    return state is not None and record.id in state["applied"]


def apply(state: State | None, record: DeploymentRecord) -> State:
    """Return the state with one more record folded in (unchanged copy when applied)."""
    state = new_state(record) if state is None else _copy(state)
    if record.id in state["applied"]:
        return state
    entry = {"version": record.version, "finished": record.finished, "record": record.id}
    if _newer(record, state["last"]):
        state["last"] = {**entry, "status": record.status}
    target = state["targets"].get(record.target)
    if _newer(record, target):
        state["targets"][record.target] = {
            "version": record.version,
            "status": record.status,
            "finished": record.finished,
        }
    if record.succeeded:
        _succeeded(state, record, entry)
    state["applied"] = (state["applied"] + [record.id])[-APPLIED_LIMIT:]
    return state


def same_version(a: str, b: str) -> bool:
    """Compare two versions by value (1.0 is 1.0.0)."""
    return parse_version(a) == parse_version(b)


def _succeeded(state: State, record: DeploymentRecord, entry: dict[str, str]) -> None:
    """Move current and previous on, and keep the list of versions that succeeded."""
    current = state["current"]
    if _newer(record, current):
        if current is not None and not same_version(current["version"], record.version):
            state["previous"] = current
        state["current"] = entry
        _place(state, record.version, 0)
    elif same_version(current["version"], record.version):
        pass  # an older success of the current version: nothing moves
    elif _newer(record, state["previous"]):
        state["previous"] = entry  # a late report of the version before current
        _place(state, record.version, 1)
    elif not any(same_version(v, record.version) for v in state["succeeded"]):
        state["succeeded"].append(record.version)
    state["succeeded"] = state["succeeded"][:SUCCEEDED_LIMIT]


def _place(state: State, version: str, index: int) -> None:
    """Put a version at `index` of `succeeded`, removing its earlier place."""
    others = [v for v in state["succeeded"] if not same_version(v, version)]
    others.insert(min(index, len(others)), version)
    state["succeeded"] = others


def _newer(record: DeploymentRecord, entry: dict[str, Any] | None) -> bool:
    """True when the record finished at or after an entry (or there is none)."""
    return entry is None or record.finished_at >= _finished(entry)


def _finished(entry: dict[str, Any]) -> datetime:
    """Return an entry's finished time."""
    return datetime.fromisoformat(entry["finished"])


def _copy(state: State) -> State:
    """Return a copy deep enough that `apply` never changes its argument."""
    copied = dict(state)
    copied["targets"] = dict(state["targets"])
    copied["succeeded"] = list(state["succeeded"])
    copied["applied"] = list(state["applied"])
    return copied
