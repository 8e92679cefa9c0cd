"""The OPC parts that make a zip a nupkg NuGet clients accept.

A nupkg is an Open Packaging Conventions package: every part name is a URI-escaped path, no
directory entries, `[Content_Types].xml` gives a content type to every part (a default per
extension, an override per extension-less part), `_rels/.rels` points at the nuspec and the
core-properties part. Names are derived from the metadata so the same input gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from urllib.parse import quote

from packer.model.errors import BadInput
from packer.model.nuspec import NuspecMetadata, render_nuspec

CONTENT_TYPES = "[Content_Types].xml"
RELS = "_rels/.rels"
CORE_PROPERTIES_DIR = "package/services/metadata/core-properties/"
OCTET = "application/octet"
RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
MANIFEST_REL = "http://schemas.microsoft.com/packaging/2010/07/manifest"
CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_RESERVED = (CONTENT_TYPES.lower(), "_rels/", "package/services/metadata/")


def part_name(name: str) -> str:
    """URI-escape a relative POSIX path into an OPC part name (without its leading '/')."""
    return quote(name, safe="/")


def check_part_name(name: str) -> None:
    """Refuse paths a nupkg cannot hold: OPC's reserved names and segments ending in '.'."""
    lower = name.lower()
    if lower == _RESERVED[0] or lower.startswith(_RESERVED[1:]):
        raise BadInput(f"{name!r} collides with a part NuGet reserves in a nupkg; exclude it")
    if any(segment.endswith(".") for segment in name.split("/")):
        raise BadInput(f"{name!r}: a nupkg part name may not have a segment ending in '.'")


def core_properties_name(meta: NuspecMetadata) -> str:
    """The deterministic name of the `.psmdcp` part, derived from id and version."""
    digest = hashlib.sha256(f"{meta.id}\n{meta.version}".encode()).hexdigest()[:32]
    return f"{CORE_PROPERTIES_DIR}{digest}.psmdcp"


def opc_parts(meta: NuspecMetadata, content_parts: Iterable[str]) -> dict[str, bytes]:
    """Return the nuspec and OPC parts (escaped name -> bytes) for these escaped content parts."""
    nuspec = part_name(f"{meta.id}.nuspec")
    psmdcp = core_properties_name(meta)
    parts = {
        nuspec: render_nuspec(meta),
        RELS: _relationships(nuspec, psmdcp),
        psmdcp: _core_properties(meta),
    }
    names = [*content_parts, *parts]
    parts[CONTENT_TYPES] = _content_types(names)
    return parts


def _xml(text: str) -> str:
    """Escape text for XML element content and attribute values."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _relationships(nuspec: str, psmdcp: str) -> bytes:
    """`_rels/.rels`: the package's links to its manifest and its core properties."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">',
    ]
    for rel_type, target in ((MANIFEST_REL, nuspec), (CORE_REL, psmdcp)):
        rel_id = "R" + hashlib.sha256(target.encode()).hexdigest()[:16].upper()
        lines.append(f'  <Relationship Type="{rel_type}" Target="/{_xml(target)}" Id="{rel_id}" />')
    lines += ["</Relationships>", ""]
    return "\n".join(lines).encode("utf-8")


def _core_properties(meta: NuspecMetadata) -> bytes:
    """The `.psmdcp` core-properties part, as nuget.exe writes it (no dates: reproducible)."""
    fields = [
        ("dc:creator", meta.authors),
        ("dc:description", meta.description),
        ("dc:identifier", meta.id),
        ("version", meta.version),
        ("keywords", meta.tags),
        ("dc:title", meta.title),
        ("lastModifiedBy", "octopack"),
    ]
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties">',
    ]
    lines += [f"  <{tag}>{_xml(value)}</{tag}>" for tag, value in fields if value]
    lines += ["</coreProperties>", ""]
    return "\n".join(lines).encode("utf-8")


def _content_types(names: Iterable[str]) -> bytes:
    """`[Content_Types].xml`: a default per extension, an override per extension-less part."""
    defaults: dict[str, str] = {}
    overrides: list[str] = []
    for name in names:
        leaf = name.rsplit("/", 1)[-1]
        ext = leaf.rpartition(".")[2].lower() if "." in leaf else ""
        if not ext or "%" in ext:
            overrides.append(name)
            continue
        defaults.setdefault(ext, {"rels": RELS_TYPE, "psmdcp": CORE_TYPE}.get(ext, OCTET))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
    ]
    lines += [
        f'  <Default Extension="{_xml(ext)}" ContentType="{ctype}" />'
        for ext, ctype in sorted(defaults.items())
    ]
    lines += [
        f'  <Override PartName="/{_xml(name)}" ContentType="{OCTET}" />'
        for name in sorted(overrides)
    ]
    lines += ["</Types>", ""]
    return "\n".join(lines).encode("utf-8")
