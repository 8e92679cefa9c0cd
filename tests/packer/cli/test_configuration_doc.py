"""docs/configuration.md matches the click definitions and the feed's settings: every option's
flags, its environment variable and its default appear in its command's section."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import click

from feed.core.config import _ENV_FIELDS, FeedConfig
from tests.packer.cli.test_docs import commands

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
UNSHOWN = {None, (), False}
SERVE_SHOWN_AS = {"workers": "2 x CPU cores", "max_package_bytes": "8G"}


def sections() -> dict[str, str]:
    """Map `octopack NAME` to the text of its section."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^### `(octopack [^`]+)`$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def option_row(section: str, option: click.Option) -> str:
    """Return the table row of an option: the line that starts with its first flag."""
    rows = [line for line in section.splitlines() if line.startswith(f"| `{option.opts[0]}`")]
    assert len(rows) == 1, f"{option.opts[0]}: expected one row, found {len(rows)}"
    return rows[0]


def shown_default(option: click.Option) -> str | None:
    """Return how the doc shows a click default, or None when there is none to show."""
    default = option.default
    if callable(default) or "Sentinel" in repr(default) or default in UNSHOWN:
        return None
    return str(default).lower() if isinstance(default, bool) else str(default)


def test_every_command_option_variable_and_default_is_in_the_doc() -> None:
    found = sections()
    problems = []
    for name, command in commands():
        options = [p for p in command.params if isinstance(p, click.Option)]
        if not options:
            continue
        section = found.get(f"octopack {name}")
        if section is None:
            problems.append(f"no section for octopack {name}")
            continue
        for option in options:
            row = option_row(section, option)
            problems += [f"{name} {flag}" for flag in option.opts if f"`{flag}`" not in row]
            envvar = option.envvar if isinstance(option.envvar, str) else None
            if envvar and f"`{envvar}`" not in row:
                problems.append(f"{name} {option.opts[0]}: variable {envvar}")
            default = shown_default(option)
            if default is not None and f"`{default}`" not in row:
                problems.append(f"{name} {option.opts[0]}: default {default}")
    assert problems == []


def test_every_feed_setting_variable_and_default_is_in_the_serve_section() -> None:
    section = sections()["octopack serve"]
    defaults = FeedConfig()
    kinds = {f.name: f for f in fields(FeedConfig)}
    problems = []
    for variable, (field, _) in {**_ENV_FIELDS, "OCTOPACK_API_KEY": ("api_keys", str)}.items():
        rows = [line for line in section.splitlines() if f"`{variable}`" in line]
        if not rows:
            problems.append(f"{variable} is not in the serve section")
            continue
        value = getattr(defaults, kinds[field].name)
        shown = SERVE_SHOWN_AS.get(field) or (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
        if value not in (None, ()) and field != "upload_dir" and f"`{shown}`" not in rows[0]:
            problems.append(f"{variable}: default {shown} not shown")
    assert problems == []


def test_the_check_sees_a_missing_option(tmp_path) -> None:
    """The walk fails on a doc without an option's row (so it can fail at all)."""
    section = sections()["octopack serve"]
    without = "\n".join(line for line in section.splitlines() if "`--log-format`" not in line)
    serve = dict(commands())["serve"]
    option = next(p for p in serve.params if isinstance(p, click.Option) and p.name == "log_format")
    try:
        option_row(without, option)
    except AssertionError as error:
        assert "--log-format" in str(error)
    else:
        raise AssertionError("a missing row went unnoticed")
