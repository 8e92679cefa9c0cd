"""octopack.toml: the contract's example parses; every error names its line."""

from __future__ import annotations

import pytest

from packer.model.errors import BadInput
from packer.model.manifest import HealthCheck, ManifestError, parse_manifest

EXAMPLE = """\
[process]
scripts = "deploy/"                       # folder of the convention scripts
substitute = ["config/*.conf"]            # #{Name} templates, as --substitute
structured = [
  "appsettings.json",
  "config/*.yaml",
  "conf/app.properties",
]

[variables]                               # defaults; never secrets
Port = "8080"
Workers = 4
Debug = false
"Logging:LogLevel:Default" = "Information"

[environments.Production.variables]       # overrides for one environment
"Logging:LogLevel:Default" = "Warning"

[secrets]
required = ["ConnectionStrings:Main"]     # must come from the target

[health]
command = "curl -fsS http://127.0.0.1:#{Port}/health"
attempts = 10
interval_seconds = 1
timeout_seconds = 5
"""


def test_the_contract_example_parses_into_the_process() -> None:
    manifest = parse_manifest(EXAMPLE)
    assert manifest.scripts == "deploy"
    assert manifest.substitute == ("config/*.conf",)
    assert manifest.structured == ("appsettings.json", "config/*.yaml", "conf/app.properties")
    assert manifest.variables == {
        "Port": "8080",
        "Workers": "4",
        "Debug": "false",
        "Logging:LogLevel:Default": "Information",
    }
    assert manifest.secrets == ("ConnectionStrings:Main",)
    assert manifest.health == HealthCheck("curl -fsS http://127.0.0.1:#{Port}/health", 10, 1.0, 5.0)
    assert manifest.to_json() == {
        "scripts": "deploy",
        "substitute": ["config/*.conf"],
        "structured": ["appsettings.json", "config/*.yaml", "conf/app.properties"],
        "environments": ["Production"],
        "secrets": ["ConnectionStrings:Main"],
        "health": {
            "command": "curl -fsS http://127.0.0.1:#{Port}/health",
            "attempts": 10,
            "interval_seconds": 1.0,
            "timeout_seconds": 5.0,
        },
    }


def test_environment_values_overlay_the_defaults_matched_in_any_case() -> None:
    manifest = parse_manifest(EXAMPLE)
    assert manifest.variables_for("Production")["Logging:LogLevel:Default"] == "Warning"
    assert manifest.variables_for("production")["Logging:LogLevel:Default"] == "Warning"
    assert manifest.variables_for("Staging")["Logging:LogLevel:Default"] == "Information"
    assert manifest.variables_for(None)["Port"] == "8080"


def test_an_empty_manifest_is_a_process_that_does_nothing() -> None:
    manifest = parse_manifest("# nothing yet\n")
    assert manifest.scripts is None and manifest.structured == () and manifest.health is None
    assert manifest.variables_for("Production") == {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[process]\nscripts = "deploy/"\nsubstitute = [\n', 3, "not valid TOML"),
        ("[process]\nscripts = deploy\n", 2, "not valid TOML"),
        ('[process]\nscripts = "a"\n\n[proces]\nx = 1\n', 4, "unknown table [proces]"),
        (
            '[process]\nscripts = "a"\nstructure = ["x"]\n',
            3,
            "unknown key 'structure' in [process]",
        ),
        ('[health]\ncommand = "true"\nretries = 3\n', 3, "unknown key 'retries' in [health]"),
        ("[environments.Production]\nvars = {}\n", 2, "unknown key 'vars'"),
        ('[secrets]\nrequired = ["Db"]\noptional = []\n', 3, "unknown key 'optional'"),
        (
            '[variables]\nPort = "1"\n"Db" = "x"\n\n[secrets]\nrequired = ["Db"]\n',
            3,
            "'Db' is a required secret and must not be given a value",
        ),
        (
            '[secrets]\nrequired = ["db"]\n\n[environments.Prod.variables]\nA = "1"\nDB = "x"\n',
            6,
            "'DB' is a required secret",
        ),
        ('[process]\nscripts = "../outside"\n', 2, "must stay inside the package"),
        ('[process]\nscripts = "/abs"\n', 2, "must be a relative POSIX path"),
        ('[process]\nsubstitute = "config/*.conf"\n', 2, "substitute must be a list of globs"),
        ("[variables]\nPort = 1\nNested = [1, 2]\n", 3, "'Nested' must be a string, number"),
        ('[health]\nattempts = 3\ncommand = ""\n', 3, "health needs a command"),
        ('[health]\ncommand = "true"\nattempts = 0\n', 3, "attempts must be a whole number"),
        ('[health]\ncommand = "true"\n\ntimeout_seconds = 0\n', 4, "timeout_seconds must be"),
        ('[health]\ncommand = "true"\ninterval_seconds = -1\n', 3, "interval_seconds must be"),
        ('process = "x"\n', 1, "process must be a table"),
    ],
)
def test_every_manifest_error_names_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(text)
    assert isinstance(raised.value, BadInput)  # exit 2 on pack
    assert str(raised.value).startswith(f"octopack.toml:{line}: ")
    assert message in str(raised.value)
    assert raised.value.line == line


def test_lines_of_items_in_a_multi_line_array() -> None:
    manifest = parse_manifest(EXAMPLE)
    where = manifest.where
    assert where.line_of_item(("process", "structured"), "conf/app.properties") == 7
    assert where.line_of_item(("process", "substitute"), "config/*.conf") == 3
    assert where.line_of(("health", "timeout_seconds")) == 26
    assert where.line_of(("environments", "Production", "variables", "nothing")) == 16
