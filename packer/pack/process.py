"""`pack` checks the base path's octopack.toml against what actually goes into the package.

The text is parsed before anything is written; while the walk streams entries, each glob of
`substitute` and `structured` and the scripts folder are matched against the packed names,
and `finish` (called before the package is published) refuses a glob that matched nothing or
a scripts folder that is missing, naming the manifest's line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from packer.model.errors import BadInput
from packer.model.globs import compile_glob
from packer.model.manifest import MANIFEST_NAME, Manifest, ManifestError, parse_manifest
from packer.pack.collect import SourceFile, is_script_name


class ProcessCheck:
    """The manifest of one pack and what the walk has shown of its globs and scripts folder."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.globs: dict[tuple[str, str], re.Pattern[str]] = {}
        for key in ("substitute", "structured"):
            for glob in getattr(manifest, key):
                try:
                    self.globs[(key, glob)] = compile_glob(glob)
                except BadInput as error:
                    raise ManifestError(self._line(key, glob), str(error)) from None
        self.unmatched = set(self.globs)
        self.scripts_seen = manifest.scripts is None
        self.packed = False

    @classmethod
    def load(cls, base_path: str) -> ProcessCheck | None:
        """Read and parse `octopack.toml` in the base path; None when there is none."""
        path = os.path.join(base_path, MANIFEST_NAME)
        if not os.path.isfile(path):
            return None
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(f"cannot read {path}: {error}") from error
        return cls(parse_manifest(text))

    def watch(self, files: Iterable[SourceFile]) -> Iterator[SourceFile]:
        """Pass the walk's entries through, noting the globs and folder they satisfy."""
        for item in files:
            self._see(item.name)
            yield item

    def _see(self, name: str) -> None:
        if name == MANIFEST_NAME:
            self.packed = True
        folder = self.manifest.scripts
        if not self.scripts_seen and (name + "/").startswith(folder + "/"):  # type: ignore[operator]
            self.scripts_seen = True
        if not self.unmatched or name.endswith("/"):
            return
        candidates = [name] + [name[:i] for i, c in enumerate(name) if c == "/"]
        for slot in list(self.unmatched):
            if any(self.globs[slot].fullmatch(c) for c in candidates):
                self.unmatched.discard(slot)

    def finish(self) -> None:
        """Refuse a missing scripts folder or a glob that matched no packed file."""
        if not self.packed:
            return  # the manifest is excluded: the package carries no process (see warnings)
        if not self.scripts_seen:
            raise ManifestError(
                self.manifest.where.line_of(("process", "scripts")),
                f"scripts folder {self.manifest.scripts!r} is not in the package",
            )
        for key, glob in sorted(self.unmatched, key=lambda s: self._line(*s)):
            raise ManifestError(self._line(key, glob), f"{key} glob {glob!r} matches no file")

    def scripts(
        self, found: tuple[list[str], list[str]], script_like: list[SourceFile]
    ) -> tuple[list[str], list[str]]:
        """Return the deploy scripts and warnings, read from the scripts folder when one is set."""
        folder = self.manifest.scripts
        if folder is None or not self.packed:
            return found
        scripts, warnings = [], []
        for item in script_like:
            if not is_script_name(item.name):
                continue
            if item.name.rpartition("/")[0] == folder:
                scripts.append(item.name)
            else:
                warnings.append(
                    f"{item.name} looks like a deploy script but is not in the scripts folder "
                    f"{folder}/ named by {MANIFEST_NAME}; it will not run"
                )
        return sorted(scripts), warnings

    def warnings(self) -> list[str]:
        """Say so when the manifest is left out of the package by --exclude or ignore rules."""
        if self.packed:
            return []
        return [f"{MANIFEST_NAME} is excluded, so the package carries no deployment process"]

    def summary(self) -> dict[str, Any] | None:
        """Return the `process` entry of the pack result (None when not packed)."""
        return self.manifest.to_json() if self.packed else None

    def _line(self, key: str, glob: str) -> int:
        return self.manifest.where.line_of_item(("process", key), glob)
