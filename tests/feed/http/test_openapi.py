"""/api/openapi.json stays true: schemathesis calls a live `octopack serve` on loopback with
examples generated from the document and fails on any 5xx or answer that breaks it.

Bounded and deterministic: at most MAX_EXAMPLES generated examples per operation, derandomized
(the same examples every run), no shrinking, a timeout on every call. The figures (operations,
examples, failures) are printed at the end of the module with `-s`.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feed.http.openapi import document
from tests.feed.packages import make_zip
from tests.helpers.feed_server import ADMIN_KEY, feed_process

MAX_EXAMPLES = 20
CALL_TIMEOUT = 30
ADMIN = {"X-Octopus-ApiKey": ADMIN_KEY}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FIGURES: Counter[str] = Counter()
pytestmark = pytest.mark.slow  # a real feed process and a few hundred requests

schema = schemathesis.openapi.from_dict(document())


@pytest.fixture(scope="module")
def live_feed(tmp_path_factory: pytest.TempPathFactory):
    """One real feed for the module, holding one package so lookups can succeed."""
    folder = tmp_path_factory.mktemp("openapi")
    with feed_process(str(folder / "store")) as feed:
        package = make_zip(folder, "Acme.Described.1.0.0.zip")  # the REF example
        with package.open("rb") as stream:
            pushed = requests.post(
                f"{feed.url}/api/packages/raw",
                files={"file": (package.name, stream)},
                headers=ADMIN,
                timeout=CALL_TIMEOUT,
            )
        assert pushed.status_code == 201, pushed.text
        yield feed
        operations = len(list(schema.get_all_operations()))
        print(
            f"\nschemathesis: {operations} operations, {FIGURES['examples']} examples, "
            f"{FIGURES['failures']} failures",
            file=sys.stderr,
        )


def test_the_document_is_served_and_names_every_admin_path(tmp_path: Path) -> None:
    from tests.helpers.feed_server import running_feed

    with running_feed(tmp_path / "store") as feed:
        answer = requests.get(f"{feed.url}/api/openapi.json", timeout=10)
    assert answer.status_code == 200
    served = answer.json()
    assert served["openapi"].startswith("3.1")
    rules = {rule.rule for rule in feed.app.url_map.iter_rules()}
    for path in served["paths"]:
        flask_rule = path.replace("{", "<").replace("}", ">")
        assert flask_rule in rules, f"{path} is documented but the feed has no such route"
    octopack = {r for r in rules if r.startswith("/api/octopack/")}
    documented = {p.replace("{", "<").replace("}", ">") for p in served["paths"]}
    assert octopack <= documented, f"undocumented admin routes: {sorted(octopack - documented)}"


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_live_feed_answers_as_documented(case, live_feed) -> None:
    FIGURES["examples"] += 1
    try:
        case.call_and_validate(
            base_url=live_feed.url, headers=ADMIN, checks=CHECKS, timeout=CALL_TIMEOUT
        )
    except BaseException:
        FIGURES["failures"] += 1
        raise
