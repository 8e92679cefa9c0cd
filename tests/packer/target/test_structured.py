"""Structured variables: JSON, YAML and .properties before and after, typed, formatting kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from packer.model.errors import OperationFailed
from packer.target.structured import Change, apply_structured, plan_structured
from packer.target.variables import Variables

APPSETTINGS = """\
{
    "Logging": {
        "LogLevel": {
            "Default": "Debug"
        }
    },
    "Port": 8080,
    "Ratio": 0.5,
    "Debug": false,
    "Hosts": [
        "a",
        "b"
    ],
    "Name": "web"
}
"""

YAML = """\
# the app's settings; this comment stays
server:
  port: 8080   # the listening port
  name: "web"  # quoted stays quoted
  debug: false
hosts:
  - one
  - two
zeta: last   # order is kept too
"""

PROPERTIES = (
    "# the app's properties\r\n"
    "app.name = hello\r\n"
    "! another comment style\r\n"
    "db.url=jdbc:postgresql://old \\\r\n"
    "    /continued\r\n"
    "feature\\:flag : on\r\n"
    "untouched=value\r\n"
)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def variables(*assignments: str, secrets: tuple[str, ...] = ()) -> Variables:
    return Variables.build(assignments, secrets)


def test_json_values_keep_type_and_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "appsettings.json", APPSETTINGS)
    given = variables(
        "Logging:LogLevel:Default=Warning", "Port=9090", "Ratio=0.75", "Debug=True",
        "Hosts:1=c", "Name=api",
    )  # fmt: skip
    plan = apply_structured(tmp_path, ["appsettings.json"], given)
    after = path.read_text()
    assert json.loads(after) == {
        "Logging": {"LogLevel": {"Default": "Warning"}},
        "Port": 9090,
        "Ratio": 0.75,
        "Debug": True,
        "Hosts": ["a", "c"],
        "Name": "api",
    }
    expected = (
        APPSETTINGS.replace('"Debug"\n', '"Warning"\n')
        .replace("8080", "9090")
        .replace("0.5", "0.75")
        .replace("false", "true")
        .replace('"b"', '"c"')
        .replace('"web"', '"api"')
    )
    assert after == expected  # four-space indentation and the final newline kept
    assert [c.key for c in plan.changes] == [
        "Logging:LogLevel:Default", "Port", "Ratio", "Debug", "Hosts:1", "Name",
    ]  # fmt: skip
    assert plan.changes[1] == Change("appsettings.json", "Port", "8080", "9090")
    assert plan.warnings == []


def test_a_value_that_is_not_a_number_stays_text_and_a_section_needs_json(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{"Port": 1, "Section": {"A": 1}}')
    apply_structured(tmp_path, ["a.json"], variables("Port=auto"))
    assert json.loads(path.read_text())["Port"] == "auto"
    apply_structured(tmp_path, ["a.json"], variables('Section={"B": [1, 2]}'))
    assert json.loads(path.read_text())["Section"] == {"B": [1, 2]}
    with pytest.raises(OperationFailed, match="a.json: Section is a section"):
        apply_structured(tmp_path, ["a.json"], variables("Section=plain"))


def test_yaml_keeps_comments_order_and_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, "config/app.yaml", YAML)
    given = variables("server:port=9090", "server:name=api", "server:debug=true", "hosts:1=deux")
    plan = apply_structured(tmp_path, ["config/*.yaml"], given)
    assert path.read_text() == (
        YAML.replace("8080", "9090")
        .replace('"web"', '"api"')
        .replace("false", "true")
        .replace("- two", "- deux")
    )
    assert Change("config/app.yaml", "server:port", "8080", "9090") in plan.changes


def test_properties_change_only_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "conf/app.properties", PROPERTIES)
    given = variables("app:name=bye", "db.url=jdbc:postgresql://new", "feature:flag=off")
    plan = apply_structured(tmp_path, ["conf/app.properties"], given)
    assert path.read_bytes().decode() == (
        "# the app's properties\r\n"
        "app.name = bye\r\n"
        "! another comment style\r\n"
        "db.url=jdbc:postgresql://new\r\n"
        "feature\\:flag : off\r\n"
        "untouched=value\r\n"
    )
    assert plan.changes == [
        Change("conf/app.properties", "app:name", "hello", "bye"),
        Change("conf/app.properties", "db.url", "jdbc:postgresql://old /continued",
               "jdbc:postgresql://new"),
        Change("conf/app.properties", "feature:flag", "on", "off"),
    ]  # fmt: skip


def test_unmatched_keys_and_globs_are_warnings_and_nothing_is_written(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{"A": 1}\n')
    write(tmp_path, "notes.txt", "A=1")
    before = path.stat().st_mtime_ns
    plan = apply_structured(
        tmp_path, ["a.json", "notes.txt", "missing/*.yaml"], variables("Nope:Key=1", "Plain=2")
    )
    assert plan.changes == [] and path.stat().st_mtime_ns == before
    assert plan.warnings == [
        "structured: notes.txt is not a .json, .yaml, .yml or .properties file; skipped",
        "structured: no file matches 'missing/*.yaml'",
        "structured: variable 'Nope:Key' matches no key in a.json",
    ]


def test_secrets_are_masked_in_the_plan(tmp_path: Path) -> None:
    write(tmp_path, "a.json", '{"Db": {"Password": "old"}, "Url": "x"}')
    given = variables("Url=server;pw=hunter2", secrets=("Db:Password=hunter2",))
    plan = plan_structured(tmp_path, ["a.json"], given)
    assert Change("a.json", "Db:Password", "***", "***") in plan.changes
    assert Change("a.json", "Url", "x", "server;pw=***") in plan.changes
    assert "hunter2" not in json.dumps([c.to_json() for c in plan.changes])


def test_broken_files_fail_with_their_name(tmp_path: Path) -> None:
    write(tmp_path, "bad.json", "{")
    write(tmp_path, "bad.yaml", "a: [")
    with pytest.raises(OperationFailed, match="bad.json is not valid JSON"):
        plan_structured(tmp_path, ["bad.json"], variables("A=1"))
    with pytest.raises(OperationFailed, match="bad.yaml is not valid YAML"):
        plan_structured(tmp_path, ["bad.yaml"], variables("A=1"))


def test_json_changes_only_the_bytes_of_the_replaced_values(tmp_path: Path) -> None:
    text = '{"Logging": { "LogLevel": {"Default": "Debug"} },\n\t"Ports": [80, 443],  "Name" : "a\\"b"}'
    path = write(tmp_path, "compact.json", text)
    apply_structured(tmp_path, ["compact.json"], variables("Logging:LogLevel:Default=Error",
                                                            "Ports:1=8443", "Name=c"))  # fmt: skip
    assert path.read_text() == text.replace('"Debug"', '"Error"').replace("443", "8443").replace(
        '"a\\"b"', '"c"'
    )


def test_json_section_and_value_inside_it_fall_back_to_indented_dump(tmp_path: Path) -> None:
    path = write(tmp_path, "a.json", '{\n  "S": {"A": 1},\n  "T": 2\n}\n')
    apply_structured(tmp_path, ["a.json"], variables('S={"A": 5}', "S:A=7"))
    assert path.read_text() == '{\n  "S": {\n    "A": 7\n  },\n  "T": 2\n}\n'
