"""A real S3 endpoint over HTTP on loopback (moto's ThreadedMotoServer) for tests.

    with moto_s3_endpoint() as endpoint:
        bucket = create_bucket(endpoint)
        storage = S3Storage(bucket, "feed", endpoint_url=endpoint)

While the context is open the process environment holds fake credentials (and no profile
or config file), so nothing can reach a real AWS account; the old values come back on
exit. Child processes (gunicorn, the CLI) get the same with `s3_environment(endpoint)`.
moto checks S3 conditions without a lock: concurrency tests against it show our logic,
not S3's atomicity.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


@contextmanager
def fake_aws_credentials() -> Iterator[None]:
    """Point boto3 at fake credentials only; restore the environment afterwards."""
    saved = {name: os.environ.get(name) for name in (*FAKE_CREDENTIALS, *_REMOVED)}
    try:
        for name in _REMOVED:
            os.environ.pop(name, None)
        os.environ.update(FAKE_CREDENTIALS)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def moto_s3_endpoint() -> Iterator[str]:
    """Run moto's S3 on 127.0.0.1 on a free port; yield its URL; stop it on exit."""
    from moto.server import ThreadedMotoServer

    with fake_aws_credentials():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@functools.cache
def s3_client(endpoint: str):  # noqa: ANN201 - boto3 clients have no importable type
    """A boto3 S3 client for `endpoint` (path-style), for test setup and inspection.

    Cached per endpoint: building a client costs a few hundred milliseconds.
    """
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


def create_bucket(endpoint: str, name: str | None = None) -> str:
    """Create a fresh bucket (a random name unless given) and return its name."""
    bucket = name or f"test-{uuid.uuid4().hex[:20]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return bucket


def s3_environment(endpoint: str) -> dict[str, str]:
    """Environment variables for a child process that should use `endpoint` with fake keys."""
    env = {k: v for k, v in os.environ.items() if k not in _REMOVED}
    env.update(FAKE_CREDENTIALS)
    env["AWS_ENDPOINT_URL_S3"] = endpoint
    return env
