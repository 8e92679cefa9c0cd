"""Deploy variables: parsed from the command line and a JSON file, masked when sensitive.

Scripts see each variable as `OCTOPACK_VAR_{NAME}` and under its own name when that is a
valid shell identifier; sensitive values never reach the console, logs or journal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from packer.model.errors import BadInput

MASK = "***"
MIN_MASKED_LINE = 3  # shorter lines of a multi-line secret would mask ordinary text, hiding little
_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_ENV_CHAR = re.compile(r"[^A-Z0-9_]")


def parse_assignment(text: str, option: str = "--variable") -> tuple[str, str]:
    """Split `NAME=VALUE` (the value may hold `=`); refuse an empty name."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise BadInput(f"{option} {text!r} is not NAME=VALUE")
    return name.strip(), value


def load_variables_file(path: Path) -> dict[str, str]:
    """Read a JSON object of variables; numbers and booleans become their JSON text."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BadInput(f"variables file {path} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"variables file {path} cannot be read: {error}") from error
    except ValueError as error:
        raise BadInput(f"variables file {path} is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise BadInput(f"variables file {path} must hold a JSON object of NAME: VALUE")
    values: dict[str, str] = {}
    for name, value in document.items():
        if isinstance(value, str):
            values[name] = value
        elif isinstance(value, bool | int | float) or value is None:
            values[name] = "" if value is None else json.dumps(value)
        else:
            raise BadInput(f"variables file {path}: value of {name!r} must be a string or number")
    return values


def env_name(name: str) -> str:
    """Return `OCTOPACK_VAR_{NAME}`: upper case, other characters as `_`."""
    return "OCTOPACK_VAR_" + _NOT_ENV_CHAR.sub("_", name.upper())


@dataclass
class Variables:
    """Named values for scripts and substitution; `sensitive` names are masked on output."""

    values: dict[str, str] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        assignments: Iterable[str] = (),
        sensitive_assignments: Iterable[str] = (),
        files: Iterable[Path] = (),
    ) -> Variables:
        """Merge files first, then `--variable`, then `--sensitive-variable` (later wins)."""
        result = cls()
        for path in files:
            result.values.update(load_variables_file(path))
        for text in assignments:
            name, value = parse_assignment(text)
            result.values[name] = value
        for text in sensitive_assignments:
            name, value = parse_assignment(text, "--sensitive-variable")
            result.values[name] = value
            result.sensitive.add(name)
        return result

    def lookup(self, name: str) -> str | None:
        """Find a value by name, exactly first, then case-insensitively as Octopus does."""
        if name in self.values:
            return self.values[name]
        folded = name.casefold()
        for key, value in self.values.items():
            if key.casefold() == folded:
                return value
        return None

    def secrets(self) -> list[str]:
        """Return the texts to mask, longest first: every sensitive value, whole and per line.

        Output is masked line by line, so a multi-line value (a PEM key) is also masked one
        line at a time: each line as given and without surrounding blanks, skipping lines
        shorter than MIN_MASKED_LINE characters.
        """
        found: set[str] = set()
        for name in self.sensitive:
            value = self.values.get(name)
            if not value:
                continue
            found.add(value)
            if "\n" in value or "\r" in value:
                unix = value.replace("\r\n", "\n")
                found.update((unix, unix.replace("\n", "\r\n")))
                for line in value.splitlines():
                    found.update(
                        t for t in (line, line.strip()) if len(t.strip()) >= MIN_MASKED_LINE
                    )
        return sorted(found, key=len, reverse=True)

    def mask(self, text: str) -> str:
        """Replace every sensitive value in `text` with `***` (longest values first)."""
        for secret in self.secrets():
            text = text.replace(secret, MASK)
        return text

    def environment(self) -> dict[str, str]:
        """Return the script environment entries of every variable."""
        env: dict[str, str] = {}
        for name, value in self.values.items():
            if _SHELL_NAME.fullmatch(name):
                env[name] = value
        for name, value in self.values.items():
            env[env_name(name)] = value
        return env


def script_environment(
    base: Mapping[str, str], context: Mapping[str, str], variables: Variables
) -> dict[str, str]:
    """Compose a script's environment: inherited, then variables, then octopack's own names."""
    env = dict(base)
    env.update(variables.environment())
    env.update(context)
    return env
