"""A real storage with hooks: run code before a chosen operation, or crash after N calls.

Fault injection at the storage boundary instead of timing: a test decides exactly where
a concurrent push lands or where a job is killed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from storage import Storage

OPERATIONS = (
    "put_blob",
    "create_record",
    "read_record",
    "replace_record",
    "delete_record",
    "open_blob",
    "stat",
    "list",
    "delete",
)


class Killed(BaseException):
    """The simulated death of a job (BaseException: no `except Exception` swallows it)."""


class HookedStorage:
    """Delegate to a real storage; call `before(op, key)` first; die after `crash_after` calls."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.before: Callable[[str, str], None] | None = None
        self.crash_after: int | None = None
        self.count = 0
        self._lock = threading.Lock()

    @property
    def calls(self):  # noqa: ANN201 - the inner Counter
        return self.inner.calls

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in OPERATIONS:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:  # retention deletes from several threads
                if self.crash_after is not None and self.count >= self.crash_after:
                    raise Killed(f"killed before {name} {args[:1]}")
                self.count += 1
            if self.before is not None:
                self.before(name, str(args[0]) if args else "")
            return target(*args, **kwargs)

        return call
