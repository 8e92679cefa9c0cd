"""The pure retention planner: every rule, its text, and the always-kept versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feed.retention.policy import Candidate, Policy, Rules, check_pattern, plan_package
from packer.model.errors import BadInput
from packer.model.versions import parse_version

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def versions(*texts: str, age_days: float = 30) -> list[Candidate]:
    """Candidates of package Foo, all published `age_days` before NOW."""
    when = NOW - timedelta(days=age_days)
    return [Candidate("Foo", parse_version(t), when) for t in texts]


def plan(candidates, rules, pins=(), now=NOW) -> dict[str, str]:
    """Plan and return {version: 'decision: rule'}."""
    return {
        d.version: f"{d.decision}: {d.rule}" for d in plan_package(candidates, rules, pins, now)
    }


def test_no_rule_deletes_nothing():
    result = plan(versions("1.0.0", "2.0.0", "3.0.0-beta"), Rules())
    assert result == {
        "3.0.0-beta": "kept: no retention rule",
        "2.0.0": "kept: latest stable",
        "1.0.0": "kept: no retention rule",
    }


def test_keep_last_keeps_newest_stable_and_names_the_rule():
    result = plan(versions("1.0", "1.1", "1.2", "1.10", "0.9"), Rules(keep_last=2))
    assert result == {
        "1.10": "kept: latest stable",
        "1.2": "kept: newest 2 stable",
        "1.1": "deleted: beyond newest 2 stable",
        "1.0": "deleted: beyond newest 2 stable",
        "0.9": "deleted: beyond newest 2 stable",
    }


def test_absent_prerelease_count_keeps_all_prereleases():
    result = plan(versions("1.0.0", "0.9.0", "2.0.0-a", "2.0.0-b"), Rules(keep_last=1))
    assert result["2.0.0-a"] == "kept: no prerelease rule"
    assert result["2.0.0-b"] == "kept: no prerelease rule"
    assert result["0.9.0"] == "deleted: beyond newest 1 stable"


def test_keep_prerelease_counts_prereleases_only():
    cands = versions("1.0.0", "1.1.0-beta.1", "1.1.0-beta.2", "1.1.0-beta.10", "0.5.0")
    result = plan(cands, Rules(keep_prerelease=2))
    assert result == {
        "1.1.0-beta.10": "kept: newest 2 prerelease",
        "1.1.0-beta.2": "kept: newest 2 prerelease",
        "1.1.0-beta.1": "deleted: beyond newest 2 prerelease",
        "1.0.0": "kept: latest stable",
        "0.5.0": "kept: no stable rule",
    }


def test_prerelease_groups_keep_feature_builds_from_pushing_out_beta():
    cands = versions(
        "2.0.0-beta.1",
        "2.0.0-beta.2",
        "2.0.0-feature-x.1",
        "2.0.0-feature-x.2",
        "2.0.0-feature-x.3",
        "1.0.0",
    )
    result = plan(cands, Rules(keep_prerelease=1, prerelease_group_labels=1))
    assert result["2.0.0-beta.2"] == "kept: newest 1 prerelease in group beta"
    assert result["2.0.0-beta.1"] == "deleted: beyond newest 1 prerelease in group beta"
    assert result["2.0.0-feature-x.3"] == "kept: newest 1 prerelease in group feature-x"
    assert result["2.0.0-feature-x.1"].startswith("deleted: beyond newest 1 prerelease")
    ungrouped = plan(cands, Rules(keep_prerelease=1))
    assert ungrouped["2.0.0-beta.2"] == "deleted: beyond newest 1 prerelease"


def test_groups_are_case_insensitive():
    cands = versions("1.0.0-Beta.1", "1.0.0-beta.2", "0.1.0")
    result = plan(cands, Rules(keep_prerelease=1, prerelease_group_labels=1))
    assert result["1.0.0-beta.2"] == "kept: newest 1 prerelease in group beta"
    assert result["1.0.0-Beta.1"] == "deleted: beyond newest 1 prerelease in group beta"


def test_keep_days_alone_is_delete_after_d_days():
    old = versions("1.0.0", "1.1.0", "1.2.0-rc", age_days=10)
    new = versions("1.3.0", "1.4.0-rc", age_days=1)
    result = plan(old + new, Rules(keep_days=7))
    assert result == {
        "1.4.0-rc": "kept: published in the last 7 days",
        "1.3.0": "kept: latest stable",
        "1.2.0-rc": "deleted: older than 7 days",
        "1.1.0": "deleted: older than 7 days",
        "1.0.0": "deleted: older than 7 days",
    }


def test_keep_days_with_counts_keeps_the_union():
    old = versions("1.0.0", "1.1.0", "1.2.0", age_days=10)
    new = versions("0.1.0", age_days=1)
    result = plan(old + new, Rules(keep_last=2, keep_days=7))
    assert result["1.1.0"] == "kept: newest 2 stable"
    assert result["1.0.0"] == "deleted: beyond newest 2 stable, older than 7 days"
    assert result["0.1.0"] == "kept: published in the last 7 days"


def test_keep_days_boundary_is_inclusive():
    exactly = [Candidate("Foo", parse_version("1.0.0"), NOW - timedelta(days=7))]
    newer = versions("2.0.0", age_days=30)
    assert (
        plan(exactly + newer, Rules(keep_days=7))["1.0.0"] == "kept: published in the last 7 days"
    )


def test_pinned_and_latest_are_always_kept():
    cands = versions("1.0.0", "2.0.0", "3.0.0", "4.0.0-beta")
    result = plan(cands, Rules(keep_last=0, keep_prerelease=0), pins=["1.0.0"])
    assert result == {
        "4.0.0-beta": "deleted: beyond newest 0 prerelease",
        "3.0.0": "kept: latest stable",
        "2.0.0": "deleted: beyond newest 0 stable",
        "1.0.0": "kept: pinned",
    }


def test_pins_match_by_value():
    result = plan(versions("1.0", "2.0"), Rules(keep_last=0), pins=["1.0.0"])
    assert result["1.0"] == "kept: pinned"


def test_latest_of_all_when_none_is_stable():
    result = plan(versions("1.0.0-a", "1.0.0-b", "0.9.0-z"), Rules(keep_prerelease=0))
    assert result["1.0.0-b"] == "kept: latest version (none is stable)"
    assert result["1.0.0-a"] == "deleted: beyond newest 0 prerelease"


def test_versions_pushed_after_the_run_started_are_kept_and_do_not_count():
    cands = versions("1.0.0", "2.0.0")
    later = [Candidate("Foo", parse_version("3.0.0"), NOW + timedelta(seconds=1))]
    result = plan(cands + later, Rules(keep_last=1))
    assert result == {
        "3.0.0": "kept: pushed after the run started",
        "2.0.0": "kept: latest stable",
        "1.0.0": "deleted: beyond newest 1 stable",
    }


def test_decisions_are_newest_first_and_json_keys_match_contract():
    decisions = plan_package(versions("1.0.0", "3.0.0", "2.0.0"), Rules(keep_last=1), (), NOW)
    assert [d.version for d in decisions] == ["3.0.0", "2.0.0", "1.0.0"]
    assert decisions[2].to_json() == {
        "id": "Foo",
        "version": "1.0.0",
        "decision": "deleted",
        "rule": "beyond newest 1 stable",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep_last": -1}, "--keep-last must be a whole number >= 0, got -1"),
        ({"keep_days": "7"}, "--keep-days must be a whole number >= 0, got '7'"),
        ({"keep_prerelease": True}, "--keep-prerelease must be a whole number"),
        ({"prerelease_group_labels": 1}, "--prerelease-group-labels needs --keep-prerelease"),
    ],
)
def test_bad_rules_are_refused_with_the_option_name(kwargs, message):
    with pytest.raises(BadInput, match=message):
        Rules(**kwargs)


def test_unknown_stored_rule_is_named():
    with pytest.raises(BadInput, match="unknown retention rule 'keep_lats'"):
        Rules.from_dict({"keep_lats": 3})


@pytest.mark.parametrize("pattern", ["", "foo/bar", "a b", "[abc]", "../x"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(BadInput, match="package pattern"):
        check_pattern(pattern)


def test_policy_overrides_exact_beats_glob_and_longer_glob_wins():
    policy = (
        Policy()
        .with_rules(None, Rules(keep_last=10))
        .with_rules("Acme.*", Rules(keep_last=5))
        .with_rules("Acme.Web.*", Rules(keep_last=3))
        .with_rules("acme.web.api", Rules(keep_last=1))
    )
    assert policy.rules_for("Other").keep_last == 10
    assert policy.rules_for("Acme.Tools").keep_last == 5
    assert policy.rules_for("ACME.Web.Ui").keep_last == 3
    assert policy.rules_for("Acme.Web.Api").keep_last == 1
    round_trip = Policy.from_dict(policy.to_dict())
    assert round_trip == policy
    assert round_trip.without("Acme.Web.*").rules_for("Acme.Web.Ui").keep_last == 5
    assert round_trip.without(None).rules_for("Other").is_empty


def test_setting_an_override_again_replaces_it_case_insensitively():
    policy = Policy().with_rules("Foo", Rules(keep_last=1)).with_rules("foo", Rules(keep_last=2))
    assert len(policy.packages) == 1
    assert policy.rules_for("FOO").keep_last == 2


version_text = st.builds(
    lambda a, b, label: f"{a}.{b}.0" + (f"-{label}" if label else ""),
    st.integers(0, 5),
    st.integers(0, 5),
    st.sampled_from(["", "", "alpha", "beta.1", "beta.2", "rc"]),
)


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(version_text, min_size=1, max_size=25, unique_by=lambda t: t.lower()),
    keep_last=st.one_of(st.none(), st.integers(0, 4)),
    keep_pre=st.one_of(st.none(), st.integers(0, 4)),
    keep_days=st.one_of(st.none(), st.integers(0, 20)),
    ages=st.lists(st.integers(0, 40), min_size=25, max_size=25),
)
def test_invariants_hold_for_any_feed(texts, keep_last, keep_pre, keep_days, ages):
    """Latest is never deleted; deleted ones broke every rule; no rule means nothing deleted."""
    unique = {parse_version(t): t for t in texts}
    cands = [
        Candidate("Foo", parse_version(t), NOW - timedelta(days=ages[i]))
        for i, t in enumerate(unique.values())
    ]
    rules = Rules(keep_last=keep_last, keep_prerelease=keep_pre, keep_days=keep_days)
    decisions = plan_package(cands, rules, (), NOW)
    assert len(decisions) == len(cands)
    stable = sorted((c.version for c in cands if not c.version.is_prerelease), reverse=True)
    latest = stable[0] if stable else max(c.version for c in cands)
    by_version = {parse_version(d.version): d for d in decisions}
    assert not by_version[latest].deleted
    if rules.is_empty:
        assert not any(d.deleted for d in decisions)
    for cand in cands:
        decision = by_version[cand.version]
        if decision.deleted and keep_days is not None:
            assert cand.published < NOW - timedelta(days=keep_days)
        if decision.deleted:
            same_kind = [c for c in cands if c.version.is_prerelease == cand.version.is_prerelease]
            newer = sum(1 for c in same_kind if c.version > cand.version)
            count = keep_pre if cand.version.is_prerelease else keep_last
            assert newer >= (count or 0)
