"""Log line formats of `octopack serve --log-format`: text, or one JSON object per line.

Imported by the server's master process, so it imports nothing that must wait for the
workers (prometheus-client picks its multi-process mode when first imported).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """Format every record as one JSON object: time, level, logger, message and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "log": _log_name(record.name),
            "message": record.getMessage(),
        }
        document.update(getattr(record, "fields", {}))
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Format records as `[time] [pid] [LEVEL] message`, access lines with size and time."""

    def __init__(self) -> None:
        super().__init__(
            "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s", "%Y-%m-%d %H:%M:%S %z"
        )

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        fields = getattr(record, "fields", None)
        if fields:
            extra = f" {fields['bytes']}B {fields['duration'] * 1000:.1f}ms"
            if fields["key"]:
                extra += f" key={fields['key']}"
            record.message = record.message + extra
        return super().formatMessage(record)


def _log_name(logger: str) -> str:
    """Name the log a line belongs to: access, audit, or the feed's own."""
    return {"feed.access": "access", "feed.audit": "audit"}.get(logger, "feed")


def formatter_for(log_format: str) -> logging.Formatter:
    """Return the formatter of a --log-format value."""
    return JsonFormatter() if log_format == "json" else TextFormatter()
