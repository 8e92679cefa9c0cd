"""Variables, masking and `#{Name}` substitution on a release folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from packer.model.errors import BadInput, OperationFailed
from packer.target.substitution import glob_to_regex, substitute_files
from packer.target.variables import Variables, env_name, parse_assignment, script_environment


def test_assignment_keeps_equals_in_value_and_refuses_missing_name() -> None:
    assert parse_assignment("Conn=a=b;c") == ("Conn", "a=b;c")
    with pytest.raises(BadInput, match="'novalue' is not NAME=VALUE"):
        parse_assignment("novalue")
    with pytest.raises(BadInput, match="'=x' is not NAME=VALUE"):
        parse_assignment("=x")


def test_variables_file_must_be_an_object_of_scalars(tmp_path: Path) -> None:
    good = tmp_path / "vars.json"
    good.write_text(json.dumps({"Port": 8080, "Debug": True, "Name": "web"}))
    built = Variables.build(["Name=cli"], [], [good])
    assert built.values == {"Port": "8080", "Debug": "true", "Name": "cli"}
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(BadInput, match="list.json must hold a JSON object"):
        Variables.build(files=[listing])
    nested = tmp_path / "nested.json"
    nested.write_text('{"A": {"b": 1}}')
    with pytest.raises(BadInput, match="value of 'A' must be a string or number"):
        Variables.build(files=[nested])
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(BadInput, match="broken.json is not valid JSON"):
        Variables.build(files=[broken])
    with pytest.raises(BadInput, match="missing.json does not exist"):
        Variables.build(files=[tmp_path / "missing.json"])


def test_environment_names_and_context_precedence() -> None:
    variables = Variables.build(["db.host=h", "Port=1", "OCTOPACK_INSTALL_DIR=evil"])
    assert env_name("db.host") == "OCTOPACK_VAR_DB_HOST"
    env = script_environment({"PATH": "/bin"}, {"OCTOPACK_INSTALL_DIR": "/real"}, variables)
    assert env["OCTOPACK_VAR_DB_HOST"] == "h"
    assert "db.host" not in env  # not a shell identifier
    assert env["Port"] == "1" and env["OCTOPACK_VAR_PORT"] == "1"
    assert env["OCTOPACK_INSTALL_DIR"] == "/real"
    assert env["PATH"] == "/bin"


def test_mask_replaces_sensitive_values_longest_first() -> None:
    variables = Variables.build(["Plain=visible"], ["Pw=s3cret", "Long=s3cret-and-more"])
    text = "visible s3cret s3cret-and-more"
    assert variables.mask(text) == "visible *** ***"


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_glob_semantics() -> None:
    assert glob_to_regex("*.config").fullmatch("web.config")
    assert not glob_to_regex("*.config").fullmatch("sub/web.config")
    assert glob_to_regex("**/*.config").fullmatch("sub/deeper/web.config")
    assert glob_to_regex("**/*.config").fullmatch("web.config")
    assert glob_to_regex("conf").fullmatch("conf/a/b.txt")  # a directory covers its contents
    assert not glob_to_regex("*.Config").fullmatch("web.config")  # case-sensitive
    assert glob_to_regex("app[0-9].json").fullmatch("app1.json")


def test_a_malformed_glob_matches_nothing_and_is_reported(tmp_path: Path) -> None:
    _tree(tmp_path, {"a/b.txt": "#{X}", "c.txt": "#{X}"})
    report = substitute_files(tmp_path, ["a\\*.txt", "../c.txt"], Variables({"X": "1"}))
    assert report.unmatched_globs == ["a\\*.txt", "../c.txt"] and report.changed == []
    assert (tmp_path / "c.txt").read_text() == "#{X}"


def test_substitution_replaces_known_names_and_keeps_mode(tmp_path: Path) -> None:
    _tree(tmp_path, {"app.json": '{"port": #{Port}, "db": "#{db.host}"}', "other.txt": "#{Port}"})
    os.chmod(tmp_path / "app.json", 0o600)
    variables = Variables.build(["Port=8080", "DB.Host=db1"])
    report = substitute_files(tmp_path, ["*.json", "none/**"], variables)
    assert (tmp_path / "app.json").read_text() == '{"port": 8080, "db": "db1"}'
    assert (tmp_path / "other.txt").read_text() == "#{Port}"
    assert (tmp_path / "app.json").stat().st_mode & 0o777 == 0o600
    assert report.changed == ["app.json"]
    assert report.unmatched_globs == ["none/**"]


def test_unknown_name_fails_and_changes_nothing(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.conf": "#{Known}", "b.conf": "#{Known} #{Unknown}"})
    variables = Variables.build(["Known=1"])
    with pytest.raises(OperationFailed, match=r"b.conf: Unknown"):
        substitute_files(tmp_path, ["*.conf"], variables)
    assert (tmp_path / "a.conf").read_text() == "#{Known}"  # all or nothing
    report = substitute_files(tmp_path, ["*.conf"], variables, allow_missing=True)
    assert (tmp_path / "b.conf").read_text() == "1 #{Unknown}"
    assert report.missing == {"b.conf": ["Unknown"]}


def test_substitution_never_follows_symlinks_out_of_the_release(tmp_path: Path) -> None:
    outside = tmp_path / "outside.conf"
    outside.write_text("#{Port}")
    release = tmp_path / "release"
    release.mkdir()
    (release / "link.conf").symlink_to(outside)
    substitute_files(release, ["*.conf"], Variables.build(["Port=1"]))
    assert outside.read_text() == "#{Port}"


@pytest.mark.parametrize(
    "text",
    ["#{...}", "#{}", "#{1st}", "#{ }", "#{a/b}", "#{-x}", "#{Name | Filter}", "#{a\tb}"],
)
def test_text_that_is_not_a_variable_name_stays_as_written(tmp_path: Path, text: str) -> None:
    _tree(tmp_path, {"a.conf": f"# hint: {text} are replaced\nv = #{{Known}}\n"})
    report = substitute_files(tmp_path, ["*.conf"], Variables.build(["Known=1"]))
    assert (tmp_path / "a.conf").read_text() == f"# hint: {text} are replaced\nv = 1\n"
    assert report.missing == {}


@pytest.mark.parametrize(
    ("token", "name"),
    [
        ("#{Port}", "Port"),
        ("#{ Port }", "Port"),
        ("#{_private}", "_private"),
        ("#{Db.Host-2}", "Db.Host-2"),
        ("#{Octopus.Action[Step 1].Output:Value}", "Octopus.Action[Step 1].Output:Value"),
    ],
)
def test_variable_names_follow_the_documented_grammar(
    tmp_path: Path, token: str, name: str
) -> None:
    _tree(tmp_path, {"a.conf": f"v = {token}\n"})
    substitute_files(tmp_path, ["*.conf"], Variables.build([f"{name}=ok"]))
    assert (tmp_path / "a.conf").read_text() == "v = ok\n"
