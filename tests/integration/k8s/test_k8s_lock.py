"""k8s_lock (the run lock, issue 13) against the real control plane: Leases on the API server.

Check, real, check, real, then a refusal naming the holder; release; takeover of an expired lock;
and two ansible-playbook runs started together against one target, of which exactly one wins and
the other names the winner. Assertions read the Lease back from the server.
"""

from __future__ import annotations

import datetime
import threading

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.module_runner import run_module  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_lock"
LEASE = "sre-runbooks-api"


@pytest.fixture(scope="module")
def coordination(api):
    return k8s.CoordinationV1Api(api)


def lock(ns, holder, **extra):
    return {"name": LEASE, "namespace": ns, "holder": holder, **extra}


def read_lease(coordination, ns):
    try:
        return coordination.read_namespaced_lease(LEASE, ns)
    except k8s.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_lock_is_taken_kept_refused_to_another_run_and_released(coordination, ns):
    results = run_module_batch(MODULE, [
        {"args": lock(ns, "alice run 1", purpose="restart api"), "check": True},
        {"args": lock(ns, "alice run 1", purpose="restart api", duration=900), "diff": True},
        {"args": lock(ns, "alice run 1"), "check": True},
        {"args": lock(ns, "alice run 1")},
        {"args": lock(ns, "bob run 2")},
        {"args": lock(ns, "bob run 2", state="released")},
        {"args": lock(ns, "alice run 1", state="released"), "check": True},
    ])
    check_create, create, check_again, again, refused, refused_release, check_release = results
    assert check_create["outcome"] == "create" and check_create.changed and not check_create.failed
    assert create["outcome"] == "create" and create.changed and create["diff"]["after"] == {"holder": "alice run 1"}
    assert (check_again["outcome"], check_again.changed) == ("keep", False)
    assert (again["outcome"], again.changed) == ("keep", False)
    assert refused.failed and "held by alice run 1 since" in refused["msg"], refused.output
    assert refused["lease"]["holder"] == "alice run 1"
    assert refused_release.failed and "not by bob run 2" in refused_release["msg"]
    assert check_release["outcome"] == "delete" and check_release.changed
    lease = read_lease(coordination, ns)
    assert lease is not None, "check mode released the lock"
    assert lease.spec.holder_identity == "alice run 1" and lease.spec.lease_duration_seconds == 900
    assert lease.metadata.annotations["sre.runbooks/purpose"] == "restart api"
    assert lease.spec.lease_transitions == 0

    released, gone = run_module_batch(MODULE, [{"args": lock(ns, "alice run 1", state="released")},
                                               {"args": lock(ns, "alice run 1", state="released")}])
    assert (released["outcome"], released.changed) == ("delete", True)
    assert (gone["outcome"], gone.changed) == ("none", False)
    assert read_lease(coordination, ns) is None


def test_an_expired_lock_is_taken_over_and_counted(coordination, ns):
    stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    coordination.create_namespaced_lease(ns, {"metadata": {"name": LEASE}, "spec": {
        "holderIdentity": "carol run 9 (died)", "leaseDurationSeconds": 600, "acquireTime": stale, "renewTime": stale,
        "leaseTransitions": 3}})
    result = run_module(MODULE, lock(ns, "alice run 1"))
    assert not result.failed, result.output
    assert result["outcome"] == "take_over" and result["previous_holder"] == "carol run 9 (died)"
    lease = read_lease(coordination, ns)
    assert lease.spec.holder_identity == "alice run 1" and lease.spec.lease_transitions == 4
    assert lease.spec.renew_time > datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)


def test_two_concurrent_runs_one_wins_and_the_other_names_it(coordination, ns):
    start = threading.Barrier(2)
    results = {}

    def attempt(holder):
        start.wait(timeout=30)
        results[holder] = run_module(MODULE, lock(ns, holder))

    threads = [threading.Thread(target=attempt, args=(holder,)) for holder in ("alice run 1", "bob run 2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    winners = [holder for holder, result in results.items() if not result.failed]
    losers = [holder for holder, result in results.items() if result.failed]
    assert len(winners) == 1 and len(losers) == 1, {h: r.get("msg") for h, r in results.items()}
    assert f"is held by {winners[0]} since" in results[losers[0]]["msg"]
    assert read_lease(coordination, ns).spec.holder_identity == winners[0]


def test_bad_input_is_one_sentence(ns):
    empty, missing_ns = run_module_batch(MODULE, [{"args": lock(ns, "  ")},
                                                  {"args": lock("no-such-namespace-x1", "alice")}])
    assert empty.failed and empty["msg"] == "The option holder must not be empty."
    assert missing_ns.failed and "no-such-namespace-x1" in missing_ns["msg"]
    assert "Traceback" not in missing_ns.output and missing_ns["msg"].count("\n") == 0
