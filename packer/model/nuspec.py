"""The nuspec manifest of a nupkg: parse it safely (defusedxml, size cap) and render it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden

from packer.model.errors import BadInput, OperationFailed, UnsafeArchive

NUSPEC_NAMESPACE = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"
MAX_NUSPEC_BYTES = 1 << 20

# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# (attribute, element) of the simple text fields, in the order nuget.exe writes them.
_TEXT_FIELDS = (
    ("id", "id"),
    ("version", "version"),
    ("title", "title"),
    ("authors", "authors"),
    ("owners", "owners"),
    ("license_url", "licenseUrl"),
    ("project_url", "projectUrl"),
    ("icon_url", "iconUrl"),
    ("description", "description"),
    ("summary", "summary"),
    ("release_notes", "releaseNotes"),
    ("copyright", "copyright"),
    ("tags", "tags"),
)


@dataclass
class NuspecMetadata:
    """What a nuspec says about its package; `version` is kept exactly as written."""

    id: str
    version: str
    title: str = ""
    authors: str = ""
    description: str = ""
    summary: str = ""
    release_notes: str = ""
    tags: str = ""
    owners: str = ""
    project_url: str = ""
    license_url: str = ""
    icon_url: str = ""
    require_license_acceptance: bool = False
    copyright: str = ""
    dependency_groups: list[dict] = field(default_factory=list)
    package_types: list[str] = field(default_factory=list)


def parse_nuspec(data: bytes, max_bytes: int = MAX_NUSPEC_BYTES) -> NuspecMetadata:
    """Parse nuspec bytes of any nuspec schema namespace (or none); refuse DTDs and oversize.

    Strict on id and version, lenient on everything else, as NuGet clients are.
    """
    if len(data) > max_bytes:
        raise UnsafeArchive(f"nuspec is {len(data)} bytes, over the limit of {max_bytes} bytes")
    root = _parse_xml(data)
    if _local(root.tag) != "package":
        raise OperationFailed(
            f"malformed nuspec: root element is <{_local(root.tag)}>, not <package>"
        )
    metadata = _child(root, "metadata")
    if metadata is None:
        raise OperationFailed("malformed nuspec: no <metadata> element in <package>")
    values = {attr: _text(_child(metadata, tag)) for attr, tag in _TEXT_FIELDS}
    for required in ("id", "version"):
        if not values[required]:
            raise OperationFailed(f"malformed nuspec: <{required}> is missing or empty")
    accept = _text(_child(metadata, "requireLicenseAcceptance")).lower() == "true"
    return NuspecMetadata(
        **values,
        require_license_acceptance=accept,
        dependency_groups=_dependency_groups(_child(metadata, "dependencies")),
        package_types=_package_types(_child(metadata, "packageTypes")),
    )


def render_nuspec(meta: NuspecMetadata) -> bytes:
    """Render the nuspec as UTF-8 XML in the 2013/05 namespace; same metadata, same bytes."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<package xmlns="{NUSPEC_NAMESPACE}">',
        "  <metadata>",
    ]
    for attr, tag in _TEXT_FIELDS:
        value = getattr(meta, attr)
        if value or attr in ("id", "version", "authors", "description"):
            lines.append(f"    <{tag}>{_escape(value, attr)}</{tag}>")
        if attr == "icon_url":
            accept = "true" if meta.require_license_acceptance else "false"
            lines.append(f"    <requireLicenseAcceptance>{accept}</requireLicenseAcceptance>")
    lines.extend(_render_dependencies(meta.dependency_groups))
    if meta.package_types:
        lines.append("    <packageTypes>")
        for name in meta.package_types:
            lines.append(f'      <packageType name="{_attr(name, "package_types")}" />')
        lines.append("    </packageTypes>")
    lines += ["  </metadata>", "</package>", ""]
    return "\n".join(lines).encode("utf-8")


def _parse_xml(data: bytes) -> Element:
    """Parse through defusedxml with DTDs forbidden, mapping its errors to ours."""
    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except DTDForbidden as error:
        raise UnsafeArchive("nuspec contains a DTD (<!DOCTYPE>), which is refused") from error
    except EntitiesForbidden as error:
        raise UnsafeArchive("nuspec declares XML entities, which are refused") from error
    except DefusedXmlException as error:
        raise UnsafeArchive(f"nuspec uses a forbidden XML feature: {error}") from error
    except ParseError as error:
        raise OperationFailed(f"malformed nuspec XML: {error}") from error


def _local(tag: object) -> str:
    """Return a tag's local name, whatever namespace it is in."""
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1]


def _child(parent: Element | None, name: str) -> Element | None:
    """Return the first child with this local name, in any namespace."""
    if parent is None:
        return None
    for child in parent:
        if _local(child.tag) == name:
            return child
    return None


def _children(parent: Element, name: str) -> list[Element]:
    """Return every child with this local name, in any namespace."""
    return [child for child in parent if _local(child.tag) == name]


def _text(element: Element | None) -> str:
    """Return an element's text stripped of surrounding whitespace ('' when absent)."""
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _dependency_groups(dependencies: Element | None) -> list[dict]:
    """Read <dependencies>: groups by target framework; flat dependencies are one group."""
    if dependencies is None:
        return []
    groups = [
        {
            "target_framework": (group.get("targetFramework") or "").strip() or None,
            "dependencies": _dependencies(group),
        }
        for group in _children(dependencies, "group")
    ]
    flat = _dependencies(dependencies)
    if flat:
        groups.insert(0, {"target_framework": None, "dependencies": flat})
    return groups


def _dependencies(parent: Element) -> list[dict]:
    """Read the <dependency id version> children of a group."""
    return [
        {"id": (dep.get("id") or "").strip(), "range": (dep.get("version") or "").strip()}
        for dep in _children(parent, "dependency")
    ]


def _package_types(types: Element | None) -> list[str]:
    """Read the names of <packageTypes>."""
    if types is None:
        return []
    return [(t.get("name") or "").strip() for t in _children(types, "packageType")]


def _render_dependencies(groups: list[dict]) -> list[str]:
    """Render dependency groups: flat when there is one group without a framework."""
    if not groups:
        return []
    lines = ["    <dependencies>"]
    if len(groups) == 1 and groups[0].get("target_framework") is None:
        lines += _render_dependency_list(groups[0].get("dependencies", []), "      ")
    else:
        for group in groups:
            framework = group.get("target_framework")
            attr = (
                f' targetFramework="{_attr(framework, "dependency_groups")}"' if framework else ""
            )
            lines.append(f"      <group{attr}>")
            lines += _render_dependency_list(group.get("dependencies", []), "        ")
            lines.append("      </group>")
    lines.append("    </dependencies>")
    return lines


def _render_dependency_list(dependencies: list[dict], indent: str) -> list[str]:
    """Render <dependency> elements, with a version attribute only when there is a range."""
    lines = []
    for dep in dependencies:
        text = f'{indent}<dependency id="{_attr(dep["id"], "dependency_groups")}"'
        if dep.get("range"):
            text += f' version="{_attr(dep["range"], "dependency_groups")}"'
        lines.append(text + " />")
    return lines


def _attr(value: str, name: str) -> str:
    """Escape text for an attribute, keeping tabs and newlines (parsers turn raw ones into spaces)."""
    return _escape(value, name).replace("\n", "&#10;").replace("\t", "&#9;")


def _escape(value: str, name: str) -> str:
    """Escape text for an element or attribute; refuse characters XML cannot carry."""
    text = str(value)
    bad = _INVALID_XML_CHARS.search(text)
    if bad:
        raise BadInput(
            f"nuspec {name} {text!r} contains character {bad.group()!r}, which XML cannot carry"
        )
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
        .replace("\r", "&#13;")
    )
