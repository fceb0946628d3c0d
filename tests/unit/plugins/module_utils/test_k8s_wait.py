"""The rollout wait: returns on the event that completes the rollout, fails fast on new-revision pod failures."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter

from ..fake_kube import FakeKube

UID = "dep-uid"


def deployment(image="web:2", done=True, generation=2, **status):
    base = {"observedGeneration": generation, "replicas": 3, "updatedReplicas": 3 if done else 1,
            "readyReplicas": 3 if done else 2, "availableReplicas": 3 if done else 2,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]}
    base.update(status)
    return {"kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": UID, "generation": generation,
                         "annotations": {"deployment.kubernetes.io/revision": "2"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": base}


def replica_set(revision, image):
    return {"kind": "ReplicaSet",
            "metadata": {"name": f"web-h{revision}", "namespace": "shop",
                         "labels": {"app": "web", "pod-template-hash": f"h{revision}"},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"uid": UID, "controller": True, "kind": "Deployment", "name": "web"}]},
            "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


def pod(name, revision, reason=None, ready=True):
    status = {"name": "app", "ready": ready and not reason, "restartCount": 3 if reason else 0,
              "state": {"waiting": {"reason": reason, "message": "back-off"}} if reason else {"running": {}}}
    return {"kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
            "spec": {"nodeName": "node-1"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready and not reason else "False"}],
                       "containerStatuses": [status]}}


@pytest.fixture
def kube():
    return FakeKube([replica_set(1, "web:1"), replica_set(2, "web:2")])


def waiter(kube, reasons=("ProgressDeadlineExceeded", "CrashLoopBackOff"), **kwargs):
    return RolloutWaiter(kube, "Deployment", "shop", "web", reasons, watch_seconds=1, **kwargs)


def test_complete_at_once_needs_no_watch(kube):
    kube.add(deployment())
    outcome = waiter(kube).wait(30)
    assert outcome["outcome"] == "complete" and outcome["reason"] is None
    assert not [call for call in kube.calls if call[0] == "watch"]
    assert outcome["elapsed"] < 5


def test_returns_on_the_event_that_completes_the_rollout(kube):
    kube.add(deployment(done=False))
    kube.add(pod("web-h2-a", 2))
    kube.script_watch("Deployment", [("SLEEP", 0.1), ("MODIFIED", deployment(done=True))])
    outcome = waiter(kube).wait(30)
    assert outcome["outcome"] == "complete"
    assert outcome["elapsed"] < 5
    assert outcome["status"]["message"] == "successfully rolled out"


def test_new_revision_pod_failure_fails_fast_with_pod_reasons(kube):
    kube.add(deployment(done=False))
    kube.add(pod("web-h2-a", 2))
    kube.script_watch("Pod", [("ADDED", pod("web-h2-b", 2, "CrashLoopBackOff"))])
    outcome = waiter(kube).wait(30)
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "CrashLoopBackOff")
    assert [row["name"] for row in outcome["failing_pods"]] == ["web-h2-b"]
    assert outcome["failing_pods"][0]["restarts"] == 3 and "labels" not in outcome["failing_pods"][0]
    assert outcome["message"].startswith("1 pod CrashLoopBackOff: web-h2-b (container app; back-off")
    assert outcome["elapsed"] < 5


def test_old_revision_pod_failure_does_not_fail_the_wait(kube):
    kube.add(deployment(done=False))
    kube.add(pod("web-h1-a", 1, "CrashLoopBackOff"))
    outcome = waiter(kube).wait(0.3)
    assert (outcome["outcome"], outcome["reason"]) == ("timeout", "Timeout")
    assert outcome["failing_pods"] == []
    assert [row["name"] for row in outcome["unhealthy_pods"]] == ["web-h1-a"]
    assert outcome["message"] == "2 of 3 updated replicas are available" or "new replicas" in outcome["message"]


def test_reasons_not_in_the_fail_fast_list_only_time_out(kube):
    kube.add(deployment(done=False))
    kube.add(pod("web-h2-a", 2, "ImagePullBackOff"))
    outcome = waiter(kube, reasons=["CrashLoopBackOff"]).wait(0.2)
    assert outcome["outcome"] == "timeout"
    assert outcome["unhealthy_pods"][0]["reason"] == "ImagePullBackOff"


def test_progress_deadline_exceeded_fails_with_the_pods(kube):
    stuck = deployment(done=False, conditions=[{"type": "Progressing", "status": "False",
                                                "reason": "ProgressDeadlineExceeded",
                                                "message": 'ReplicaSet "web-h2" has timed out progressing.'}])
    kube.add(stuck)
    unschedulable = pod("web-h2-x", 2, ready=False)
    unschedulable["status"] = {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}
    kube.add(unschedulable)
    outcome = waiter(kube).wait(30)
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "ProgressDeadlineExceeded")
    assert [row["reason"] for row in outcome["failing_pods"]] == ["Unschedulable"]


def test_a_progress_deadline_from_before_the_change_is_not_this_rollouts_failure(kube):
    # After a rollback to a ReplicaSet that is already available, the controller keeps the old
    # ProgressDeadlineExceeded condition until the new spec makes progress.
    old = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
           "lastUpdateTime": "2025-01-01T00:00:00Z", "message": 'ReplicaSet "web-h2" has timed out progressing.'}
    kube.add(deployment(done=False, conditions=[old]))
    outcome = waiter(kube, stale_progress=dict(old)).wait(0.3)
    assert outcome["outcome"] == "timeout" and outcome["reason"] == "Timeout"
    # The same reason set again later is a new condition: the wait fails on it.
    kube.add(deployment(done=False, conditions=[dict(old, lastUpdateTime="2025-01-01T00:05:00Z")]))
    outcome = waiter(kube, stale_progress=dict(old)).wait(30)
    assert (outcome["outcome"], outcome["reason"]) == ("failed", "ProgressDeadlineExceeded")


def test_paused_and_deleted(kube):
    paused = deployment(done=False)
    paused["spec"]["paused"] = True
    kube.add(paused)
    assert waiter(kube).wait(30)["outcome"] == "paused"

    other = FakeKube([replica_set(2, "web:2"), deployment(done=False)])
    other.script_watch("Deployment", [("DELETED", deployment(done=False))])
    outcome = waiter(other).wait(30)
    assert (outcome["outcome"], outcome["reason"]) == ("deleted", "Deleted")


def test_expired_watch_relists(kube):
    kube.add(deployment(done=False))
    kube.script_watch("Deployment", [KubeError("too old resource version", 410, "Expired")])
    # The relist finds the rollout complete.
    original_list = kube.list

    def list_after_completion(kind, namespace=None, label_selector=None, field_selector=None):
        if kind == "Deployment":
            kube.objects[("Deployment", "shop", "web")] = deployment(done=True)
        return original_list(kind, namespace, label_selector, field_selector)

    kube.list = list_after_completion
    outcome = waiter(kube).wait(30)
    assert outcome["outcome"] == "complete"


def test_api_errors_during_the_wait_are_reported_at_the_timeout(kube):
    kube.add(deployment(done=False))
    kube.script_watch("Deployment", [KubeError("Cannot reach the Kubernetes API at https://fake:6443: connection refused.")])
    outcome = waiter(kube).wait(0.3)
    assert outcome["outcome"] == "timeout"
    assert "connection refused" in outcome["api_error"]


def test_accept_condition_keeps_waiting_until_it_holds(kube):
    kube.add(deployment())
    wanted = deployment(replicas=5, updatedReplicas=5, readyReplicas=5, availableReplicas=5)
    wanted["spec"]["replicas"] = 5
    kube.script_watch("Deployment", [("MODIFIED", copy.deepcopy(wanted))])

    def five(obj):
        return obj["spec"]["replicas"] == 5, "waiting for 5 replicas"

    outcome = waiter(kube, accept=five).wait(30)
    assert outcome["outcome"] == "complete"
    # Never satisfied: times out with the accept message.
    other = FakeKube([replica_set(2, "web:2"), deployment()])
    outcome = waiter(other, accept=lambda obj: (False, "waiting for the autoscaler")).wait(0.2)
    assert (outcome["outcome"], outcome["message"]) == ("timeout", "waiting for the autoscaler")


def test_missing_object_raises(kube):
    with pytest.raises(KubeError) as exc:
        waiter(kube).wait(1)
    assert exc.value.not_found
