"""Finding, choosing and running deploy scripts with real bash and Python."""

from __future__ import annotations

import io
import os
from pathlib import Path

from packer.target.scripts import MISSING_INTERPRETER_EXIT, find_scripts, run_step


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_scripts_are_found_case_insensitively_in_preference_order(tmp_path: Path) -> None:
    _write(tmp_path / "deploy.PS1", "")
    _write(tmp_path / "Deploy.py", "")
    _write(tmp_path / "DEPLOY.sh", "")
    _write(tmp_path / "PreDeploy.txt", "")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "PostDeploy.sh", "")  # below the root: never runs
    found = find_scripts(tmp_path)
    assert [p.name for p in found["Deploy"]] == ["DEPLOY.sh", "Deploy.py", "deploy.PS1"]
    assert found["PreDeploy"] == [] and found["PostDeploy"] == []


def test_step_output_is_prefixed_masked_and_logged(tmp_path: Path) -> None:
    script = _write(tmp_path / "Deploy.sh", 'echo "pw=$SECRET"; echo oops >&2; exit 3\n')
    lines: list[str] = []
    log = io.StringIO()
    env = dict(os.environ, SECRET="hunter2")
    result = run_step(
        "Deploy", [script], tmp_path, env, lambda t: t.replace("hunter2", "***"), lines.append, log
    )
    assert result.exit_code == 3
    assert "[Deploy] pw=***" in lines and "[Deploy] oops" in lines
    assert "hunter2" not in log.getvalue()
    assert "Deploy.sh exited with code 3" in log.getvalue()


def test_python_script_runs_with_the_install_dir_as_cwd(tmp_path: Path) -> None:
    script = _write(tmp_path / "PostDeploy.py", "import os; print(os.getcwd())\n")
    lines: list[str] = []
    result = run_step(
        "PostDeploy", [script], tmp_path, os.environ, str, lines.append, io.StringIO()
    )
    assert result.exit_code == 0
    assert f"[PostDeploy] {tmp_path}" in lines


def test_ps1_only_step_fails_clearly_without_pwsh(tmp_path: Path) -> None:
    script = _write(tmp_path / "Deploy.ps1", "Write-Host hi\n")
    lines: list[str] = []
    result = run_step(
        "Deploy", [script], tmp_path, os.environ, str, lines.append, io.StringIO(),
        which=lambda name: None if name == "pwsh" else "/usr/bin/" + name,
    )  # fmt: skip
    assert result.exit_code == MISSING_INTERPRETER_EXIT
    assert "Deploy.ps1 needs PowerShell (pwsh), which is not installed here" in result.message


def test_sh_is_chosen_over_ps1_when_both_exist(tmp_path: Path) -> None:
    sh = _write(tmp_path / "Deploy.sh", "echo from-bash\n")
    ps1 = _write(tmp_path / "Deploy.ps1", "Write-Host from-pwsh\n")
    lines: list[str] = []
    result = run_step("Deploy", [sh, ps1], tmp_path, os.environ, str, lines.append, io.StringIO())
    assert result.exit_code == 0 and result.script == "Deploy.sh"
    assert "[Deploy] from-bash" in lines
