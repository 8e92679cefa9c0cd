"""Deploying a package that carries octopack.toml: environments, precedence, secrets, health,
and a dry run that matches what the deploy then changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from ruamel.yaml import YAML

from tests.packer.target.conftest import journal
from tests.packer.target.packages import Files, write_zip

MANIFEST = """\
[process]
scripts = "deploy"
substitute = ["config/*.conf"]
structured = ["appsettings.json", "config/*.yaml", "conf/app.properties"]

[variables]
Port = "8080"
"Logging:LogLevel:Default" = "Information"
"server:workers" = 2
"app:port" = 8081

[environments.Production.variables]
"Logging:LogLevel:Default" = "Warning"
"server:workers" = 8

[secrets]
required = ["ConnectionStrings:Main"]

[health]
command = '{health}'
attempts = 2
interval_seconds = 0
timeout_seconds = 20
"""
APPSETTINGS = (
    '{\n  "Logging": {"LogLevel": {"Default": "Debug"}},\n  "ConnectionStrings": {"Main": ""}\n}\n'
)
YAML_TEXT = "# kept\nserver:\n  port: 1  # kept too\n  workers: 1\n"
PROPERTIES = "# kept\napp.port=0\nother=unchanged\n"
RECORD = 'echo "{step} $(pwd) secret=$OCTOPACK_VAR_CONNECTIONSTRINGS_MAIN" | tee -a "$OCTOPACK_VAR_RECORD"\n'
HEALTHY = 'grep -q 8080 config/web.conf && echo "health ok #{Port}" >> "$OCTOPACK_VAR_RECORD"'


def package(tmp_path: Path, version: str = "1.0.0", health: str = HEALTHY, **extra: str) -> Path:
    """A zip of App with a manifest, scripts in deploy/, and one file of each structured kind."""
    files: Files = {
        "octopack.toml": (MANIFEST.replace("{health}", health).encode(), 0o644),
        "appsettings.json": (APPSETTINGS.encode(), 0o644),
        "config/app.yaml": (YAML_TEXT.encode(), 0o644),
        "config/web.conf": (b"listen #{Port}\n", 0o644),
        "conf/app.properties": (PROPERTIES.encode(), 0o644),
        "deploy/Deploy.sh": (RECORD.format(step="Deploy").encode(), 0o755),
        "deploy/DeployFailed.sh": (
            (
                RECORD.format(step="DeployFailed")
                + 'echo "failed=$OCTOPACK_FAILED_STEP" >> "$OCTOPACK_VAR_RECORD"\n'
            ).encode(),
            0o755,
        ),
        "Deploy.sh": (b"echo root script must not run; exit 1\n", 0o755),
    }
    files.update({name: (text.encode(), 0o644) for name, text in extra.items()})
    return write_zip(tmp_path / f"App.{version}.zip", files)


def deploy(
    octopack: Callable[..., Result], zip_path: Path, root: Path, record: Path, *args: str
) -> Result:
    return octopack(
        "deploy", "--file", zip_path, "--root", root, "--variable", f"RECORD={record}", *args
    )


SECRET = ("--sensitive-variable", "ConnectionStrings:Main=Server=db;Password=hunter2")


def test_production_gets_its_values_in_every_file_kind(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    record = tmp_path / "record.txt"
    result = deploy(octopack, package(tmp_path), root, record, "--environment", "Production",
                    *SECRET, "--output-format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [s["name"] for s in doc["steps"]] == [
        "SubstituteVariables", "StructuredVariables", "Deploy", "HealthCheck",
    ]  # fmt: skip
    assert doc["warnings"] == []
    release = root / "Production" / "App" / "current"
    settings = json.loads((release / "appsettings.json").read_text())
    assert settings == {
        "Logging": {"LogLevel": {"Default": "Warning"}},
        "ConnectionStrings": {"Main": "Server=db;Password=hunter2"},
    }
    assert (release / "config/app.yaml").read_text() == YAML_TEXT.replace(
        "workers: 1", "workers: 8"
    )
    assert (release / "config/web.conf").read_text() == "listen 8080\n"
    assert (release / "conf/app.properties").read_text() == PROPERTIES.replace("=0", "=8081")
    lines = record.read_text().splitlines()
    assert lines == [
        f"Deploy {release.resolve()} secret=Server=db;Password=hunter2",
        "health ok 8080",
    ]
    assert "hunter2" not in result.stderr  # masked on the console


def test_another_environment_keeps_the_defaults(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    record = tmp_path / "record.txt"
    result = deploy(octopack, package(tmp_path), root, record, "--environment", "Staging", *SECRET)
    assert result.exit_code == 0, result.output
    release = root / "Staging" / "App" / "current"
    settings = json.loads((release / "appsettings.json").read_text())
    assert settings["Logging"]["LogLevel"]["Default"] == "Information"
    assert "workers: 2" in (release / "config/app.yaml").read_text()


def test_precedence_command_line_then_file_then_environment_then_defaults(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    values = '{\n  "A": 0,\n  "B": 0,\n  "C": 0,\n  "D": 0\n}\n'
    zip_path = package(tmp_path, **{"values.json": values})
    manifest = MANIFEST.replace('"conf/app.properties"]', '"conf/app.properties", "values.json"]')
    manifest = manifest.replace("[variables]\n", "[variables]\nA = 1\nB = 1\nC = 1\nD = 1\n")
    manifest = manifest.replace(
        "[environments.Production.variables]\n",
        "[environments.Production.variables]\nA = 2\nB = 2\nC = 2\n",
    )
    files = {"octopack.toml": (manifest.replace("{health}", "true").encode(), 0o644)}
    zip_path = _replace_in_zip(zip_path, files)
    variables_file = tmp_path / "vars.json"
    variables_file.write_text('{"A": "3", "B": "3"}')
    result = deploy(octopack, zip_path, root, tmp_path / "r.txt", "--environment", "Production",
                    "--variables-file", variables_file, "--variable", "A=4", *SECRET)  # fmt: skip
    assert result.exit_code == 0, result.output
    deployed = json.loads((root / "Production/App/current/values.json").read_text())
    assert deployed == {"A": 4, "B": 3, "C": 2, "D": 1}


def _replace_in_zip(zip_path: Path, replacement: Files) -> Path:
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        files: Files = {
            info.filename: (archive.read(info), (info.external_attr >> 16) & 0o777)
            for info in archive.infolist()
        }
    files.update(replacement)
    zip_path.unlink()
    return write_zip(zip_path, files)


def test_a_missing_secret_stops_before_any_step(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    record = tmp_path / "record.txt"
    result = deploy(octopack, package(tmp_path), root, record, "--environment", "Production")
    assert result.exit_code == 1
    assert "required secret 'ConnectionStrings:Main' not given" in result.stderr
    assert not record.exists()  # no script ran
    assert not (root / "Production" / "App").exists()  # no release folder was left
    assert journal(root)[-1]["status"] == "failed"


def test_a_secret_given_as_a_plain_variable_is_masked_too(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    result = deploy(octopack, package(tmp_path), root, tmp_path / "r.txt",
                    "--variable", "ConnectionStrings:Main=hunter2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "secret=***" in result.output and "hunter2" not in result.output


def test_a_failed_health_check_runs_deploy_failed_and_keeps_the_previous_release(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    record = tmp_path / "record.txt"
    first = deploy(octopack, package(tmp_path), root, record, *SECRET)
    assert first.exit_code == 0, first.output
    current = root / "App" / "current"
    good = current.resolve()
    broken = package(tmp_path, "2.0.0", health='echo "sick #{Port}"; exit 3')
    result = deploy(octopack, broken, root, record, *SECRET, "--output-format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["status"] == "failed"
    assert doc["steps"][-2:] == [
        {"name": "HealthCheck", "exit_code": 3},
        {"name": "DeployFailed", "exit_code": 0},
    ]
    assert "not healthy after 2 attempt(s)" in doc["message"]
    assert result.stderr.count("[HealthCheck] sick 8080") == 2
    assert record.read_text().splitlines()[-1] == "failed=HealthCheck"
    assert current.resolve() == good  # `current` did not move


def test_dry_run_touches_nothing_and_matches_the_deploy(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    zip_path = package(tmp_path)
    record = tmp_path / "record.txt"
    args = ("--environment", "Production", *SECRET, "--variable", "Missing:Key=1")
    planned = deploy(
        octopack, zip_path, root, record, *args, "--dry-run", "--output-format", "json"
    )
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.stdout)
    assert not (root / "Production").exists() and not record.exists()
    assert [s["name"] for s in plan["steps"]] == [
        "Extract", "SubstituteVariables", "StructuredVariables", "Deploy", "HealthCheck",
        "DeployFailed", "SwitchCurrent",
    ]  # fmt: skip
    assert plan["health"] == HEALTHY.replace("#{Port}", "8080")
    assert {"file": "config/web.conf", "key": "Port", "old": "#{Port}", "new": "8080"} in plan[
        "changes"
    ]
    assert {
        "file": "appsettings.json", "key": "ConnectionStrings:Main", "old": "***", "new": "***",
    } in plan["changes"]  # fmt: skip
    assert "hunter2" not in planned.stdout
    assert plan["warnings"] == [
        "structured: variable 'Missing:Key' matches no key in appsettings.json, config/app.yaml, "
        "conf/app.properties"
    ]

    deployed = deploy(octopack, zip_path, root, record, *args, "--output-format", "json")
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.stdout)["warnings"] == plan["warnings"]
    release = root / "Production" / "App" / "current"
    structured = [c for c in plan["changes"] if not c["old"].startswith("#{")]
    assert {(c["file"], c["key"]) for c in structured} == {
        ("appsettings.json", "Logging:LogLevel:Default"),
        ("appsettings.json", "ConnectionStrings:Main"),
        ("config/app.yaml", "server:workers"),
        ("conf/app.properties", "app:port"),
    }
    for change in structured:
        value = _value_at(release / change["file"], change["key"].split(":"))
        expected = "Server=db;Password=hunter2" if change["new"] == "***" else change["new"]
        assert str(value) == expected


def test_dry_run_text_lists_steps_changes_and_warnings(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    result = deploy(octopack, package(tmp_path), root, tmp_path / "r.txt", *SECRET, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "plan: deploy App 1.0.0 (dry run, nothing changed)" in result.output
    assert "  3. StructuredVariables: appsettings.json, config/*.yaml" in result.output
    assert "change config/app.yaml: server:workers: '1' -> '2'" in result.output
    assert "HealthCheck: grep -q 8080 config/web.conf" in result.output
    assert not (root / "App").exists()


def _value_at(path: Path, keys: list[str]) -> object:
    if path.suffix == ".properties":  # plain `key=value` lines in this test's file
        lines = [line.split("=", 1) for line in path.read_text().splitlines() if "=" in line]
        return dict(lines)[".".join(keys)]
    node = json.loads(path.read_text()) if path.suffix == ".json" else YAML().load(path.read_text())
    for key in keys:
        node = node[key]
    return node


def test_the_example_app_deploys_its_process_as_the_readme_says(
    tmp_path: Path, root: Path, octopack: Callable[..., Result]
) -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "hello-app"
    packed = octopack("pack", "--id", "Hello.App", "--version", "1.0.0", "--base-path", example,
                      "--out-folder", tmp_path, "--output-format", "json")  # fmt: skip
    assert packed.exit_code == 0, packed.output
    assert json.loads(packed.stdout)["process"]["secrets"] == ["Api:Token"]
    zip_path = tmp_path / "Hello.App.1.0.0.zip"
    base = ("deploy", "--file", zip_path, "--root", root, "--environment", "Production")
    refused = octopack(*base)
    assert refused.exit_code == 1 and "'Api:Token' not given" in refused.stderr
    token = ("--sensitive-variable", "Api:Token=t0k3n")
    planned = octopack(*base, *token, "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert (
        "change config/settings.json: Logging:Level: 'Information' -> 'Warning'" in planned.stdout
    )
    assert "change config/settings.json: Api:Token: '***' -> '***'" in planned.stdout
    assert "warning" not in planned.stdout and not (root / "Production" / "Hello.App").exists()
    deployed = octopack(*base, *token)
    assert deployed.exit_code == 0, deployed.output
    current = root / "Production" / "Hello.App" / "current"
    settings = json.loads((current / "config/settings.json").read_text())
    assert settings == {"Port": 8080, "Logging": {"Level": "Warning"}, "Api": {"Token": "t0k3n"}}
    assert "greeting = Hello from Production" in (current / "config/app.conf").read_text()
    assert "[HealthCheck] healthy" in deployed.stdout and "t0k3n" not in deployed.stdout
