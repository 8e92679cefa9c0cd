"""`octopack serve` (the feed under gunicorn) and `octopack keys` (API key administration)."""

from __future__ import annotations

import errno
import functools
import socket

import click

from packer.cli.common import (
    admin_target_options,
    output_format_option,
    print_json,
    report_errors,
    require_extra,
)
from packer.cli.storage_option import storage_calls, storage_failures, storage_option
from packer.model.errors import BadInput, OperationFailed

SCOPES = ("read", "deploy", "push", "admin")


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (or OCTOPACK_HOST) [127.0.0.1].")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Port (or OCTOPACK_PORT) [8080].",
)
@storage_option("Where packages live (or OCTOPACK_STORAGE) [./data].", default=None)
@click.option(
    "--api-key",
    "--apiKey",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="An admin API key (repeatable; also OCTOPACK_API_KEY). Without any key and with "
    "none stored, the first start creates an admin key and prints it once.",
)
@click.option(
    "--workers", type=int, default=None, help="Worker processes (or OCTOPACK_WORKERS) [2 x cores]."
)
@click.option(
    "--private", is_flag=True, default=None, help="Reads need a key (or OCTOPACK_PRIVATE)."
)
@click.option(
    "--max-package-size",
    metavar="SIZE",
    default=None,
    help="Refuse larger uploads with 413, e.g. 500M or 8G (or OCTOPACK_MAX_PACKAGE_BYTES) [8G].",
)
@click.option(
    "--upload-dir",
    default=None,
    help="Where uploads are spooled (or OCTOPACK_UPLOAD_DIR) [the temp dir].",
)
@click.option(
    "--retention-interval",
    type=click.IntRange(min=1),
    default=None,
    metavar="MINUTES",
    help="Run retention with the stored policy this often (one feed process at a time; "
    "or OCTOPACK_RETENTION_INTERVAL).",
)
@click.option(
    "--cache-max-age",
    type=click.IntRange(min=0),
    default=None,
    metavar="SECONDS",
    help="Longest a cached read answer is served (or OCTOPACK_CACHE_MAX_AGE) [600]. Answers "
    "are revalidated on every request against the feed's change marker; this only bounds "
    "staleness after a writer died between its commit and the marker. 0 turns the cache off.",
)
@click.option(
    "--trust-proxy",
    is_flag=True,
    default=None,
    help="Build absolute URLs from X-Forwarded-Proto/-Host/-Prefix; only behind a proxy that "
    "sets them (or OCTOPACK_TRUST_PROXY).",
)
@click.option(
    "--nuget-delete",
    type=click.Choice(["unlist", "delete"]),
    default=None,
    help="What a NuGet client's delete does: unlist the version (push key), or delete it "
    "for good (admin key) (or OCTOPACK_NUGET_DELETE) [unlist].",
)
@click.option(
    "--metrics-public",
    is_flag=True,
    default=None,
    help="Answer GET /metrics without a key on a --private feed (or OCTOPACK_METRICS_PUBLIC).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Access, audit and feed log lines on stderr: text, or one JSON object per line "
    "(or OCTOPACK_LOG_FORMAT) [text].",
)
@report_errors
def serve_command(
    host: str | None,
    port: int | None,
    storage: str | None,
    api_keys: tuple[str, ...],
    workers: int | None,
    private: bool | None,
    max_package_size: str | None,
    upload_dir: str | None,
    retention_interval: int | None,
    cache_max_age: int | None,
    trust_proxy: bool | None,
    nuget_delete: str | None,
    metrics_public: bool | None,
    log_format: str | None,
) -> None:
    """Run the package feed (Octopus, NuGet v2 and v3 dialects) under gunicorn."""
    require_extra("feed")

    from feed.core.config import config_from_env, parse_size
    from feed.http.logformat import LOG_FORMATS
    from feed.http.server import announce_initial_key, run
    from feed.services import open_feed, sweep_leftovers
    from packer.cli.feedroot import feed_app, feed_storage

    if workers is not None and workers < 1:
        raise BadInput(f"--workers {workers} must be at least 1")
    config = config_from_env(
        host=host,
        port=port,
        storage=storage,
        api_keys=api_keys,
        workers=workers,
        private=private,
        max_package_bytes=parse_size(max_package_size) if max_package_size else None,
        upload_dir=upload_dir,
        retention_interval=retention_interval,
        cache_max_age=cache_max_age,
        trust_proxy=trust_proxy,
        nuget_delete=nuget_delete,
        metrics_public=metrics_public,
        log_format=log_format,
    )
    if config.log_format not in LOG_FORMATS:
        raise BadInput(f"log format {config.log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    if not 1 <= config.port <= 65535:
        raise BadInput(f"port {config.port} is not a TCP port (1-65535)")
    listener = _listen(config.host, config.port)
    try:
        storage = feed_storage(config.storage)
    except BaseException:
        listener.close()
        raise
    with storage_failures(config.storage):
        sweep_leftovers(config, storage)
        announce_initial_key(open_feed(storage, config).keys)
    run(config, functools.partial(feed_app, config), listener)  # gunicorn owns the socket now


def _listen(host: str, port: int) -> socket.socket:
    """Bind the feed's port first, so a taken port stops the start before any key is made."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise OperationFailed(
                f"port {port} is in use on {host}: stop what holds it or pick another --port"
            ) from None
        if error.errno == errno.EACCES:
            raise OperationFailed(f"not allowed to listen on port {port} on {host}") from None
        raise BadInput(f"cannot listen on {host}:{port}: {error}") from None


@click.group("keys")
def keys_group() -> None:
    """Create, list and revoke feed API keys (scopes read, deploy, push, admin).

    Works on the storage directly (--storage) or through a running feed (--server with an
    admin --api-key).
    """


target_options = admin_target_options("Work on this storage directly.")


class _Direct:
    """Key administration on storage, through the feed's KeyStore."""

    def __init__(self, location: str) -> None:
        from feed.core.keys import KeyStore
        from packer.cli.feedroot import feed_storage

        self.keys = KeyStore(feed_storage(location))
        self.location = location

    @storage_calls
    def create(self, scope: str, name: str | None) -> dict[str, str]:
        key, plain = self.keys.create(scope, name)
        return {**key.public(), "key": plain}

    @storage_calls
    def list(self) -> list[dict[str, str]]:
        return [k.public() for k in self.keys.list()]

    @storage_calls
    def revoke(self, name: str) -> dict[str, str]:
        return self.keys.revoke(name).public()


class _Remote:
    """Key administration through a feed's admin endpoints under /api/octopack/keys."""

    def __init__(self, server: str, api_key: str | None) -> None:
        from packer.client.admin import AdminApi

        self.api = AdminApi(server, api_key, "keys", timeout=30)

    def create(self, scope: str, name: str | None) -> dict[str, str]:
        return self.api.call("POST", json={"scope": scope, "name": name})

    def list(self) -> list[dict[str, str]]:
        return self.api.call("GET")["keys"]

    def revoke(self, name: str) -> dict[str, str]:
        from urllib.parse import quote

        return self.api.call("DELETE", f"/{quote(name, safe='')}")


def _target(storage: str | None, server: str | None, api_key: str | None) -> _Direct | _Remote:
    """Pick direct storage access or the feed's admin API."""
    if storage:
        return _Direct(storage)
    if server:
        return _Remote(server, api_key)
    raise BadInput("say where the keys live: --storage LOCATION, or --server URL --api-key KEY")


@keys_group.command("create")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="What the key may do.")
@click.option("--name", default=None, help="A name to revoke it by [scope-random].")
@target_options
@output_format_option
@report_errors
def create_command(
    scope: str,
    name: str | None,
    storage: str | None,
    server: str | None,
    api_key: str | None,
    output_format: str,
) -> None:
    """Create a key and print it; it is stored hashed and never shown again."""
    created = _target(storage, server, api_key).create(scope, name)
    if output_format == "json":
        print_json(created)
        return
    click.echo(created["key"])
    click.echo(
        f"created API key {created['name']!r} with scope {created['scope']}; "
        "this is the only time it is shown",
        err=True,
    )


@keys_group.command("list")
@target_options
@output_format_option
@report_errors
def list_command(
    storage: str | None, server: str | None, api_key: str | None, output_format: str
) -> None:
    """List key names, scopes and creation times (never the keys)."""
    keys = _target(storage, server, api_key).list()
    if output_format == "json":
        print_json({"keys": keys})
        return
    for key in keys:
        click.echo(f"{key['name']}\t{key['scope']}\t{key['created']}")


@keys_group.command("revoke")
@click.argument("name")
@target_options
@output_format_option
@report_errors
def revoke_command(
    name: str, storage: str | None, server: str | None, api_key: str | None, output_format: str
) -> None:
    """Revoke a key by name; every feed process refuses it from now on."""
    revoked = _target(storage, server, api_key).revoke(name)
    if output_format == "json":
        print_json({**revoked, "revoked": True})
        return
    click.echo(f"revoked API key {revoked['name']!r} ({revoked['scope']})")


COMMANDS = [serve_command, keys_group]
