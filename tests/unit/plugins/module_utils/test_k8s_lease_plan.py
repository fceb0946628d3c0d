"""The run lock's decisions (lease_plan): who holds a Lease, when it expires, what a run does with it."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import lease_plan as plan

NOW = datetime.datetime(2026, 12, 5, 3, 0, 0, tzinfo=datetime.timezone.utc)


def lease(holder, renewed_minutes_ago, duration=600, transitions=0):
    renewed = plan.micro_time(NOW - datetime.timedelta(minutes=renewed_minutes_ago))
    return {"metadata": {"name": "sre-runbooks-api", "namespace": "prod", "resourceVersion": "42"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": renewed,
                     "renewTime": renewed, "leaseTransitions": transitions}}


def test_no_lease_is_created_and_nothing_is_released():
    assert plan.decide(None, "alice run 1", "held", NOW) == ("create", None)
    assert plan.decide(None, "alice run 1", "released", NOW) == ("none", None)


def test_our_own_lock_is_kept_or_renewed():
    action, facts = plan.decide(lease("alice run 1", 5), "alice run 1", "held", NOW)
    assert action == "keep" and facts["holder"] == "alice run 1"
    assert plan.decide(lease("alice run 1", 5), "alice run 1", "held", NOW, renew=True)[0] == "renew"


def test_another_runs_live_lock_refuses_naming_holder_since_and_expiry():
    with pytest.raises(plan.LeaseRefused) as refused:
        plan.decide(lease("bob@ops run 7", 4), "alice run 1", "held", NOW)
    text = str(refused.value)
    assert "prod/sre-runbooks-api is held by bob@ops run 7 since 2026-12-05T02:56:00.000000Z" in text
    assert "expires in 360 s" in text


def test_an_expired_lock_is_taken_over_and_force_takes_a_live_one():
    assert plan.decide(lease("bob run 7", 11), "alice run 1", "held", NOW)[0] == "take_over"
    assert plan.decide(lease("bob run 7", 1), "alice run 1", "held", NOW, force=True)[0] == "take_over"
    # exactly at the expiry instant the holder no longer counts
    assert plan.decide(lease("bob run 7", 10), "alice run 1", "held", NOW)[0] == "take_over"


def test_release_only_our_own_or_an_expired_or_forced_lock():
    assert plan.decide(lease("alice run 1", 1), "alice run 1", "released", NOW)[0] == "delete"
    assert plan.decide(lease("bob run 7", 30), "alice run 1", "released", NOW)[0] == "delete"
    assert plan.decide(lease("bob run 7", 1), "alice run 1", "released", NOW, force=True)[0] == "delete"
    with pytest.raises(plan.LeaseRefused, match="held by bob run 7, not by alice run 1"):
        plan.decide(lease("bob run 7", 1), "alice run 1", "released", NOW)


def test_a_lease_without_holder_or_times_is_free():
    empty = {"metadata": {"name": "x", "namespace": "prod"}, "spec": {}}
    assert plan.decide(empty, "alice", "held", NOW)[0] == "take_over"
    garbled = lease("bob", 1)
    garbled["spec"]["renewTime"] = garbled["spec"]["acquireTime"] = "not a time"
    assert plan.decide(garbled, "alice", "held", NOW)[0] == "take_over"


def test_lease_body_names_holder_duration_and_guards_with_the_resource_version():
    body = plan.lease_body("l", "prod", "alice", 900, NOW, transitions=2, purpose="restart api", resource_version="42")
    assert body["spec"] == {"holderIdentity": "alice", "leaseDurationSeconds": 900,
                            "acquireTime": "2026-12-05T03:00:00.000000Z", "renewTime": "2026-12-05T03:00:00.000000Z",
                            "leaseTransitions": 2}
    assert body["metadata"]["resourceVersion"] == "42"
    assert body["metadata"]["annotations"] == {"sre.runbooks/purpose": "restart api"}
    facts = plan.describe(body)
    assert facts["expires_at"] == "2026-12-05T03:15:00.000000Z" and facts["transitions"] == 2
