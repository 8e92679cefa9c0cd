"""The docs match `--help` (issue 14.8): every command and option is in README.md or docs/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from packer.cli import main

ROOT = Path(__file__).resolve().parents[3]


def documentation() -> str:
    """README.md and every docs/*.md, as one text."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def commands() -> Iterator[tuple[str, click.Command]]:
    """Every command and subcommand of `octopack`, through the lazy group, with its path."""

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> Iterator:
        context = click.Context(command, info_name=path[-1] if path else "octopack", parent=parent)
        if path:
            yield " ".join(path), command
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                yield from walk(command.get_command(context, name), [*path, name], context)

    yield from walk(main, [], None)


def test_every_command_is_documented() -> None:
    text = documentation()
    names = [name for name, _ in commands()]
    assert {"import", "unpin", "retention policy show", "retention policy clear"} <= set(names)
    missing = [name for name in names if f"octopack {name}" not in text]
    assert missing == []


def test_every_option_is_documented() -> None:
    text = documentation()
    missing = [
        f"{name} {spelling}"
        for name, command in commands()
        for option in command.params
        if isinstance(option, click.Option)
        for spelling in option.opts
        if spelling not in ("--help", "-h") and spelling not in text
    ]
    assert missing == []


def test_docs_claim_json_output_only_where_it_exists() -> None:
    """README must not say every command has --output-format json while serve has none."""
    without = [
        name
        for name, command in commands()
        if not isinstance(command, click.Group)
        and "output_format" not in {p.name for p in command.params}
    ]
    assert without == ["serve"]
    text = documentation()
    assert "Every command has `--help` and\n`--output-format json`" not in text
    assert "every command but `serve` has `--output-format json`" in text
