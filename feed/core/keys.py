"""API keys: random, scoped (read < deploy < push < admin), stored only as SHA-256 hashes in storage.

Why no salt: a salt protects low-entropy secrets (passwords) from precomputed tables. Our
keys are 200 random bits from `secrets`, so no table or brute force can reach them, and an
unsalted hash lets every feed process find a key with one storage read,
`keys/hashes/{sha256}.json`, instead of trying every stored key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

from feed.core.config import utc_now
from feed.core.errors import BadRequest, Forbidden, PackageConflict, PackageNotFound, Unauthorized
from feed.core.jsonrecords import Codec, JsonRecords, json_codec
from storage import Storage

SCOPES = ("read", "deploy", "push", "admin")  # deploy = read + reporting deployments
_RANK = {scope: rank for rank, scope in enumerate(SCOPES)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAMES_PREFIX = "keys/names/"
HASHES_PREFIX = "keys/hashes/"
INITIAL_ADMIN = "initial-admin"
HEADERS = ("X-Octopus-ApiKey", "X-NuGet-ApiKey")


def hash_key(key: str) -> str:
    """Return the hex SHA-256 of a key: the only form in which a key is ever stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    """Return a new key: `API-` and 40 base32 characters (200 random bits), like Octopus's."""
    return "API-" + base64.b32encode(secrets.token_bytes(25)).decode("ascii")


def check_scope(scope: str) -> str:
    """Return a valid scope or raise BadRequest naming it."""
    if scope not in _RANK:
        raise BadRequest(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
    return scope


@dataclass(frozen=True)
class ApiKey:
    """A stored key's public facts; `sha256` identifies it, the key itself is never kept."""

    name: str
    scope: str
    sha256: str
    created: str

    def allows(self, needed: str) -> bool:
        """Tell whether this key's scope covers the needed one (each scope covers those before it)."""
        return _RANK[self.scope] >= _RANK[needed]

    def public(self) -> dict[str, str]:
        """Return what listings show: name, scope and creation time (never the hash)."""
        return {"name": self.name, "scope": self.scope, "created": self.created}


def _key_codec() -> Codec[ApiKey]:
    """Store a key as `{name, scope, sha256, created}`."""
    plain = json_codec()
    return Codec(lambda key: plain.encode(asdict(key)), lambda data: ApiKey(**plain.decode(data)))


class KeyStore:
    """Keys shared by every feed process through storage, plus admin keys from configuration."""

    def __init__(
        self,
        storage: Storage,
        config_keys: Iterable[str] = (),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._records = JsonRecords(storage, _key_codec())
        self.clock = clock
        self._config = [
            ApiKey(f"config-{n}", "admin", hash_key(k), "") for n, k in enumerate(config_keys, 1)
        ]

    def create(self, scope: str, name: str | None = None) -> tuple[ApiKey, str]:
        """Create a key; return it with its plain text, which is shown this once only."""
        check_scope(scope)
        name = name or f"{scope}-{secrets.token_hex(4)}"
        if not _NAME.match(name):
            raise BadRequest(f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        plain = generate_key()
        created = self.clock().isoformat(timespec="seconds").replace("+00:00", "Z")
        key = ApiKey(name, scope, hash_key(plain), created)
        if self._records.create(f"{NAMES_PREFIX}{name}.json", key) is None:
            raise PackageConflict(f"an API key named {name!r} already exists")
        if self._records.create(f"{HASHES_PREFIX}{key.sha256}.json", key) is None:
            raise PackageConflict(f"an API key with the hash of {name!r} already exists")
        return key, plain

    def list(self) -> list[ApiKey]:
        """Return the stored keys (not the configured ones), sorted by name."""
        keys = [found.value for found in self._records.values(NAMES_PREFIX)]
        return sorted(keys, key=lambda k: k.name)

    def revoke(self, name: str) -> ApiKey:
        """Revoke a stored key: its hash record goes first, so it stops working at once."""
        name_key = f"{NAMES_PREFIX}{name}.json"
        found = self._records.read(name_key)
        if found is None:
            raise PackageNotFound(f"no API key named {name!r}")
        key = found.value
        for record in (f"{HASHES_PREFIX}{key.sha256}.json", name_key):
            self._records.remove(record, f"the API key {name!r} kept changing; revoke again")
        return key

    def lookup(self, presented: str) -> ApiKey | None:
        """Return the key matching a presented secret, comparing hashes in constant time."""
        digest = hash_key(presented)
        match = None
        for key in self._config:
            if hmac.compare_digest(key.sha256, digest):
                match = key
        if match is not None:
            return match
        found = self._records.read(f"{HASHES_PREFIX}{digest}.json")
        if found is None:
            return None
        stored = found.value
        return stored if hmac.compare_digest(stored.sha256, digest) else None

    def ensure_initial_admin(self) -> str | None:
        """On a first start with no key anywhere, create an admin key; return it (else None)."""
        if self._config or any(True for _ in self._records.listing(NAMES_PREFIX)):
            return None
        try:
            _, plain = self.create("admin", INITIAL_ADMIN)
        except PackageConflict:
            return None  # another process created it first and printed it
        return plain


class UnknownApiKey(Unauthorized):
    """A key was sent but the feed does not know it (mistyped or revoked)."""


def authorize(keys: KeyStore, presented: str | None, needed: str, private: bool) -> ApiKey | None:
    """Check a request's key for an operation; anonymous reads pass unless the feed is private."""
    if needed == "read" and not private:
        return None
    if not presented:
        raise Unauthorized(
            f"this needs an API key with scope {needed}: send it in the X-Octopus-ApiKey "
            "header, as the HTTP Basic password or as ?apikey="
        )
    key = keys.lookup(presented)
    if key is None:
        raise UnknownApiKey("the API key is not known to this feed (mistyped or revoked)")
    if not key.allows(needed):
        raise Forbidden(f"API key {key.name!r} has scope {key.scope}; this needs {needed}")
    return key
