"""alertmanager_silence's decisions (silence_plan): matchers, "the same silence", ends, and what to do."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager import silence_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._alertmanager.client import _message
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import Response

NOW = datetime(2026, 12, 5, 1, 0, 0, tzinfo=timezone.utc)
NS = {"name": "namespace", "value": "a|b", "isRegex": True, "isEqual": True}
SEV = {"name": "severity", "value": "page", "isRegex": False, "isEqual": True}


def silence(sid, matchers, state="active", comment="M2", by="sre.runbooks", ends="2026-12-05T03:00:00.000Z"):
    return {"id": sid, "matchers": matchers, "comment": comment, "createdBy": by, "status": {"state": state},
            "startsAt": "2026-12-05T01:00:00.000Z", "endsAt": ends}


def test_matchers_are_checked_normalized_and_sorted():
    got = plan.normalize_matchers([{"name": "severity", "value": "page"},
                                   {"name": "namespace", "value": "a|b", "is_regex": True, "is_equal": None}])
    assert got == [NS, SEV]


@pytest.mark.parametrize("matchers, words", [
    ([], "at least one matcher"),
    ([{"name": "bad-name", "value": "x"}], "not a label name"),
    ([{"name": "job", "value": "(", "is_regex": True}], "not a valid regular expression"),
    ([{"name": "job", "value": ".*", "is_regex": True}], "every alert"),
    ([{"name": "job", "value": "x", "is_equal": False}], "every alert"),
])
def test_bad_matchers_are_one_sentence(matchers, words):
    with pytest.raises(plan.SilenceInputError, match=words) as info:
        plan.normalize_matchers(matchers)
    assert str(info.value).endswith(".") and "\n" not in str(info.value)


def test_the_same_silence_is_found_whatever_the_matcher_order_and_only_when_live():
    silences = [silence("old", [SEV, NS], ends="2026-12-05T02:00:00.000Z"), silence("new", [NS, SEV]),
                silence("gone", [NS, SEV], state="expired"), silence("other", [NS, SEV], comment="another"),
                silence("author", [NS, SEV], by="someone"), silence("fewer", [NS]), "not a dict"]
    found = plan.find_same(silences, [NS, SEV], "M2", "sre.runbooks")
    assert [s["id"] for s in found] == ["new", "old"]
    assert plan.find_same(silences, [NS, {**SEV, "isEqual": False}], "M2", "sre.runbooks") == []


def test_plan_present_keeps_extends_only_later_and_creates():
    current = silence("s1", [NS])
    later, earlier = NOW + timedelta(hours=3), NOW + timedelta(hours=1)
    assert plan.plan_present([], later, True) == ("create", None)
    assert plan.plan_present([current], later, False) == ("keep", current)
    assert plan.plan_present([current], later, True) == ("extend", current)
    assert plan.plan_present([current], earlier, True) == ("keep", current)


def test_window_end_from_duration_or_time_and_never_in_the_past():
    assert plan.window_end(NOW, 7200) == NOW + timedelta(hours=2)
    assert plan.window_end(NOW, None, "2026-12-05T02:30:00+01:00") == datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc)
    with pytest.raises(plan.SilenceInputError, match="not in the future"):
        plan.window_end(NOW, None, "2026-12-05T00:59:00Z")
    with pytest.raises(plan.SilenceInputError, match="RFC 3339"):
        plan.window_end(NOW, None, "tomorrow")
    with pytest.raises(plan.SilenceInputError, match="not a real date"):
        plan.parse_time("2026-02-30T00:00:00Z")


def test_times_round_trip_with_nanoseconds_as_alertmanager_writes_them():
    parsed = plan.parse_time("2026-12-05T01:02:03.123456789Z")
    assert plan.format_time(parsed) == "2026-12-05T01:02:03.123Z"


def test_body_and_public_form():
    body = plan.silence_body([NS], NOW, NOW + timedelta(hours=1), "M2", "me", silence_id="s1")
    assert body == {"matchers": [NS], "startsAt": "2026-12-05T01:00:00.000Z", "endsAt": "2026-12-05T02:00:00.000Z",
                    "comment": "M2", "createdBy": "me", "id": "s1"}
    expected = [{"name": "namespace", "value": "a|b", "is_regex": True, "is_equal": True}]
    assert plan.public(silence("s1", [NS]))["matchers"] == expected
    assert plan.public(None) is None


@pytest.mark.parametrize("body, message", [
    (b'"silence invalid: start time must be before end time"', "silence invalid: start time must be before end time"),
    (b'{"code": 400, "message": "bad matcher."}', "bad matcher"),
    (b"<html>\n proxy error\n</html>", "<html> proxy error </html>"),
    (b"", "no reason given"),
])
def test_alertmanager_reasons_become_one_line(body, message):
    assert _message(Response(400, body, {}, 0.1)) == message
