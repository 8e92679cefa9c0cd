"""Feed configuration: one dataclass filled from `octopack serve` options and OCTOPACK_* vars."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime

from feed.core.errors import BadRequest

GIB = 1024**3
DEFAULT_STORAGE = "./data"


def utc_now() -> datetime:
    """Return the current time in UTC (the default clock; tests inject their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class FeedConfig:
    """Everything a feed process needs; picklable so gunicorn workers can rebuild the app."""

    storage: str = DEFAULT_STORAGE
    api_keys: tuple[str, ...] = ()
    private: bool = False
    max_package_bytes: int = 8 * GIB
    max_uncompressed_bytes: int = 32 * GIB
    max_entries: int = 250_000
    max_ratio: float = 500.0
    max_nuspec_bytes: int = 1024 * 1024
    upload_dir: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = field(default_factory=lambda: 2 * (os.cpu_count() or 1))
    trust_proxy: bool = False  # absolute URLs follow X-Forwarded-Proto/-Host/-Prefix
    nuget_delete: str = "unlist"  # what a NuGet DELETE does: unlist, or delete for good
    retention_interval: int | None = None  # minutes between scheduled retention runs
    cache_max_age: int = 600  # seconds a cached read answer may live (0: no response cache)
    metrics_public: bool = False  # a private feed still answers /metrics without a key
    log_format: str = "text"  # access, audit and feed log lines: text, or one JSON object each
    clock: Callable[[], datetime] = utc_now

    def with_overrides(self, **overrides: object) -> FeedConfig:
        """Return a copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


_ENV_FIELDS = {
    "OCTOPACK_STORAGE": ("storage", str),
    "OCTOPACK_PRIVATE": ("private", "bool"),
    "OCTOPACK_MAX_PACKAGE_BYTES": ("max_package_bytes", "size"),
    "OCTOPACK_MAX_UNCOMPRESSED_BYTES": ("max_uncompressed_bytes", int),
    "OCTOPACK_MAX_ENTRIES": ("max_entries", int),
    "OCTOPACK_UPLOAD_DIR": ("upload_dir", str),
    "OCTOPACK_HOST": ("host", str),
    "OCTOPACK_PORT": ("port", int),
    "OCTOPACK_WORKERS": ("workers", int),
    "OCTOPACK_RETENTION_INTERVAL": ("retention_interval", int),
    "OCTOPACK_TRUST_PROXY": ("trust_proxy", "bool"),
    "OCTOPACK_NUGET_DELETE": ("nuget_delete", str),
    "OCTOPACK_CACHE_MAX_AGE": ("cache_max_age", int),
    "OCTOPACK_METRICS_PUBLIC": ("metrics_public", "bool"),
    "OCTOPACK_LOG_FORMAT": ("log_format", str),
}


_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1024**2, "MB": 1024**2}
_UNITS |= {"MIB": 1024**2, "G": GIB, "GB": GIB, "GIB": GIB, "T": 1024 * GIB, "TB": 1024 * GIB}


def parse_size(text: str) -> int:
    """Read a byte count like 1048576, 500K, 10M or 8G (binary units); refuse anything else."""
    cleaned = text.strip().upper().replace(" ", "")
    number = cleaned.rstrip("KMGTIB")
    unit = cleaned[len(number) :]
    try:
        value = int(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise BadRequest(
            f"size {text!r} is not a byte count like 1048576, 500K, 10M or 8G"
        ) from None
    if value <= 0:
        raise BadRequest(f"size {text!r} must be positive")
    return value


def parse_bool(name: str, text: str) -> bool:
    """Read a yes/no setting; refuse anything else so a typo does not open a private feed."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise BadRequest(f"{name}={text!r} is not a boolean (use true or false)")


def config_from_env(environ: Mapping[str, str] | None = None, **overrides: object) -> FeedConfig:
    """Build a FeedConfig from OCTOPACK_* variables, then apply explicit (CLI) overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for var, (name, kind) in _ENV_FIELDS.items():
        if var not in environ:
            continue
        text = environ[var]
        if kind == "bool":
            values[name] = parse_bool(var, text)
        elif kind == "size":
            values[name] = parse_size(text)
        elif kind is int:
            try:
                values[name] = int(text)
            except ValueError:
                raise BadRequest(f"{var}={text!r} is not a whole number") from None
        else:
            values[name] = text
    env_key = environ.get("OCTOPACK_API_KEY", "").strip()
    keys = tuple(overrides.pop("api_keys", None) or ())
    if env_key:
        keys = keys + tuple(k for k in env_key.replace(",", " ").split() if k)
    values["api_keys"] = keys
    known = {f.name for f in fields(FeedConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown feed settings: {sorted(unknown)}")
    return FeedConfig().with_overrides(**values).with_overrides(**overrides)
