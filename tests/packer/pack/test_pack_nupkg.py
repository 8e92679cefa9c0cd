"""nupkg output: OPC parts, escaped names, metadata from the command line and a nuspec, nuget 2.8."""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import unquote

import defusedxml.ElementTree as safe_et
import pytest

from packer.model.nuspec import parse_nuspec
from tests.packer.conftest import leftovers, need_tool, run_pack, write

CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def pack_nupkg(app: Path, out: Path, *extra: str, version: str = "1.0.0") -> dict:
    run = run_pack("--id", "Hello.App", "--version", version, "--base-path", str(app),
                   "--out-folder", str(out), "--format", "nupkg", "--output-format", "json",
                   *extra)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return run.json()


def content_types(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    root = safe_et.fromstring(archive.read("[Content_Types].xml"))
    defaults = {e.get("Extension"): e.get("ContentType") for e in root.iter(CT_NS + "Default")}
    overrides = {e.get("PartName"): e.get("ContentType") for e in root.iter(CT_NS + "Override")}
    return defaults, overrides


def test_nupkg_has_opc_parts_and_a_content_type_for_every_part(app: Path, out: Path) -> None:
    write(app / "Makefile", "all:")
    write(app / "docs" / "read me+notes.TXT", "spaces")
    doc = pack_nupkg(app, out)
    assert doc["warnings"] == [
        "empty directory logs/empty/ is not kept: a nupkg has no directories"
    ]
    with zipfile.ZipFile(doc["path"]) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        defaults, overrides = content_types(archive)
        rels = archive.read("_rels/.rels").decode()
        assert archive.read("docs/read%20me%2Bnotes.TXT") == b"spaces"
    assert not any(n.endswith("/") for n in names)
    assert "Hello.App.nuspec" in names and "_rels/.rels" in names
    psmdcp = [n for n in names if n.endswith(".psmdcp")]
    assert len(psmdcp) == 1 and psmdcp[0].startswith("package/services/metadata/core-properties/")
    assert f'Target="/{psmdcp[0]}"' in rels and 'Target="/Hello.App.nuspec"' in rels
    for name in names:
        if name == "[Content_Types].xml":
            continue
        leaf = name.rsplit("/", 1)[-1]
        ext = leaf.rpartition(".")[2].lower() if "." in leaf else None
        assert ext in defaults or f"/{name}" in overrides, name
    assert overrides == {"/Makefile": "application/octet", "/bin/tool": "application/octet"}
    assert defaults["rels"] == "application/vnd.openxmlformats-package.relationships+xml"
    assert unquote("docs/read%20me%2Bnotes.TXT") == "docs/read me+notes.TXT"


def test_nuspec_carries_escaped_metadata_and_fixed_defaults(app: Path, out: Path) -> None:
    doc = pack_nupkg(app, out, "--title", "Tom & <Jerry>", "--release-notes", 'say "hi" & go')
    with zipfile.ZipFile(doc["path"]) as archive:
        raw = archive.read("Hello.App.nuspec")
    meta = parse_nuspec(raw)
    assert (meta.id, meta.version, meta.title) == ("Hello.App", "1.0.0", "Tom & <Jerry>")
    assert meta.release_notes == 'say "hi" & go'
    assert meta.authors == "octopack"
    assert meta.description == "A deployment package built by octopack."
    assert os.environ.get("USER", "\0") not in raw.decode()
    assert b"Tom &amp; &lt;Jerry&gt;" in raw


def test_nuspec_in_base_path_supplies_metadata_and_is_not_packed_twice(
    app: Path, out: Path
) -> None:
    write(app / "hello.app.nuspec", """<?xml version="1.0"?>
<package><metadata><id>Other</id><version>9.9.9</version><authors>Ops Team</authors>
<description>From the nuspec</description><tags>web api</tags><title>Old</title>
</metadata></package>""")  # fmt: skip
    doc = pack_nupkg(app, out, "--title", "New Title", "--author", "A", "--author", "B")
    with zipfile.ZipFile(doc["path"]) as archive:
        nuspecs = [n for n in archive.namelist() if n.lower().endswith(".nuspec")]
        meta = parse_nuspec(archive.read("Hello.App.nuspec"))
    assert nuspecs == ["Hello.App.nuspec"]
    assert (meta.id, meta.version) == ("Hello.App", "1.0.0")
    assert meta.title == "New Title" and meta.authors == "A, B"
    assert meta.description == "From the nuspec" and meta.tags == "web api"
    assert doc["file_count"] == 6


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Other.nuspec", "Other.nuspec would be a second nuspec"),
        ("_rels/extra.rels", "collides with a part NuGet reserves"),
        ("[Content_Types].xml", "collides with a part NuGet reserves"),
        ("dir./x.txt", "segment ending in '.'"),
    ],
)
def test_files_a_nupkg_cannot_hold_are_refused(
    app: Path, out: Path, name: str, message: str
) -> None:
    write(app / name, "x")
    run = run_pack("--id", "Hello.App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out), "--format", "nupkg")  # fmt: skip
    assert run.exit_code == 2 and message in run.stderr
    assert leftovers(out) == []


def test_bad_nuspec_in_base_path_is_bad_input(app: Path, out: Path) -> None:
    write(app / "Hello.App.nuspec", "<!DOCTYPE x [<!ENTITY a 'b'>]><package/>")
    run = run_pack("--id", "Hello.App", "--version", "1.0.0", "--base-path", str(app),
                   "--out-folder", str(out), "--format", "nupkg")  # fmt: skip
    assert run.exit_code == 2 and "Hello.App.nuspec" in run.stderr and "DTD" in run.stderr
    assert leftovers(out) == []


def test_psmdcp_name_is_deterministic_per_id_and_version(app: Path, tmp_path: Path) -> None:
    def psmdcp(doc: dict) -> str:
        with zipfile.ZipFile(doc["path"]) as archive:
            return next(n for n in archive.namelist() if n.endswith(".psmdcp"))

    one = pack_nupkg(app, tmp_path / "a")
    two = pack_nupkg(app, tmp_path / "b")
    other = pack_nupkg(app, tmp_path / "c", version="2.0.0")
    assert psmdcp(one) == psmdcp(two) != psmdcp(other)
    assert one["sha256"] == two["sha256"]


def test_unzip_accepts_the_nupkg(app: Path, out: Path) -> None:
    unzip = need_tool("unzip")
    doc = pack_nupkg(app, out)
    subprocess.run([unzip, "-tq", doc["path"]], check=True, capture_output=True)


def test_nuget_2_8_installs_the_nupkg(app: Path, tmp_path: Path) -> None:
    nuget = need_tool("nuget")
    write(app / "docs" / "read me+notes.txt", "spaces")
    write(app / "Makefile", "all:")
    write(app / "ünïcode.TXT", "u")
    feed = tmp_path / "feed"
    pack_nupkg(app, feed, version="1.2.3-beta1")
    home = tmp_path / "home"
    home.mkdir()
    target = tmp_path / "installed"
    result = subprocess.run(
        [nuget, "install", "Hello.App", "-Prerelease", "-Source", str(feed),
         "-OutputDirectory", str(target), "-NonInteractive"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    installed = target / "Hello.App.1.2.3-beta1"
    assert (installed / "docs" / "read me+notes.txt").read_text() == "spaces"
    assert (installed / "Makefile").read_text() == "all:"
    assert (installed / "ünïcode.TXT").read_text() == "u"
    assert (installed / "Deploy.sh").read_text() == (app / "Deploy.sh").read_text()
    assert not (installed / "_rels").exists()
