"""Channels, lifecycles and package patterns: the rules both ends of the wire share."""

from __future__ import annotations

import pytest

from packer.model.channels import Channel, channels_from_json
from packer.model.errors import BadInput
from packer.model.lifecycles import Lifecycle, LifecycleTable, parse_phases


@pytest.mark.parametrize(
    "channel,version,expected",
    [
        (Channel("stable", range="[1.0,2.0)"), "1.5.0", True),
        (Channel("stable", range="[1.0,2.0)"), "2.0.0", False),
        (Channel("stable", tag="^$"), "2.0.0", True),
        (Channel("stable", tag="^$"), "2.0.0-beta.1", False),
        (Channel("login", tag="^feature-login"), "2.1.0-feature-login.3", True),
        (Channel("login", tag="^feature-login"), "2.1.0-FEATURE-login.3", False),
        (Channel("login", tag="^feature-login"), "2.1.0-beta", False),
        (Channel("b", range="[2.0,3.0)", tag="^beta"), "2.1.0-beta.2", True),
        (Channel("b", range="[2.0,3.0)", tag="^beta"), "3.0.1-beta.2", False),
        (Channel("b", range="[2.0,3.0)", tag="^beta"), "2.1.0", False),
    ],
)
def test_channel_matches_by_range_and_tag(channel, version, expected):
    assert channel.matches(version) is expected


def test_channel_package_pattern_and_json_round_trip():
    channel = Channel("web", range="[1.0,)", package="Web.*")
    assert channel.applies_to("web.app") and not channel.applies_to("Api.App")
    assert Channel("all", tag="").applies_to("Anything")
    assert channels_from_json({"channels": [channel.to_json()]}) == [channel]
    assert not channel.wants_prerelease and Channel("t", tag="^$").wants_prerelease


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"name": "x"}, "needs a --range, a --tag, or both"),
        ({"name": "x", "tag": "("}, "is not a regular expression"),
        ({"name": "x", "range": "[1.0"}, "[1.0"),
        ({"name": " x", "tag": "a"}, "channel name"),
        ({"name": "x", "tag": "a", "package": "a/b"}, "package pattern"),
    ],
)
def test_bad_channels_are_refused_naming_what(kwargs, message):
    with pytest.raises(BadInput) as caught:
        Channel(**kwargs)
    assert message in str(caught.value)


def test_lifecycle_phase_before():
    lifecycle = Lifecycle(parse_phases("Dev,Test,Production"))
    assert lifecycle.phase_before("production") == "Test"
    assert lifecycle.phase_before("Test") == "Dev"
    assert lifecycle.phase_before("Dev") is None  # the first phase takes any version
    assert lifecycle.phase_before("Sandbox") is None  # outside the lifecycle
    assert lifecycle.phase_before(None) is None


def test_lifecycle_table_exact_id_beats_glob_and_longest_glob_wins():
    table = LifecycleTable.from_json(
        {
            "default": ["Test", "Production"],
            "packages": [
                ["Acme.*", ["Dev", "Production"]],
                ["Acme.Web.*", ["QA", "Production"]],
                ["Acme.Web.Api", ["Stage", "Production"]],
            ],
        }
    )
    assert str(table.for_package("Other")) == "Test,Production"
    assert str(table.for_package("acme.tools")) == "Dev,Production"
    assert str(table.for_package("Acme.Web.Site")) == "QA,Production"
    assert str(table.for_package("Acme.Web.Api")) == "Stage,Production"
    assert LifecycleTable.from_json({"default": None}).for_package("x") is None


@pytest.mark.parametrize(
    "phases,message",
    [("Test,test", "more than once"), ("", "phase ''"), ("Te/st", "Te/st"), ([], "at least one")],
)
def test_bad_phases_are_refused(phases, message):
    with pytest.raises(BadInput) as caught:
        parse_phases(phases)
    assert message in str(caught.value)
