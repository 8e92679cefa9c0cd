"""The deployment journal of a target: `.octopack/journal.json`, replaced atomically.

Every deployment (successful, failed or refused) is one entry; target retention reads it
to decide which release directories stay. Concurrent deploys of different packages
update it under a short flock, so no update is lost.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packer.model.conventions import DeployStatus
from packer.model.errors import OperationFailed
from packer.target.private import open_private, private_dir

JOURNAL_NAME = "journal.json"


MAX_WORD = 160  # longer words (deep entry paths) keep their ends only
MAX_MESSAGE = 1000


def one_line(text: str) -> str:
    """Return `text` as one readable line: no line breaks, very long paths and text elided."""
    words = [
        w if len(w) <= MAX_WORD else f"{w[: MAX_WORD // 2 - 10]}...({len(w)} chars)...{w[-40:]}"
        for w in text.split()
    ]
    line = " ".join(words)
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 3] + "..."


def utc_now() -> str:
    """Return the current UTC time as ISO-8601 with seconds and a `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class JournalEntry:
    """One deployment attempt as the journal records it."""

    id: str
    version: str
    environment: str | None
    directory: str | None
    started: str
    finished: str | None = None
    success: bool = False
    status: str = DeployStatus.RUNNING  # then success, failed or refused
    steps: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    package_file: str | None = None  # a cache file this deploy downloaded (retention drops it)
    sha256: str | None = None
    deleted: str | None = None  # when target retention removed the directory
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalEntry:
        """Build an entry from its JSON form, ignoring keys a newer octopack may add."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def write_json_atomically(path: Path, document: Any) -> None:
    """Write JSON to a temp file beside `path`, fsync it, and rename it over `path`.

    The temp file is mkstemp's, 0600, so the journal is readable by its owner only.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Journal:
    """Read and update `{state_dir}/journal.json` under an exclusive lock."""

    def __init__(self, state_dir: Path, now: Callable[[], str] = utc_now) -> None:
        self.state_dir = state_dir
        self.path = state_dir / JOURNAL_NAME
        self.now = now

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles across processes."""
        private_dir(self.state_dir)
        fd = open_private(self.state_dir / "journal.lock", os.O_RDWR)
        with os.fdopen(fd, "r+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield

    def _read_unlocked(self) -> list[JournalEntry]:
        """Parse the journal file; a missing file is an empty journal."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            document = json.loads(text)
            return [JournalEntry.from_dict(item) for item in document["deployments"]]
        except (ValueError, KeyError, TypeError) as error:
            raise OperationFailed(
                f"journal {self.path} is not a valid octopack journal ({error}); "
                "move it aside to start a new one"
            ) from error

    def entries(self) -> list[JournalEntry]:
        """Return every recorded deployment, oldest first."""
        with self._locked():
            return self._read_unlocked()

    def _write_unlocked(self, entries: list[JournalEntry]) -> None:
        """Replace the journal file with `entries`."""
        write_json_atomically(self.path, {"deployments": [asdict(e) for e in entries]})

    def record(self, entry: JournalEntry) -> None:
        """Add `entry`, or replace the entry with the same key."""
        with self._locked():
            entries = self._read_unlocked()
            positions = [i for i, e in enumerate(entries) if e.key == entry.key]
            if positions:
                entries[positions[0]] = entry
            else:
                entries.append(entry)
            self._write_unlocked(entries)

    def mark_deleted(self, keys: set[str]) -> None:
        """Note that target retention removed the directories of these entries."""
        if not keys:
            return
        with self._locked():
            entries = self._read_unlocked()
            stamp = self.now()
            for entry in entries:
                if entry.key in keys and entry.deleted is None:
                    entry.deleted = stamp
            self._write_unlocked(entries)
