"""Deployment records: what a target reports after a deployment, checked field by field.

A record is immutable and stored once under the UUID the target chose, so a retried
report lands on the same name. Every refusal names the field (`status: ...`), and is a
`BadRequest`, which the HTTP layer answers with 400.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from feed.core.errors import BadRequest
from feed.core.records import iso_utc
from packer.model.environments import check_name, name_key
from packer.model.errors import BadInput
from packer.model.identity import id_key, validate_id
from packer.model.versions import parse_version

STATUSES = ("succeeded", "failed")
SUCCEEDED = "succeeded"
REQUIRED = ("package_id", "version", "environment", "target", "status", "started", "finished")
PREFIX = "deployments/"
RECORDS = "deployments/records/"
INDEX = "deployments/index/"
ALL = "deployments/all/"
STATE = "deployments/state/"
_INV_BASE = 9_999_999_999_999  # 13 digits of epoch milliseconds last until the year 2286
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DeploymentRecord:
    """One reported deployment; `to_json` is the record of the HTTP and CLI contracts."""

    id: str
    package_id: str
    version: str
    environment: str
    target: str
    status: str
    started: str
    finished: str
    forced: bool = False

    @property
    def succeeded(self) -> bool:
        """True when the deployment succeeded."""
        return self.status == SUCCEEDED

    @property
    def finished_at(self) -> datetime:
        """Return when the deployment finished."""
        return datetime.fromisoformat(self.finished)

    def to_json(self) -> dict[str, Any]:
        """Return the record as stored and served, `id` first."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentRecord:
        """Read a stored record."""
        return cls(**data)

    # -- where it lives ----------------------------------------------------------------------

    @property
    def key(self) -> str:
        """Return `deployments/records/{uuid}.json`."""
        return record_key(self.id)

    @property
    def marker_name(self) -> str:
        """Return `{inv}-{uuid}`: a plain listing of markers is newest first."""
        millis = (self.finished_at - _EPOCH) // timedelta(milliseconds=1)
        return f"{_INV_BASE - millis:013d}-{self.id}"

    @property
    def index_prefix(self) -> str:
        """Return `deployments/index/{id-lower}/{env-lower}/`."""
        return index_prefix(self.package_id, self.environment)

    @property
    def state_key(self) -> str:
        """Return `deployments/state/{id-lower}/{env-lower}.json`."""
        return state_key(self.package_id, self.environment)


def record_key(record_id: str) -> str:
    """Return the key of one record."""
    return f"{RECORDS}{record_id}.json"


def index_prefix(package_id: str, environment: str | None = None) -> str:
    """Return the marker prefix of a package, or of a package in one environment."""
    prefix = f"{INDEX}{id_key(package_id)}/"
    return prefix if environment is None else f"{prefix}{name_key(environment)}/"


def state_key(package_id: str, environment: str) -> str:
    """Return the key of the state document of (package, environment)."""
    return f"{STATE}{id_key(package_id)}/{name_key(environment)}.json"


def id_of_marker(key: str) -> str:
    """Return the record id a marker key names (`.../{inv}-{uuid}`)."""
    return key.rsplit("/", 1)[-1].split("-", 1)[1]


def check_record_id(value: Any) -> str:
    """Return a UUID in its canonical lower-case form; BadRequest naming `id` otherwise."""
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _bad("id", value, "a UUID")
    except ValueError:
        return _bad("id", value, "a UUID")


def parse_report(body: Any) -> DeploymentRecord:
    """Check a reported deployment and return it as a record (a new UUID when none is given).

    Whether the package version exists is the store's check; everything else is here.
    """
    if not isinstance(body, dict):
        raise BadRequest("send a JSON object: a deployment record")
    missing = [name for name in REQUIRED if body.get(name) is None]
    if missing:
        raise BadRequest(f"{missing[0]}: missing (a deployment record needs {', '.join(REQUIRED)})")
    record_id = check_record_id(body["id"]) if body.get("id") is not None else str(uuid.uuid4())
    package_id = _checked("package_id", body["package_id"], validate_id)
    version = _checked("version", body["version"], lambda text: str(parse_version(text)))
    environment = _checked("environment", body["environment"], check_name)
    target = _checked("target", body["target"], lambda text: check_name(text, "target"))
    status = body["status"]
    if status not in STATUSES:
        _bad("status", status, " or ".join(STATUSES))
    started, finished = _time("started", body["started"]), _time("finished", body["finished"])
    if finished < started:
        raise BadRequest(f"finished: {body['finished']!r} is before started {body['started']!r}")
    forced = body.get("forced", False)
    if not isinstance(forced, bool):
        _bad("forced", forced, "true or false")
    return DeploymentRecord(
        record_id,
        package_id,
        version,
        environment,
        target,
        status,
        iso_utc(started),
        iso_utc(finished),
        forced,
    )


def _checked(field: str, value: Any, check: Any) -> str:
    """Run a model check on a string field; name the field when it refuses."""
    if not isinstance(value, str):
        _bad(field, value, "a string")
    try:
        return check(value)
    except BadInput as error:
        raise BadRequest(f"{field}: {error}") from None


def _time(field: str, value: Any) -> datetime:
    """Read an ISO-8601 time (UTC when it names no offset); BadRequest naming the field."""
    if not isinstance(value, str):
        _bad(field, value, "an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        _bad(field, value, "an ISO-8601 time such as 2026-11-22T12:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _bad(field: str, value: Any, wanted: str) -> Any:
    """Refuse one field, saying what it must be."""
    raise BadRequest(f"{field}: {value!r:.100} is not {wanted}")
