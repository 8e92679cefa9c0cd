"""Deflate64 zips as Windows and 7-Zip write them, and two deploys of one id at once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.packer.target.conftest import journal
from tests.packer.target.packages import write_zip

REPO = Path(__file__).resolve().parents[3]


def _need(tool: str) -> None:
    """Skip when a client tool is missing locally; fail instead under CI."""
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is required under CI but is not installed")
        pytest.skip(f"{tool} is not installed (apt-get install p7zip-full)")


def test_deflate64_zip_from_7zip_is_extracted_correctly(tmp_path, root, octopack):
    _need("7z")
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    payloads = {
        "data/text.txt": b"".join(b"line %d of a Deflate64 test\n" % i for i in range(40_000)),
        "data/random.bin": os.urandom(300_000),
        "readme.md": b"# hello\n" * 100,
    }
    for name, data in payloads.items():
        (source / name).write_bytes(data)
    package = tmp_path / "Legacy.App.4.2.0.zip"
    subprocess.run(
        ["7z", "a", "-tzip", "-mm=Deflate64", "-bso0", "-bsp0", str(package), "."],
        cwd=source,
        check=True,
    )
    with zipfile.ZipFile(package) as archive:
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert methods["data/text.txt"] == methods["readme.md"] == 9  # Deflate64
    result = octopack("deploy", "--file", package, "--root", root)
    assert result.exit_code == 0, result.output
    release = root / "Legacy.App" / "4.2.0"
    for name, data in payloads.items():
        assert (release / name).read_bytes() == data


def _start_deploy(package: Path, root: Path, gate: Path, log: Path) -> subprocess.Popen:
    """Start `octopack deploy --file` as its own process, output to `log`."""
    command = [
        sys.executable, "-c", "from packer.cli import main; main()",
        "deploy", "--file", str(package), "--root", str(root), "--environment", "Prod",
        "--variable", f"Gate={gate}",
    ]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait_for(condition, what: str, process: subprocess.Popen, limit: float = 60.0) -> None:
    """Poll a condition (a safety limit only: the order of events never depends on time)."""
    deadline = time.monotonic() + limit
    while not condition():
        if process.poll() is not None and not condition():
            raise AssertionError(f"process ended before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_second_deploy_of_same_id_waits_for_the_first(tmp_path, root):
    predeploy = (
        b'echo "$OCTOPACK_INSTALL_DIR" >> "$Gate.order"\n'
        b'touch "$Gate.started"\n'
        b'while [ ! -e "$Gate.go" ]; do sleep 0.02; done\n'
    )
    package = write_zip(tmp_path / "Web.1.0.0.zip", {"PreDeploy.sh": (predeploy, 0o755)})
    gate = tmp_path / "gate"
    started, go = Path(f"{gate}.started"), Path(f"{gate}.go")
    first = _start_deploy(package, root, gate, tmp_path / "first.log")
    second = None
    try:
        _wait_for(started.exists, "the first deploy's PreDeploy", first)
        second = _start_deploy(package, root, gate, tmp_path / "second.log")
        waiting = "waiting for another deploy of Web to Prod to finish"
        _wait_for(
            lambda: waiting in (tmp_path / "second.log").read_text(), "the wait message", second
        )
        assert first.poll() is None  # the first still holds the lock
        go.touch()
        assert first.wait(timeout=60) == 0
        assert second.wait(timeout=60) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
    order = Path(f"{gate}.order").read_text().split()
    assert order == [str(root / "Prod" / "Web" / "1.0.0"), str(root / "Prod" / "Web" / "1.0.0_1")]
    entries = journal(root)
    assert [e["status"] for e in entries] == ["success", "success"]
    assert entries[0]["finished"] <= entries[1]["started"]  # strictly one after the other
    assert os.readlink(root / "Prod" / "Web" / "current") == "1.0.0_1"


def test_lock_timeout_refuses_a_second_deploy(tmp_path, root, octopack):
    from packer.target.locks import exclusive_lock, lock_path

    package = write_zip(tmp_path / "Web.1.0.0.zip", {"a.txt": (b"a", 0o644)})
    with exclusive_lock(lock_path(root / ".octopack", "Web", None), 1, "Web"):
        result = octopack(
            "deploy", "--file", package, "--root", root, "--lock-timeout", "0",
            "--output-format", "json",
        )  # fmt: skip
    assert result.exit_code == 1
    assert "another deploy of Web still holds" in result.stderr
    assert not (root / "Web").exists()
    assert json.loads(result.stdout)["status"] == "failed"
