"""The outbox on disk: owner-only report files, oldest first, refused ones moved aside."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from packer.target.outbox import Outbox


def _report(number: int) -> dict:
    return {"id": f"00000000-0000-4000-8000-00000000000{number}",
            "finished": f"2026-01-02T03:04:0{number}Z"}  # fmt: skip


def test_reports_are_owner_only_and_listed_oldest_first(tmp_path: Path):
    outbox = Outbox(tmp_path / ".octopack")
    for number in (3, 1, 2):
        outbox.put("http://feed", _report(number))
    waiting, broken = outbox.waiting()
    assert broken == []
    assert [w.report["id"][-1] for w in waiting] == ["1", "2", "3"]
    assert {w.server for w in waiting} == {"http://feed"}
    for entry in waiting:
        assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.path.stat().st_mode) == 0o700
    assert [p.name for p in outbox.path.iterdir() if p.name.startswith(".")] == []


def test_rejected_reports_keep_the_reason_and_leave_the_outbox(tmp_path: Path):
    outbox = Outbox(tmp_path / ".octopack")
    outbox.put("http://feed", _report(1))
    (outbox.path / "junk.json").write_text("{not json")
    waiting, broken = outbox.waiting()
    moved = outbox.reject(waiting[0].path, "answered 400: unknown package", waiting[0])
    assert json.loads(moved.read_text())["reason"] == "answered 400: unknown package"
    junk = outbox.reject(*broken[0])
    assert junk.exists() and "not a report file" in junk.with_suffix(".reason.json").read_text()
    assert outbox.waiting() == ([], [])


def test_an_empty_or_missing_outbox_waits_for_nothing(tmp_path: Path):
    assert Outbox(tmp_path / "nowhere").waiting() == ([], [])


def test_reports_wait_for_the_feed_they_were_made_for(tmp_path: Path):
    from packer.client.deployments import DeploymentsClient
    from packer.target.reporting import Reporter

    outbox = Outbox(tmp_path / ".octopack")
    outbox.put("http://127.0.0.1:9", _report(1))
    said: list[str] = []
    with DeploymentsClient("http://127.0.0.1:8", None, sleep=lambda s: None) as client:
        result = Reporter(client, outbox, said.append, "web-01").flush()
    assert result.to_json() == {"delivered": 0, "rejected": 0, "kept": 1}
    assert said == [f"1 deployment reports in {outbox.path} wait for another feed: "
                    "http://127.0.0.1:9"]  # fmt: skip
    assert len(outbox.waiting()[0]) == 1
