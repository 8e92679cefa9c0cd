"""One S3 API call at a time: the client, counting, errors turned into ours, retried CAS.

Everything here speaks boto3; `storage.s3` builds the Storage methods on top of it. The
client is built lazily per process (a forked gunicorn worker must not share the parent's
sockets), every call is counted by operation name, and boto's ``ClientError`` /
``BotoCoreError`` stop here as ``StorageError`` subclasses carrying S3's error ``code``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.errors import ObjectNotFound, StorageDenied, StorageError, StorageFull

CONFLICT_RETRIES = 4
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})
# S3 answers that no retry fixes: the account or bucket is out of room, or refuses us.
FULL_CODES = frozenset(
    {"QuotaExceeded", "ServiceQuotaExceeded", "EntityTooLarge", "InsufficientStorage", "507"}
)
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "AccountProblem",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidObjectState",
        "403",
    }
)
ENDPOINT_VARIABLES = ("OCTOPACK_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


class S3Calls:
    """The S3 operations of one bucket and key prefix, with our errors and counters."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint_url = endpoint_url
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._own_client = client is None
        self._client = client if client is not None else make_client(endpoint_url)
        self._client_pid = os.getpid()
        self._sleep = sleep

    @property
    def client(self) -> Any:
        """The boto3 client; a forked process (gunicorn worker) builds its own once."""
        if self._own_client and self._client_pid != os.getpid():
            self._client = make_client(self.endpoint_url)
            self._client_pid = os.getpid()
        return self._client

    def call(self, operation: str, key: str, **arguments: Any) -> dict[str, Any]:
        """Call one S3 API operation, counting it and turning boto errors into ours."""
        with self._calls_lock:
            self.calls[operation] += 1
        try:
            return getattr(self.client, operation)(**arguments)
        except ClientError as exc:
            raise self._translate(operation, key, exc) from None
        except BotoCoreError as exc:
            raise StorageError(f"S3 {operation} on {self.where(key)} failed: {exc}") from None

    def get_bytes(self, key: str, full: str) -> tuple[bytes, str]:
        """Read the whole object `full` (our `key`) with one GetObject; return bytes and etag."""
        response = self.call("get_object", key, Bucket=self.bucket, Key=full)
        try:
            data = response["Body"].read()
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"read_record {key!r}: reading the body failed: {exc}") from exc
        finally:
            response["Body"].close()
        return data, bare(response["ETag"])

    def conditional(
        self, operation: str, key: str, lost: type[StorageError], **arguments: Any
    ) -> dict[str, Any]:
        """Run a conditional write, retrying 409 conflicts; 412 raises `lost`.

        When boto retried the request itself (the first answer was lost on the way), a 412
        or 404 may be the echo of our own success; `_landed` checks for that.
        """
        delay = 0.05
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return self.call(operation, key, **arguments)
            except StorageError as exc:
                code = getattr(exc, "code", "")
                if getattr(exc, "retried", 0) and code in PRECONDITION_CODES | NOT_FOUND_CODES:
                    landed = self._landed(operation, key, arguments)
                    if landed is not None:
                        return landed
                if code in PRECONDITION_CODES:
                    raise lost(key) from exc
                if code != "ConditionalRequestConflict":
                    raise
                if attempt == CONFLICT_RETRIES:
                    raise lost(key, "a concurrent conditional write kept conflicting") from exc
            self._sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def where(self, key: str) -> str:
        """The s3:// URL of `key`, for messages."""
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def _landed(self, operation: str, key: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        """Return a response if a retried conditional call had in fact succeeded, else None.

        A put landed when the key now holds exactly our bytes (records carry data unique to
        their writer, such as a fresh blob key); a delete landed when the key is gone.
        """
        try:
            data, etag = self.get_bytes(key, arguments["Key"])
        except ObjectNotFound:
            return {} if operation == "delete_object" else None
        if operation == "put_object" and data == arguments["Body"]:
            return {"ETag": etag}
        return None

    def _translate(self, operation: str, key: str, exc: ClientError) -> StorageError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = error.get("Message") or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        where = self.where(key)
        result: StorageError
        if code in NOT_FOUND_CODES or (status == 404 and code != "NoSuchBucket"):
            result = ObjectNotFound(key)
        elif code == "NoSuchBucket":
            result = StorageError(f"S3 bucket {self.bucket!r} does not exist ({where})")
        elif code in FULL_CODES or status == 507:
            result = StorageFull(f"S3 {operation} on {where} refused: {code} {message}")
        elif code in DENIED_CODES or status == 403:
            result = StorageDenied(f"S3 {operation} on {where} refused: {code} {message}")
        else:
            result = StorageError(f"S3 {operation} on {where} failed: {code} {message}")
        result.code = code  # type: ignore[attr-defined]
        result.retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)  # type: ignore[attr-defined]
        return result


def make_client(endpoint_url: str | None, max_attempts: int = 5) -> Any:
    """Build a thread-safe S3 client; path-style and plain checksums for custom endpoints."""
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": max_attempts},
        "max_pool_connections": 32,
    }
    if endpoint_url:
        options["s3"] = {"addressing_style": "path"}
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    session = boto3.session.Session()
    return session.client("s3", endpoint_url=endpoint_url, config=Config(**options))


def endpoint_from_environment() -> str | None:
    """The first custom endpoint set in ENDPOINT_VARIABLES, or None for AWS itself."""
    for variable in ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None


def bare(etag: str) -> str:
    """S3's ETag without its quotes: the form our etags take."""
    return etag.strip('"')


def quoted(etag: str) -> str:
    """An etag as S3's If-Match wants it."""
    return f'"{bare(etag)}"'
