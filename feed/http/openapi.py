"""`GET /api/openapi.json`: an OpenAPI 3.1 description of the Octopus dialect and the
`/api/octopack/...` admin APIs (NuGet's own protocols are described by NuGet).

Every Octopus path also answers under `/api/{spaceId}/...` (space ids `Spaces-\\d+`); the
document lists the short form once and says so. tests/feed/http/test_openapi.py keeps it
true: schemathesis calls a live feed with examples generated from it.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from feed.http.openapi_parts import (
    COUNT,
    SCHEMAS,
    SECURITY_SCHEMES,
    SKIP,
    STRING,
    Doc,
    answer,
    array,
    collection,
    json_body,
    obj,
    operation,
    path_param,
    query,
    ref,
    take,
)
from packer import __version__

OCTOPUS, KEYS, RETENTION, DEPLOYMENTS = "Octopus feed", "Keys", "Retention", "Deployments"
PACKAGE_TYPES = (
    "application/zip",
    "application/gzip",
    "application/x-tar",
    "application/octet-stream",
)
REF = path_param(
    "ref", "`packages-{PackageId}.{Version}`.", example="packages-Acme.Described.1.0.0"
)
PIN_PARAMS = [path_param("package_id", "Package id."), path_param("version", "Version.")]
PUSH_BODY: Doc = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": obj(
                {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}
            ),
        },
    },
}


def init_app(app: Flask) -> None:
    """Serve the document at /api/openapi.json."""
    app.add_url_rule("/api/openapi.json", "openapi", openapi_view)


def openapi_view() -> Response:
    """Answer with the document (public: it describes the API, not the packages)."""
    return jsonify(document())


def document() -> Doc:
    """Return the OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "octopack feed",
            "version": __version__,
            "description": "The Octopus built-in feed dialect and octopack's admin APIs. Every "
            "/api/... path of the Octopus dialect also answers at /api/{spaceId}/... with "
            "spaceId Spaces-1. Errors are {ErrorMessage, Errors}.",
        },
        "paths": {**octopus_paths(), **admin_paths(), **deployment_paths()},
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
        "security": [{}, *({name: []} for name in SECURITY_SCHEMES)],
    }


def octopus_paths() -> dict[str, Doc]:
    """The Octopus built-in feed dialect."""
    package = answer("The package resource.", ref("Package"))
    return {
        "/api": {"get": operation("The API root with Links.", OCTOPUS, {"200": answer("Root.", obj({"Links": {"type": "object"}}, ["Links"]))})},
        "/api/spaces": {"get": operation("List the one space.", OCTOPUS, {"200": answer("Spaces.", collection("Space"))})},
        "/api/spaces/{space_id}": {"get": operation("One space (only Spaces-1).", OCTOPUS, {"200": answer("The space.", ref("Space"))}, [path_param("space_id", "Spaces-1.")])},
        "/api/packages/raw": {"post": operation(
            "Push a package: a file part named Id.Version.ext.", OCTOPUS,
            {"201": package, "200": answer("Existing kept, or overwritten.", ref("Package"))},
            [query("overwriteMode", {"enum": ["FailIfExists", "OverwriteExisting", "IgnoreIfExists"]}, "What to do when the version exists [FailIfExists]."),
             query("replace", {"type": "boolean"}, "Legacy: the same as OverwriteExisting.")],
            PUSH_BODY, "push (admin to overwrite)",
        )},
        "/api/octopack/packages/{filename}": {"put": operation(
            "Push a package as the raw body with its SHA-256, declared up front or as a trailer (octopack's own client).", OCTOPUS,
            {"201": answer("Created; Hash and Sha512 follow moments later (left out here).", ref("PushedPackage")),
             "200": answer("Existing kept, or overwritten (then as for 201).", ref("PushedPackage"))},
            [path_param("filename", "Id.Version.ext (any name for a .nupkg).", example="Acme.Raw.1.0.0.zip"),
             {"name": "X-Octopack-Sha256", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^([0-9a-f]{64}|trailer)$"},
              "description": "SHA-256 of the package, or `trailer`: the body is then the package followed by its SHA-256 as 64 hex digits "
                             "(Content-Length = size + 64). A package that differs is refused (400) and nothing is stored."},
             query("overwriteMode", {"enum": ["FailIfExists", "OverwriteExisting", "IgnoreIfExists"]}, "What to do when the version exists [FailIfExists].")],
            {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}},
            "push (admin to overwrite)",
        )},
        "/api/packages": {"get": operation(
            "List or search packages.", OCTOPUS, {"200": answer("A page of packages.", collection("Package"))},
            [query("filter", STRING, "Id contains this text."), query("latest", {"type": "boolean"}, "Newest version of each id only."), SKIP, take(30, 1000)],
            scope="read on a private feed",
        )},
        "/api/packages/{ref}": {
            "get": operation("One package version.", OCTOPUS, {"200": package}, [REF], scope="read on a private feed"),
            "delete": operation("Delete one version.", OCTOPUS, {"200": package}, [REF], scope="admin"),
        },
        "/api/packages/{ref}/raw": {"get": operation(
            "Download the package bytes (Range, ETag, If-None-Match).", OCTOPUS,
            {"200": {"description": "The bytes.", "content": {t: {} for t in PACKAGE_TYPES}},
             "206": {"description": "A byte range.", "content": {t: {} for t in PACKAGE_TYPES}},
             "304": answer("Not modified (If-None-Match)."), "416": answer("Range not satisfiable.")},
            [REF], scope="read on a private feed",
        )},
        "/api/feeds/feeds-builtin/packages/versions": {"get": operation(
            "Versions of one package, newest first.", OCTOPUS,
            {"200": answer("A page of versions.", collection("VersionItem"))},
            [query("packageId", STRING, "Package id (any case).", required=True),
             query("versionRange", STRING, "NuGet version range."),
             query("includePreRelease", {"type": "boolean"}, "Include prereleases [false]."), SKIP, take(30, 1000)],
            scope="read on a private feed",
        )},
    }  # fmt: skip


def admin_paths() -> dict[str, Doc]:
    """Keys and retention under /api/octopack."""
    base = "/api/octopack"
    created_key = obj(
        {"name": STRING, "scope": STRING, "created": STRING, "key": STRING},
        ["name", "scope", "key"],
    )
    report = obj(
        {"decisions": array(ref("Decision")), "job": STRING, "dry_run": {"type": "boolean"}},
        ["decisions"],
    )
    run_body = obj(
        {**SCHEMAS["Rules"]["properties"], "package": STRING, "dry_run": {"type": "boolean"}}
    )
    policy_body = obj({"package": {"type": ["string", "null"]}, "rules": ref("Rules")}, ["rules"])
    policy = answer("The stored policy.", ref("Policy"))
    return {
        f"{base}/keys": {
            "get": operation("List keys (never the keys themselves).", KEYS, {"200": answer("Keys.", obj({"keys": array(ref("Key"))}, ["keys"]))}, scope="admin"),
            "post": operation("Create a key; the answer shows it once.", KEYS, {"201": answer("The new key.", created_key)},
                              body=json_body(obj({"scope": {"enum": ["read", "deploy", "push", "admin"]}, "name": STRING}, ["scope"])), scope="admin"),
        },
        f"{base}/keys/{{name}}": {"delete": operation("Revoke a key by name.", KEYS, {"200": answer("The revoked key.", ref("Key"))}, [path_param("name", "Key name.")], scope="admin")},
        f"{base}/retention/run": {"post": operation("Run retention (rules in the body replace the policy for this run).", RETENTION,
                                                    {"200": answer("What was kept and deleted.", report)}, body=json_body(run_body, required=False), scope="admin")},
        f"{base}/retention/policy": {
            "get": operation("The policy and the pins.", RETENTION, {"200": answer("Policy and pins.", obj({"default": ref("Rules"), "pins": array(ref("Pin"))}, ["default", "pins"]))}, scope="admin"),
            "put": operation("Set the default rules or one package override.", RETENTION, {"200": policy}, body=json_body(policy_body), scope="admin"),
            "delete": operation("Clear the default rules or one override.", RETENTION, {"200": policy}, [query("package", STRING, "The override to clear.")], scope="admin"),
        },
        f"{base}/retention/pins": {"get": operation("List pins.", RETENTION, {"200": answer("Pins.", obj({"pins": array(ref("Pin"))}, ["pins"]))}, scope="admin")},
        f"{base}/retention/pins/{{package_id}}/{{version}}": {
            "put": operation("Pin a version.", RETENTION, {"200": answer("The pin.", ref("Pin"))}, PIN_PARAMS, scope="admin"),
            "delete": operation("Unpin a version.", RETENTION, {"200": answer("The removed pin.", ref("Pin"))}, PIN_PARAMS, scope="admin"),
        },
        f"{base}/retention/audit": {"get": operation("Newest audit entries.", RETENTION, {"200": answer("Entries.", obj({"entries": array({"type": "object"})}, ["entries"]))},
                                                     [query("take", COUNT, "Entries [100], at most 1000.")], scope="admin")},
    }  # fmt: skip


def deployment_paths() -> dict[str, Doc]:
    """Deployments, environments, lifecycles and channels under /api/octopack."""
    base = "/api/octopack"
    report_body = obj(
        {
            name: STRING
            for name in (
                "id",
                "package_id",
                "version",
                "environment",
                "target",
                "status",
                "started",
                "finished",
            )
        }
        | {"forced": {"type": "boolean"}},
        ["package_id", "version", "environment", "target", "status", "started", "finished"],
    )
    deployment = answer("The stored record.", ref("Deployment"))
    environment = obj(
        {
            "name": STRING,
            "packages": array(
                obj(
                    {
                        "package_id": STRING,
                        "version": {"type": ["string", "null"]},
                        "deployed": {"type": ["string", "null"]},
                        "targets": COUNT,
                        "last_status": {"type": ["string", "null"]},
                    },
                    ["package_id"],
                )
            ),
        },
        ["name", "packages"],
    )
    lifecycles = answer(
        "The lifecycles, or with ?package= the phases of one package.",
        {
            "oneOf": [
                ref("Lifecycles"),
                obj(
                    {"package": STRING, "phases": {"type": ["array", "null"]}},
                    ["package", "phases"],
                ),
            ]
        },
    )
    channels = answer("Channels.", obj({"channels": array(ref("Channel"))}, ["channels"]))
    return {
        f"{base}/deployments": {
            "post": operation("Report a deployment (201 new, 200 a retry of a stored id).", DEPLOYMENTS, {"201": deployment, "200": deployment}, body=json_body(report_body), scope="deploy"),
            "get": operation("Deployments, newest first.", DEPLOYMENTS, {"200": answer("A page.", obj({"deployments": array(ref("Deployment")), "total": COUNT}, ["deployments"]))},
                             [query("packageId", STRING, "Package id."), query("environment", STRING, "Environment."), query("status", STRING, "Status."), SKIP, take(30, 1000)], scope="read on a private feed"),
        },
        f"{base}/deployments/{{record_id}}": {"get": operation("One deployment record.", DEPLOYMENTS, {"200": deployment}, [path_param("record_id", "Record id.")], scope="read on a private feed")},
        f"{base}/environments": {"get": operation("What runs where.", DEPLOYMENTS, {"200": answer("Environments.", obj({"environments": array(environment)}, ["environments"]))}, scope="read on a private feed")},
        f"{base}/lifecycles": {
            "get": operation("The lifecycles.", DEPLOYMENTS, {"200": lifecycles}, [query("package", STRING, "Resolve one package.")], scope="read on a private feed"),
            "put": operation("Set the default lifecycle or one override.", DEPLOYMENTS, {"200": answer("The lifecycles.", ref("Lifecycles"))},
                             body=json_body(obj({"phases": array(STRING), "package": {"type": ["string", "null"]}}, ["phases"])), scope="admin"),
            "delete": operation("Clear the default lifecycle or one override.", DEPLOYMENTS, {"200": answer("The lifecycles.", ref("Lifecycles"))}, [query("package", STRING, "The override.")], scope="admin"),
        },
        f"{base}/channels": {
            "get": operation("List channels.", DEPLOYMENTS, {"200": channels}, [query("package", STRING, "Per name, the entry for this package."), query("name", STRING, "One channel.")], scope="read on a private feed"),
            "put": operation("Create or replace a channel.", DEPLOYMENTS, {"200": answer("The channel.", ref("Channel"))}, body=json_body(ref("Channel")), scope="admin"),
            "delete": operation("Delete a channel.", DEPLOYMENTS, {"200": answer("Deleted entries.", obj({"deleted": array(ref("Channel"))}, ["deleted"]))},
                                [query("name", STRING, "The channel.", required=True), query("package", STRING, "Only the entry for this pattern.")], scope="admin"),
        },
    }  # fmt: skip
