"""alertmanager_silence against the real Alertmanager of the test harness (prometheus-alertmanager 0.25).

One play runs the whole lifecycle (check, create, check again, create again, extend, expire, expire
again), and the test reads Alertmanager's own API after each step it asserts on.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.module_runner import run_module_tasks

MODULE = "sre.runbooks.alertmanager_silence"
MATCHERS = [{"name": "namespace", "value": "ns-a|ns-b", "is_regex": True}, {"name": "severity", "value": "page"}]


def silences(url):
    with urllib.request.urlopen(url + "/api/v2/silences", timeout=5) as resp:  # noqa: S310 - loopback test server
        return json.loads(resp.read())


def by_comment(url, comment):
    return [s for s in silences(url) if s["comment"] == comment]


def ends(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def am_url(services):
    return services["alertmanager"]["url"]


@pytest.fixture(scope="module")
def lifecycle(am_url):
    comment = "M2 lifecycle test"
    base = {"alertmanager_url": am_url, "matchers": MATCHERS, "comment": comment, "created_by": "pytest"}
    # Reversed matcher order: the same silence to the module.
    again = dict(base, matchers=list(reversed(MATCHERS)))
    steps = [
        ("check create", dict(base, duration="2h"), True),
        ("create", dict(base, duration="2h"), False),
        ("check again", dict(again, duration="2h"), True),
        ("create again", dict(again, duration="2h"), False),
        ("extend", dict(base, duration="3h", extend=True), False),
        ("shorter without extend", dict(base, duration="1h", extend=True), False),
    ]
    tasks = [{"name": name, MODULE: args, "check_mode": check, "diff": True} for name, args, check in steps]
    before = len(by_comment(am_url, comment))
    results, _proc = run_module_tasks(MODULE, tasks)
    state = {"results": dict(zip([s[0] for s in steps], results)), "before": before,
             "after_present": by_comment(am_url, comment)}
    expire = [{"name": "check expire", MODULE: dict(base, state="absent"), "check_mode": True},
              {"name": "expire", MODULE: dict(base, state="absent")},
              {"name": "expire again", MODULE: dict(base, state="absent")}]
    results, _proc = run_module_tasks(MODULE, expire)
    state["results"].update(zip(["check expire", "expire", "expire again"], results))
    state["after_absent"] = by_comment(am_url, comment)
    return state


def test_create_is_idempotent_and_check_mode_changes_nothing(lifecycle):
    res = lifecycle["results"]
    assert lifecycle["before"] == 0
    assert res["check create"]["changed"] and res["check create"]["outcome"] == "create"
    assert res["check create"]["silence"]["id"] is None
    assert res["create"]["changed"] and res["create"]["silence"]["status"] == "active"
    assert res["create"]["diff"]["before"] == {} and res["create"]["diff"]["after"]["id"]
    assert not res["check again"]["changed"] and res["check again"]["outcome"] == "keep"
    assert not res["create again"]["changed"]
    assert res["create again"]["silence"]["id"] == res["create"]["silence"]["id"]


def test_alertmanager_holds_the_silence_with_its_matchers_and_end(lifecycle):
    res = lifecycle["results"]
    live = [s for s in lifecycle["after_present"] if s["status"]["state"] == "active"]
    assert len(live) == 1, lifecycle["after_present"]
    silence = live[0]
    assert sorted((m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]) == [
        ("namespace", "ns-a|ns-b", True, True), ("severity", "page", False, True)]
    assert silence["createdBy"] == "pytest"
    # Extended to 3 hours from the run (a later shorter end with extend does not shorten it).
    assert res["extend"]["changed"] and res["extend"]["outcome"] == "extend"
    assert not res["shorter without extend"]["changed"]
    remaining = ends(silence["endsAt"]) - datetime.now(timezone.utc)
    assert timedelta(hours=2, minutes=50) < remaining <= timedelta(hours=3)
    assert silence["id"] == res["extend"]["silence"]["id"]


def test_absent_expires_it_once(lifecycle):
    res = lifecycle["results"]
    assert res["check expire"]["changed"] and res["check expire"]["expired"]
    assert res["expire"]["changed"] and res["expire"]["silence"]["status"] == "expired"
    assert not res["expire again"]["changed"] and res["expire again"]["outcome"] == "none"
    assert all(s["status"]["state"] == "expired" for s in lifecycle["after_absent"])
    assert res["expire"]["expired"] == [res["extend"]["silence"]["id"]]


def test_absent_by_id_and_failures_are_one_sentence(am_url):
    base = {"alertmanager_url": am_url, "matchers": MATCHERS[:1], "comment": "M2 by id", "duration": "10m"}
    results, _proc = run_module_tasks(MODULE, [
        {"name": "create", MODULE: base, "register": "made"},
        {"name": "expire by id", MODULE: {"alertmanager_url": am_url, "state": "absent", "id": "{{ made.silence.id }}"}},
        {"name": "unknown id", MODULE: {"alertmanager_url": am_url, "state": "absent",
                                        "id": "00000000-0000-0000-0000-000000000000"}},
    ])
    made, expired, unknown = results
    assert made["changed"] and expired["changed"] and expired["expired"] == [made["silence"]["id"]]
    assert not unknown["changed"]
    assert [s["status"]["state"] for s in silences(am_url) if s["id"] == made["silence"]["id"]] == ["expired"]

    # Failures, in one play: each is one sentence.
    no_duration = {k: v for k, v in base.items() if k != "duration"}
    failures, _proc = run_module_tasks(MODULE, [
        {"name": "unreachable", MODULE: dict(base, alertmanager_url="http://127.0.0.1:1", alertmanager_timeout=2),
         "ignore_errors": True},
        {"name": "bad regex", MODULE: dict(base, matchers=[{"name": "job", "value": "(", "is_regex": True}]),
         "ignore_errors": True},
        {"name": "past end", MODULE: dict(no_duration, ends_at="2020-01-01T00:00:00Z"), "ignore_errors": True},
    ])
    unreachable, bad_regex, past = failures
    assert unreachable.failed
    assert unreachable["msg"] == "Cannot reach Alertmanager at http://127.0.0.1:1: connection refused."
    assert bad_regex.failed and "not a valid regular expression" in bad_regex["msg"]
    assert bad_regex["msg"].count("\n") == 0 and bad_regex["msg"].endswith(".")
    assert past.failed and "not in the future" in past["msg"]
