"""Template filters: times, sizes and short hashes as people read them."""

from __future__ import annotations

from datetime import datetime


def when(text: str | None) -> str:
    """Show an ISO-8601 time as `2026-11-22 12:00 UTC`."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def size(count: int | None) -> str:
    """Show a byte count in binary units (`12.3 KiB`)."""
    if count is None:
        return ""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} bytes"


FILTERS = {"when": when, "size": size}
