"""Deployments in storage: immutable records, index markers and per-environment state.

Order of writes for one report: the record (create-if-absent under the target's UUID),
then its markers, then the (package, environment) state by compare-and-swap. Each step
is idempotent, so a retry after any crash finishes the job and stores nothing twice.
Every query about one package lists only that package's prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from feed.core.deployments.records import (
    ALL,
    INDEX,
    STATE,
    STATUSES,
    DeploymentRecord,
    check_record_id,
    id_of_marker,
    index_prefix,
    parse_report,
    record_key,
)
from feed.core.deployments.state import State, apply, is_applied, same_version
from feed.core.errors import BadRequest, PackageConflict, PackageNotFound
from feed.core.jsonrecords import RAW, Codec, JsonRecords, json_codec
from feed.core.parallel import read_all
from feed.core.repository import Repository
from packer.model.environments import check_name, name_key
from packer.model.errors import BadInput
from packer.model.identity import id_key, validate_id
from storage import Storage

_PLAIN = json_codec()
RECORD_CODEC: Codec[DeploymentRecord] = Codec(
    lambda record: _PLAIN.encode(record.to_json()),
    lambda data: DeploymentRecord.from_json(_PLAIN.decode(data)),
)


@dataclass(frozen=True)
class DeploymentPage:
    """One page of records, newest first; `total` is None for an unfiltered listing."""

    records: list[DeploymentRecord]
    total: int | None


class DeploymentStore:
    """Report, list and summarise deployments over a Storage shared by every feed process."""

    def __init__(self, storage: Storage, repository: Repository) -> None:
        self._records = JsonRecords(storage, RECORD_CODEC)
        self._markers = JsonRecords(storage, RAW)
        self._states: JsonRecords[State] = JsonRecords(storage, _PLAIN)
        self._repository = repository
        self._cache: dict[str, tuple[str, State]] = {}

    # -- reporting ---------------------------------------------------------------------------

    def report(self, body: Any) -> tuple[DeploymentRecord, bool]:
        """Store one reported deployment; return it and whether it is new (False: a retry)."""
        record = self._in_feed(parse_report(body))
        created = self._records.create(record.key, record) is not None
        if not created:
            stored = self.get(record.id)
            if stored != record:
                raise PackageConflict(
                    f"id: deployment {record.id} is stored already with other contents; "
                    "a new deployment needs a new id"
                )
        for marker in (f"{record.index_prefix}{record.marker_name}", f"{ALL}{record.marker_name}"):
            self._markers.create(marker, b"")
        self._fold(record)
        return record, created

    def _in_feed(self, record: DeploymentRecord) -> DeploymentRecord:
        """Return the record with the feed's spelling of id and version; 400 when absent."""
        try:
            found = self._repository.get(record.package_id, record.version)
        except PackageNotFound:
            if not self._repository.list_versions(record.package_id):
                raise BadRequest(
                    f"package_id: no package {record.package_id} in the feed"
                ) from None
            raise BadRequest(
                f"version: {record.package_id} {record.version} is not in the feed"
            ) from None
        return DeploymentRecord(
            **{**record.to_json(), "package_id": found.id, "version": found.version}
        )

    def _fold(self, record: DeploymentRecord) -> None:
        """Fold the record into its (package, environment) state unless it is there already."""
        key = record.state_key
        found = self._states.read(key)
        if is_applied(found.value if found is not None else None, record):
            return
        conflict = f"the state of {record.package_id} in {record.environment} kept changing"
        self._states.update(key, lambda current: apply(current, record), conflict)

    # -- reading -----------------------------------------------------------------------------

    def get(self, record_id: str) -> DeploymentRecord:
        """Return one record; PackageNotFound when there is none."""
        try:
            key = record_key(check_record_id(record_id))
        except BadRequest:
            raise PackageNotFound(f"no deployment {record_id!r}: ids are UUIDs") from None
        found = self._records.read(key)
        if found is None:
            raise PackageNotFound(f"no deployment {record_id}")
        return found.value

    def list(
        self,
        package_id: str | None = None,
        environment: str | None = None,
        status: str | None = None,
        skip: int = 0,
        take: int = 30,
    ) -> DeploymentPage:
        """Return a page of records, newest first, filtered by package, environment, status."""
        if package_id is not None:
            package_id = _query("packageId", package_id, validate_id)
        if environment is not None:
            environment = _query("environment", environment, check_name)
        if status is not None and status not in STATUSES:
            raise BadRequest(f"status: {status!r} is not {' or '.join(STATUSES)}")
        markers = self._markers_for(package_id, environment)
        counted = package_id is not None or environment is not None
        if status is None:
            if not counted:
                return DeploymentPage(
                    list(self._read_all(islice(markers, skip, skip + take))), None
                )
            keys = list(markers)
            return DeploymentPage(list(self._read_all(keys[skip : skip + take])), len(keys))
        matching = (record for record in self._read_all(markers) if record.status == status)
        if not counted:
            return DeploymentPage(list(islice(matching, skip, skip + take)), None)
        everything = list(matching)
        return DeploymentPage(everything[skip : skip + take], len(everything))

    def _markers_for(self, package_id: str | None, environment: str | None) -> Iterator[str]:
        """Yield marker keys newest first: one prefix when possible, merged when not."""
        if package_id is None and environment is None:
            return (info.key for info in self._markers.listing(ALL))
        if package_id is not None:
            prefixes = [index_prefix(package_id, environment)]
        else:
            wanted = f"/{name_key(environment or '')}.json"
            prefixes = [
                f"{INDEX}{info.key[len(STATE) : -len(wanted)]}/{name_key(environment or '')}/"
                for info in self._states.listing(STATE)
                if info.key.endswith(wanted)
            ]
        keys = [info.key for prefix in prefixes for info in self._markers.listing(prefix)]
        return iter(sorted(keys, key=lambda key: key.rsplit("/", 1)[-1]))

    def _read_all(self, markers: Iterable[str]) -> Iterator[DeploymentRecord]:
        """Yield the records markers name, skipping a marker whose record is missing."""
        for marker in markers:
            found = self._records.read(record_key(id_of_marker(marker)))
            if found is not None:
                yield found.value

    # -- state -------------------------------------------------------------------------------

    def states(self, package_id: str) -> list[State]:
        """Return the state of one package in every environment it was deployed to."""
        return [state for _, state in self._states_under(f"{STATE}{id_key(package_id)}/")]

    def states_by_package(self) -> dict[str, list[State]]:
        """Return {id-lower: states} of every deployed package from one listing (retention)."""
        by_id: dict[str, list[State]] = {}
        for key, state in self._states_under(STATE):
            by_id.setdefault(key[len(STATE) :].split("/", 1)[0], []).append(state)
        return by_id

    def environments(self) -> list[dict[str, Any]]:
        """Return per environment each package's current version, when, and on how many targets."""
        by_name: dict[str, dict[str, Any]] = {}
        for _, state in self._states_under(STATE):
            name = state["environment"]
            group = by_name.setdefault(name_key(name), {"name": name, "packages": []})
            group["packages"].append(_summary(state))
        ordered = [by_name[key] for key in sorted(by_name)]
        for group in ordered:
            group["packages"].sort(key=lambda item: item["package_id"].lower())
        return ordered

    def _states_under(self, prefix: str) -> list[tuple[str, State]]:
        """Return (key, state) below a prefix in key order, reading changed ones in parallel."""
        listed = [info for info in self._states.listing(prefix) if info.key.endswith(".json")]
        stale = [
            info.key
            for info in listed
            if not (info.etag and self._cache.get(info.key, ("",))[0] == info.etag)
        ]
        for key, found in zip(stale, read_all(self._states.read, stale), strict=True):
            if found is not None:
                self._cache[key] = (found.etag, found.value)
            else:
                self._cache.pop(key, None)
        found_now = [(info.key, self._cache.get(info.key)) for info in listed]
        return [(key, cached[1]) for key, cached in found_now if cached is not None]


def _summary(state: State) -> dict[str, Any]:
    """Return one package's line of the environments answer."""
    current, last = state["current"], state["last"]
    version = current["version"] if current is not None else None
    running = sum(
        1
        for target in state["targets"].values()
        if version is not None
        and target["status"] == "succeeded"
        and same_version(target["version"], version)
    )
    return {
        "package_id": state["package_id"],
        "version": version,
        "deployed": current["finished"] if current is not None else None,
        "targets": running,
        "last_status": last["status"] if last is not None else None,
    }


def _query(name: str, value: str, check: Any) -> str:
    """Check a query parameter with a model check; BadRequest naming the parameter."""
    try:
        return check(value)
    except BadInput as error:
        raise BadRequest(f"{name}: {error}") from None
