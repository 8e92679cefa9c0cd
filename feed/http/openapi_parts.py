"""Building blocks of the feed's OpenAPI 3.1 document: parameters, bodies, answers, schemas.

Kept apart from the paths (feed.http.openapi) so each path reads as one line per fact.
tests/feed/http/test_openapi.py runs schemathesis against a live feed to keep them true.
"""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]

JSON = "application/json"
STRING: Doc = {"type": "string"}
NULLABLE_STRING: Doc = {"type": ["string", "null"]}
COUNT: Doc = {"type": "integer", "minimum": 0}


def ref(name: str) -> Doc:
    """Point at a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: Doc, description: str, required: bool = False) -> Doc:
    """Describe one query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


def path_param(name: str, description: str, example: str | None = None) -> Doc:
    """Describe one path parameter."""
    doc: Doc = {"name": name, "in": "path", "required": True, "schema": STRING}
    doc["description"] = description
    if example is not None:
        doc["example"] = example
    return doc


SKIP = query("skip", COUNT, "Items to skip [0].")


def take(default: int, maximum: int) -> Doc:
    """The take parameter with its default and cap."""
    return query("take", COUNT, f"Items per page [{default}], at most {maximum}.")


def json_body(schema: Doc, required: bool = True) -> Doc:
    """A JSON request body."""
    return {"required": required, "content": {JSON: {"schema": schema}}}


def answer(description: str, schema: Doc | None = None, media: str = JSON) -> Doc:
    """One documented response."""
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {media: {"schema": schema}}}


def operation(
    summary: str,
    tag: str,
    answers: dict[str, Doc],
    parameters: list[Doc] | None = None,
    body: Doc | None = None,
    scope: str | None = None,
) -> Doc:
    """One operation; every one may answer an Error for 4xx and 503 (storage failing)."""
    described = f"{summary} Needs an API key with scope {scope}." if scope else summary
    doc: Doc = {"summary": summary, "description": described, "tags": [tag]}
    if parameters:
        doc["parameters"] = parameters
    if body is not None:
        doc["requestBody"] = body
    errors = {
        "4XX": answer("Refused: the message says why and what to do.", ref("Error")),
        "503": answer("Package storage is failing; retry.", ref("Error")),
    }
    doc["responses"] = {**answers, **errors}
    return doc


def obj(properties: dict[str, Doc], required: list[str] | None = None) -> Doc:
    """A JSON object schema; unknown keys are allowed (the feed may add more)."""
    doc: Doc = {"type": "object", "properties": properties}
    if required:
        doc["required"] = required
    return doc


def array(items: Doc) -> Doc:
    """A JSON array schema."""
    return {"type": "array", "items": items}


RULES = obj({name: {"type": ["integer", "null"], "minimum": 0} for name in (
    "keep_last", "keep_prerelease", "prerelease_group_labels", "keep_days", "keep_deployed",
)})  # fmt: skip

PACKAGE_LINKS = obj({"Self": STRING, "Raw": STRING}, ["Self", "Raw"])

PACKAGE_PROPERTIES: dict[str, Doc] = {
    "Id": STRING,
    "PackageId": STRING,
    "Version": STRING,
    "Title": NULLABLE_STRING,
    "Summary": NULLABLE_STRING,
    "Description": NULLABLE_STRING,
    "Published": STRING,
    "ReleaseNotes": NULLABLE_STRING,
    "FileExtension": STRING,
    "PackageSizeBytes": COUNT,
    "Hash": {"type": "string", "pattern": "^[0-9a-f]{40}$"},
    "Sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "Sha512": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
    "Links": PACKAGE_LINKS,
}
PUSHED_REQUIRED = ["Id", "PackageId", "Version", "Published", "PackageSizeBytes", "Links"]

SCHEMAS: dict[str, Doc] = {
    "Error": obj({"ErrorMessage": STRING, "Errors": array(STRING)}, ["ErrorMessage", "Errors"]),
    "Package": obj(PACKAGE_PROPERTIES, [*PUSHED_REQUIRED, "Hash"]),
    # the raw push's answer: Hash and Sha512 are computed right after it, and left out
    "PushedPackage": obj(PACKAGE_PROPERTIES, PUSHED_REQUIRED),
    "VersionItem": obj(
        {
            "Id": STRING,
            "PackageId": STRING,
            "Version": STRING,
            "Published": STRING,
            "SizeBytes": COUNT,
            "Title": NULLABLE_STRING,
            "ReleaseNotes": NULLABLE_STRING,
            "FileExtension": STRING,
            "Links": PACKAGE_LINKS,
        },
        ["PackageId", "Version", "Published", "SizeBytes"],
    ),
    "Space": obj({"Id": STRING, "Name": STRING, "IsDefault": {"type": "boolean"}}, ["Id"]),
    "Key": obj({"name": STRING, "scope": STRING, "created": STRING}, ["name", "scope"]),
    "Rules": RULES,
    "Policy": obj({"default": RULES, "packages": {"type": "object"}}, ["default", "packages"]),
    "Pin": obj(
        {"id": STRING, "version": STRING, "pinned_by": STRING, "pinned_at": STRING},
        ["id", "version"],
    ),
    "Decision": obj(
        {
            "id": STRING,
            "version": STRING,
            "decision": {"enum": ["kept", "deleted"]},
            "rule": STRING,
        },
        ["id", "version", "decision", "rule"],
    ),
    "Deployment": obj(
        {
            "id": STRING,
            "package_id": STRING,
            "version": STRING,
            "environment": STRING,
            "target": STRING,
            "status": STRING,
            "started": STRING,
            "finished": STRING,
            "forced": {"type": "boolean"},
        },
        ["id", "package_id", "version", "environment", "target", "status", "finished"],
    ),
    "Lifecycles": obj(
        {"default": {"type": ["array", "null"], "items": STRING}, "packages": array(array({}))},
        ["default", "packages"],
    ),
    "Channel": obj(
        {
            "name": STRING,
            "range": NULLABLE_STRING,
            "tag": NULLABLE_STRING,
            "package": NULLABLE_STRING,
        },
        ["name"],
    ),
}


def collection(item: str) -> Doc:
    """Octopus's paged collection of `item`s."""
    return obj(
        {
            "ItemType": STRING,
            "TotalResults": COUNT,
            "ItemsPerPage": COUNT,
            "NumberOfPages": COUNT,
            "LastPageNumber": COUNT,
            "Items": array(ref(item)),
            "Links": {"type": "object", "additionalProperties": STRING},
        },
        ["ItemType", "TotalResults", "ItemsPerPage", "Items", "Links"],
    )


SECURITY_SCHEMES: Doc = {
    "OctopusApiKey": {"type": "apiKey", "in": "header", "name": "X-Octopus-ApiKey"},
    "NuGetApiKey": {"type": "apiKey", "in": "header", "name": "X-NuGet-ApiKey"},
    "QueryApiKey": {"type": "apiKey", "in": "query", "name": "apikey"},
    "BasicPassword": {"type": "http", "scheme": "basic", "description": "The key as password."},
}
