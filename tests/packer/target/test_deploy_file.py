"""`octopack deploy --file`: extraction, script order and environment, current, journal."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.packer.target.conftest import files_below, journal
from tests.packer.target.packages import (
    FIXED_EPOCH,
    recording_files,
    script,
    write_nupkg,
    write_tar,
    write_zip,
)


def _records(path: Path) -> list[dict[str, str]]:
    """Parse the lines the recording scripts wrote, one dict per step."""
    steps: list[dict[str, str]] = []
    for line in path.read_text().splitlines():
        if line.startswith("step="):
            steps.append({})
        if line.startswith("failed="):
            steps[-1]["failed"] = line.split("=", 1)[1]
            continue
        for part in line.split(" "):
            if "=" in part:
                key, value = part.split("=", 1)
                steps[-1][key] = value
    return steps


def test_scripts_run_in_order_with_environment_and_substitution(tmp_path, root, octopack):
    package = write_zip(tmp_path / "Web.App.1.2.3.zip", recording_files())
    record = tmp_path / "record.txt"
    result = octopack(
        "deploy", "--file", package, "--root", root, "--environment", "Prod",
        "--variable", f"Record={record}", "--variable", "Port=8080",
        "--substitute", "*.config", "--output-format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    release = root / "Prod" / "Web.App" / "1.2.3"
    assert document["directory"] == str(release) and document["status"] == "success"
    assert [s["name"] for s in document["steps"]] == [
        "PreDeploy", "SubstituteVariables", "Deploy", "PostDeploy",
    ]  # fmt: skip
    steps = _records(record)
    assert [s["step"] for s in steps] == ["PreDeploy", "Deploy", "PostDeploy"]
    assert steps[0]["config"] == "port=#{Port}"  # substitution runs after PreDeploy
    assert steps[1]["config"] == "port=8080"
    first = steps[0]
    assert first["cwd"] == str(release) and first["install"] == str(release)
    assert (first["id"], first["version"], first["env"]) == ("Web.App", "1.2.3", "Prod")
    assert first["previous"] == "" and first["var"] == "8080" and first["plain"] == "8080"
    assert os.readlink(root / "Prod" / "Web.App" / "current") == "1.2.3"
    assert os.access(release / "bin" / "run.sh", os.X_OK)
    assert not os.access(release / "app.config", os.X_OK)
    assert int((release / "bin" / "run.sh").stat().st_mtime) == int(FIXED_EPOCH)
    [entry] = journal(root)
    assert entry["status"] == "success" and entry["success"] is True
    assert entry["directory"] == str(release) and entry["environment"] == "Prod"
    assert entry["started"] <= entry["finished"]
    [log] = (root / ".octopack" / "logs").iterdir()
    assert "[PostDeploy] running PostDeploy.sh" in log.read_text()
    # no temp directory remains beside the release
    assert sorted(p.name for p in release.parent.iterdir()) == ["1.2.3", "current"]


def test_failing_deploy_runs_deploy_failed_and_keeps_previous_current(tmp_path, root, octopack):
    record = tmp_path / "record.txt"
    good = write_zip(tmp_path / "Web.1.0.0.zip", recording_files())
    bad = write_zip(tmp_path / "Web.1.1.0.zip", recording_files(deploy_exit=7))
    assert octopack("deploy", "--file", good, "--root", root, "--variable", f"Record={record}")
    result = octopack(
        "deploy", "--file", bad, "--root", root, "--variable", f"Record={record}",
        "--output-format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    assert document["steps"] == [
        {"name": "PreDeploy", "exit_code": 0},
        {"name": "Deploy", "exit_code": 7},
        {"name": "DeployFailed", "exit_code": 0},
    ]
    assert "Deploy.sh exited with code 7" in result.stderr
    steps = _records(record)
    assert [s["step"] for s in steps][3:] == ["PreDeploy", "Deploy", "DeployFailed"]
    assert steps[-1]["failed"] == "Deploy"
    assert steps[-1]["previous"] == str(root / "Web" / "1.0.0")
    assert os.readlink(root / "Web" / "current") == "1.0.0"
    assert (root / "Web" / "1.1.0" / "Deploy.sh").is_file()  # kept for inspection
    assert [e["status"] for e in journal(root)] == ["success", "failed"]


def test_redeploy_of_the_same_version_gets_a_new_directory(tmp_path, root, octopack):
    package = write_zip(tmp_path / "Web.2.0.0.zip", {"a.txt": (b"a", 0o644)})
    for _ in range(3):
        assert octopack("deploy", "--file", package, "--root", root).exit_code == 0
    assert sorted(p.name for p in (root / "Web").iterdir()) == [
        "2.0.0", "2.0.0_1", "2.0.0_2", "current",
    ]  # fmt: skip
    assert os.readlink(root / "Web" / "current") == "2.0.0_2"


@pytest.mark.parametrize("mode,ext", [("w:gz", "tar.gz"), ("w:bz2", "tar.bz2"), ("w", "tar")])
def test_tar_formats_keep_modes_and_times(tmp_path, root, octopack, mode, ext):
    package = write_tar(tmp_path / f"Tools.0.9.0-beta.1.{ext}", recording_files(), mode)
    result = octopack("deploy", "--file", package, "--root", root, "--variable", "Record=/dev/null")
    assert result.exit_code == 0, result.output
    release = root / "Tools" / "0.9.0-beta.1"
    assert os.access(release / "Deploy.sh", os.X_OK)
    assert int((release / "app.config").stat().st_mtime) == int(FIXED_EPOCH)


def test_nupkg_takes_id_and_version_from_nuspec_and_skips_opc_parts(tmp_path, root, octopack):
    package = write_nupkg(
        tmp_path / "drop.nupkg", "Acme.Api", "3.1.0", {"lib/app.dll": (b"MZ", 0o644)}
    )
    result = octopack("deploy", "--file", package, "--root", root, "--output-format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["version"] == "3.1.0"
    assert files_below(root / "Acme.Api" / "3.1.0") == {"lib", "lib/app.dll"}


def test_sensitive_values_are_masked_everywhere(tmp_path, root, octopack):
    files = {
        "Deploy.sh": (b'echo "password is $DbPassword"; echo "$DbPassword" >&2; exit 1\n', 0o755),
        "DeployFailed.sh": (b'echo "cleanup with $OCTOPACK_VAR_DBPASSWORD"\n', 0o755),
    }
    package = write_zip(tmp_path / "Secret.1.0.0.zip", files)
    result = octopack(
        "deploy", "--file", package, "--root", root,
        "--sensitive-variable", "DbPassword=Tr0ub4dor&3",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "[Deploy] password is ***" in result.output
    assert "[DeployFailed] cleanup with ***" in result.output
    state = root / ".octopack"
    for path in [*state.rglob("*.log"), state / "journal.json"]:
        assert "Tr0ub4dor" not in path.read_text(), path
    assert "Tr0ub4dor" not in result.output


def test_unknown_substitution_variable_fails_the_deploy(tmp_path, root, octopack):
    package = write_zip(tmp_path / "Web.1.0.0.zip", recording_files())
    base = ["deploy", "--file", package, "--root", root, "--variable", "Record=/dev/null"]
    result = octopack(*base, "--substitute", "app.config")
    assert result.exit_code == 1
    assert "no value for variables in substituted files (app.config: Port)" in result.output
    assert not (root / "Web" / "current").exists()
    allowed = octopack(*base, "--substitute", "app.config", "--allow-missing-variables")
    assert allowed.exit_code == 0, allowed.output
    assert (root / "Web" / "current" / "app.config").read_text() == "port=#{Port}\n"


@pytest.mark.skipif(shutil.which("pwsh") is not None, reason="pwsh is installed here")
def test_ps1_only_step_fails_clearly_without_pwsh(tmp_path, root, octopack):
    package = write_zip(tmp_path / "Win.1.0.0.zip", {"Deploy.ps1": (b"Write-Host hi", 0o644)})
    result = octopack("deploy", "--file", package, "--root", root)
    assert result.exit_code == 1
    assert "Deploy.ps1 needs PowerShell (pwsh), which is not installed here" in result.output


def test_bad_local_input_exits_2(tmp_path, root, octopack):
    missing = octopack("deploy", "--file", tmp_path / "Nope.1.0.0.zip", "--root", root)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    odd = tmp_path / "notes.txt"
    odd.write_text("x")
    assert octopack("deploy", "--file", odd, "--root", root).exit_code == 2
    package = write_zip(tmp_path / "Web.1.0.0.zip", {"a": (b"", 0o644)})
    env = octopack("deploy", "--file", package, "--root", root, "--environment", "../up")
    assert env.exit_code == 2 and "'../up' cannot be a directory name" in env.stderr
    both = octopack("deploy", "Web", "--version", "1", "--range", "[1,2)", "--root", root)
    assert both.exit_code == 2
    assert not (root / "Web").exists()


def test_retention_keeps_newest_successful_and_drops_failed(tmp_path, root, octopack):
    args = ["--root", root, "--environment", "Test", "--variable", "Record=/dev/null"]
    versions = [("1.0.0", 0), ("1.0.1", 3), ("1.0.2", 0), ("1.0.3", 0)]
    for version, code in versions:
        package = write_zip(tmp_path / f"Web.{version}.zip", recording_files(code))
        octopack("deploy", "--file", package, *args)
    package = write_zip(tmp_path / "Web.1.0.4.zip", recording_files())
    result = octopack("deploy", "--file", package, *args, "--keep", "2", "--output-format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [k["version"] for k in document["kept"]] == ["1.0.4", "1.0.3"]
    assert sorted(d["version"] for d in document["deleted"]) == ["1.0.0", "1.0.1", "1.0.2"]
    assert sorted(p.name for p in (root / "Test" / "Web").iterdir()) == [
        "1.0.3", "1.0.4", "current",
    ]  # fmt: skip
    cleanup = octopack(
        "deploy", "--cleanup-only", "--keep", "1", "--root", root, "--output-format", "json"
    )
    assert cleanup.exit_code == 0, cleanup.output
    assert [d["version"] for d in json.loads(cleanup.stdout)["deleted"]] == ["1.0.3"]
    assert os.readlink(root / "Test" / "Web" / "current") == "1.0.4"
    assert (root / "Test" / "Web" / "1.0.4" / "Deploy.sh").exists()
    # the journal still records every deployment
    assert len(journal(root)) == 5


def test_variables_file_feeds_scripts(tmp_path, root, octopack):
    record = tmp_path / "record.txt"
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"Record": str(record), "Port": 99}))
    files = {"Deploy.sh": (script("Deploy"), 0o755), "app.config": (b"x", 0o644)}
    package = write_zip(tmp_path / "Web.1.0.0.zip", files)
    result = octopack("deploy", "--file", package, "--root", root, "--variables-file", variables)
    assert result.exit_code == 0, result.output
    assert _records(record)[0]["var"] == "99"


def test_usage_errors_exit_2(tmp_path, root, octopack):
    package = write_zip(tmp_path / "Web.1.0.0.zip", {"a": (b"", 0o644)})
    mismatch = octopack("deploy", "Other", "--file", package, "--root", root)
    assert mismatch.exit_code == 2 and "holds package 'Web', not 'Other'" in mismatch.stderr
    cleanup = octopack("deploy", "--cleanup-only", "--root", root)
    assert cleanup.exit_code == 2 and "--cleanup-only needs --keep N" in cleanup.stderr
    keep = octopack("deploy", "--file", package, "--root", root, "--keep", "0")
    assert keep.exit_code == 2 and "--keep 0 must be at least 1" in keep.stderr
    nothing = octopack("deploy", "--root", root)
    assert nothing.exit_code == 2 and "give a package ID" in nothing.stderr
    bad_var = octopack("deploy", "--file", package, "--root", root, "--variable", "oops")
    assert bad_var.exit_code == 2 and "'oops' is not NAME=VALUE" in bad_var.stderr
    assert not (root / "Web").exists()
