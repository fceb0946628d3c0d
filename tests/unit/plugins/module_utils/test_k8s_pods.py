"""Pod diagnosis: the one reason that explains why a pod is not serving, as kubectl would show it."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods


def pod(name="web-1", phase="Running", ready=True, containers=None, init=None, conditions=None, **extra):
    """A Pod as the API returns it; containers are container status dicts."""
    conds = [{"type": "Ready", "status": "True" if ready else "False"}] + list(conditions or [])
    result = {
        "metadata": {"name": name, "labels": {"app": "web", "pod-template-hash": "abc"}, **extra.pop("metadata", {})},
        "spec": {"nodeName": extra.pop("node", "node-1")},
        "status": {"phase": phase, "conditions": conds,
                   "containerStatuses": containers if containers is not None else [running("app", ready)]},
    }
    if init is not None:
        result["status"]["initContainerStatuses"] = init
    result["status"].update(extra)
    return result


def running(name, ready=True, restarts=0):
    return {"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": "x"}}}


def waiting(name, reason, message=None, restarts=0, last_exit=None, last_reason="Error"):
    status = {"name": name, "ready": False, "restartCount": restarts,
              "state": {"waiting": {"reason": reason, "message": message}}}
    if last_exit is not None:
        status["lastState"] = {"terminated": {"exitCode": last_exit, "reason": last_reason}}
    return status


def terminated(name, code, reason="Error"):
    return {"name": name, "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": reason}}}


UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."}


@pytest.mark.parametrize(("the_pod", "reason", "container"), [
    (pod(), None, None),
    (pod(ready=False, containers=[waiting("app", "CrashLoopBackOff", "back-off 10s", restarts=3, last_exit=1)]),
     "CrashLoopBackOff", "app"),
    (pod(phase="Pending", ready=False, containers=[waiting("app", "ImagePullBackOff", "Back-off pulling image")]),
     "ImagePullBackOff", "app"),
    (pod(phase="Pending", ready=False, containers=[waiting("app", "ErrImagePull")]), "ErrImagePull", "app"),
    (pod(phase="Pending", ready=False, containers=[waiting("app", "CreateContainerConfigError", "secret missing")]),
     "CreateContainerConfigError", "app"),
    # A sidecar crash-looping while the main container runs: the problem is the sidecar's.
    (pod(ready=False, containers=[running("app"), waiting("proxy", "CrashLoopBackOff")]), "CrashLoopBackOff", "proxy"),
    # Init containers come first.
    (pod(phase="Pending", ready=False, containers=[waiting("app", "PodInitializing")],
         init=[waiting("migrate", "CrashLoopBackOff", restarts=2)]), "CrashLoopBackOff", "migrate"),
    (pod(phase="Pending", ready=False, containers=[waiting("app", "PodInitializing")],
         init=[terminated("migrate", 2)]), "Error", "migrate"),
    (pod(phase="Pending", ready=False, containers=[], conditions=[UNSCHEDULABLE]), "Unschedulable", None),
    (pod(phase="Pending", ready=False, containers=[waiting("app", "ContainerCreating")]), "ContainerCreating", "app"),
    (pod(phase="Pending", ready=False, containers=[]), "Pending", None),
    (pod(phase="Failed", ready=False, containers=[terminated("app", 137, "OOMKilled")]), "OOMKilled", "app"),
    (pod(phase="Failed", ready=False, containers=[], reason="Evicted", message="The node was low on memory."),
     "Evicted", None),
    (pod(ready=False, containers=[running("app", ready=False)]), "NotReady", "app"),
    (pod(metadata={"deletionTimestamp": "2024-01-01T00:00:00Z"}), "Terminating", None),
    (pod(phase="Succeeded", ready=False, containers=[terminated("app", 0, "Completed")]), "Completed", None),
])
def test_diagnose_picks_the_telling_reason(the_pod, reason, container):
    row = k8s_pods.diagnose(the_pod)
    assert row["reason"] == reason
    assert row["container"] == container
    assert row["name"] == "web-1"


def test_diagnose_reports_restarts_and_last_termination():
    row = k8s_pods.diagnose(pod(ready=False, containers=[
        waiting("app", "CrashLoopBackOff", "back-off 40s restarting failed container=app", restarts=4,
                last_exit=137, last_reason="OOMKilled")]))
    assert row["restarts"] == 4
    assert (row["last_exit_code"], row["last_termination_reason"]) == (137, "OOMKilled")
    assert row["message"].startswith("back-off 40s")
    assert row["node"] == "node-1" and row["phase"] == "Running" and row["ready"] is False


def test_unhealthy_and_failing_filter_and_sort():
    pods = [pod("web-c", ready=False, containers=[waiting("app", "CrashLoopBackOff")]),
            pod("web-a"),
            pod("web-b", phase="Pending", ready=False, containers=[], conditions=[UNSCHEDULABLE])]
    rows = k8s_pods.unhealthy(pods)
    assert [row["name"] for row in rows] == ["web-b", "web-c"]
    assert [row["name"] for row in k8s_pods.failing(rows, k8s_pods.DEFAULT_FAIL_FAST_REASONS)] == ["web-c"]
    assert k8s_pods.failing(rows, ["Unschedulable"])[0]["name"] == "web-b"
    assert k8s_pods.failing(rows, []) == []
    assert "labels" not in k8s_pods.public_row(rows[0])


def test_terminating_pods_can_be_left_out():
    pods = [pod("old", metadata={"deletionTimestamp": "2024-01-01T00:00:00Z"}),
            pod("new", ready=False, containers=[waiting("app", "ContainerCreating")])]
    assert [row["name"] for row in k8s_pods.unhealthy(pods)] == ["new", "old"]
    assert [row["name"] for row in k8s_pods.unhealthy(pods, include_terminating=False)] == ["new"]


def test_summarize_groups_by_reason_and_caps_names():
    rows = [k8s_pods.diagnose(pod(f"web-{i}", ready=False, containers=[
        waiting("app", "CrashLoopBackOff", "back-off 10s", restarts=3, last_exit=1)])) for i in range(5)]
    rows.append(k8s_pods.diagnose(pod("web-x", phase="Pending", ready=False, containers=[],
                                      conditions=[UNSCHEDULABLE])))
    text = k8s_pods.summarize(rows)
    assert text.startswith("5 pods CrashLoopBackOff: web-0 (container app; back-off 10s; last exit code 1; 3 restarts), "
                           "web-1, web-2, and 2 more; 1 pod Unschedulable: web-x (0/3 nodes are available")
    assert k8s_pods.summarize([]) == ""
