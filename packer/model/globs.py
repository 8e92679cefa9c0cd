"""Globs over relative POSIX paths: one translator for pack (include/exclude, the manifest's
globs) and the target (`--substitute`, structured variables), so a glob pack checks
against the packed names matches the same files at deploy.

Case-sensitive; `*`, `?` and `[...]` stay within a segment, a `**` segment spans any
number of folders; a leading `/` or `./` is ignored.
"""

from __future__ import annotations

import re

from packer.model.errors import BadInput

__all__ = ["compile_glob"]


def compile_glob(pattern: str, covers_contents: bool = False) -> re.Pattern[str]:
    """Translate a glob over relative POSIX paths (`*`, `?`, `[...]`, `**`) into a regex.

    BadInput names a malformed glob. With `covers_contents` the regex also matches every
    path below what the glob matches (a matched directory covers its contents).
    """
    text = pattern.removeprefix("./").lstrip("/").rstrip("/")
    if not text:
        raise BadInput(f"bad glob {pattern!r}: it is empty")
    if "\\" in text or "\x00" in text:
        raise BadInput(f"bad glob {pattern!r}: use '/' as the path separator")
    segments = text.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise BadInput(f"bad glob {pattern!r}: empty, '.' or '..' path segments are not allowed")
    regex = ""
    for index, seg in enumerate(segments):
        last = index == len(segments) - 1
        if seg == "**":
            if last:
                regex = regex[:-1] + "(?:/.*)?" if regex else ".*"
            else:
                regex += "(?:[^/]+/)*"
            continue
        regex += _segment_regex(seg, pattern) + ("" if last else "/")
    return re.compile(regex + ("(?:/.*)?" if covers_contents else ""), re.DOTALL)


def _segment_regex(seg: str, pattern: str) -> str:
    """Translate one path segment of a glob."""
    out, i = [], 0
    while i < len(seg):
        char = seg[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = seg.find("]", i + 2 if seg[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                raise BadInput(f"bad glob {pattern!r}: '[' without a closing ']'")
            body = seg[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
