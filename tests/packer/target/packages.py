"""Build real test packages (zip, nupkg, tar.*) with deploy scripts, modes and times."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from pathlib import Path

# name -> (content, unix mode)
Files = dict[str, tuple[bytes, int]]

FIXED_TIME = (2021, 6, 1, 12, 30, 0)
FIXED_EPOCH = time.mktime((*FIXED_TIME, 0, 0, -1))

RECORD = """
{
  echo "step=$STEP cwd=$(pwd)"
  echo "id=$OCTOPACK_PACKAGE_ID version=$OCTOPACK_PACKAGE_VERSION env=$OCTOPACK_ENVIRONMENT"
  echo "install=$OCTOPACK_INSTALL_DIR previous=$OCTOPACK_PREVIOUS_INSTALL_DIR"
  echo "var=$OCTOPACK_VAR_PORT plain=$Port config=$(cat app.config)"
} >> "$OCTOPACK_VAR_RECORD"
"""


def script(step: str, extra: str = "") -> bytes:
    """A bash deploy script that appends its step and environment to $OCTOPACK_VAR_RECORD."""
    return f"#!/bin/bash\nSTEP={step}\n{RECORD}\n{extra}\n".encode()


def recording_files(deploy_exit: int = 0, extra: Files | None = None) -> Files:
    """A package whose four scripts record their order and environment."""
    files: Files = {
        "app.config": (b"port=#{Port}\n", 0o644),
        "bin/run.sh": (b"#!/bin/sh\necho run\n", 0o755),
        "PreDeploy.sh": (script("PreDeploy"), 0o755),
        "Deploy.sh": (script("Deploy", f"exit {deploy_exit}"), 0o755),
        "PostDeploy.sh": (script("PostDeploy"), 0o755),
        "DeployFailed.sh": (
            script("DeployFailed", 'echo "failed=$OCTOPACK_FAILED_STEP" >> "$OCTOPACK_VAR_RECORD"'),
            0o755,
        ),
    }
    files.update(extra or {})
    return files


def write_zip(path: Path, files: Files) -> Path:
    """Write a deflated zip with Unix modes and fixed timestamps."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def write_tar(path: Path, files: Files, mode: str = "w:gz") -> Path:
    """Write a tar (mode `w`, `w:gz` or `w:bz2`) with modes and fixed timestamps."""
    with tarfile.open(path, mode) as archive:
        for name, (data, file_mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = file_mode
            info.mtime = int(FIXED_EPOCH)
            archive.addfile(info, io.BytesIO(data))
    return path


def nuspec(package_id: str, version: str) -> bytes:
    """A minimal nuspec."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">'
        f"<metadata><id>{package_id}</id><version>{version}</version>"
        "<authors>t</authors><description>d</description></metadata></package>"
    ).encode()


def write_nupkg(path: Path, package_id: str, version: str, files: Files) -> Path:
    """Write a nupkg: the files plus nuspec and OPC parts (which must not be extracted)."""
    parts: Files = {
        f"{package_id}.nuspec": (nuspec(package_id, version), 0o644),
        "[Content_Types].xml": (
            b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/content-types"><Default Extension="nuspec" ContentType="'
            b'application/octet"/></Types>',
            0o644,
        ),
        "_rels/.rels": (b'<?xml version="1.0"?><Relationships/>', 0o644),
        "package/services/metadata/core-properties/0123.psmdcp": (b"<x/>", 0o644),
    }
    return write_zip(path, {**files, **parts})
