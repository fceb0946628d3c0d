"""k8s_rollout's main(): option checks, check mode, idempotence, diff, one-sentence errors, auto-rollback flow.

The API is an in-memory fake (tests/unit/plugins/fake_kube.py); waits are stubbed where the flow
after the wait is under test. Behaviour against the real control plane is covered by
tests/integration/k8s/test_k8s_rollout.py.
"""

from __future__ import annotations

import copy

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_base, rollout_runner
from ansible_collections.sre.runbooks.plugins.modules import k8s_rollout

from ..fake_kube import FakeKube
from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module

UID = "dep-uid"


def deployment(image="web:2", replicas=3, paused=False, annotations=None):
    return {"kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": UID, "generation": 2,
                         "labels": {"tier": "front"},
                         "annotations": {"deployment.kubernetes.io/revision": "2", "team": "shop", **(annotations or {})}},
            "spec": {"replicas": replicas, "paused": paused, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"observedGeneration": 2, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas}}


def replica_set(revision, image, cause=None):
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if cause:
        annotations["kubernetes.io/change-cause"] = cause
    return {"kind": "ReplicaSet",
            "metadata": {"name": f"web-h{revision}", "namespace": "shop", "annotations": annotations,
                         "labels": {"app": "web", "pod-template-hash": f"h{revision}"},
                         "ownerReferences": [{"uid": UID, "controller": True, "kind": "Deployment", "name": "web"}]},
            "spec": {"template": {"metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": 3 if revision == 2 else 0}}


def hpa(low=2, high=5):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": low, "maxReplicas": high},
            "status": {"currentReplicas": 3, "desiredReplicas": 3}}


def complete_controller(kube, kind, obj):
    """Plays a deployment controller that finishes every rollout at once."""
    if kind == "Deployment":
        replicas = obj["spec"]["replicas"]
        obj["status"].update(observedGeneration=obj["metadata"]["generation"], replicas=replicas,
                             updatedReplicas=replicas, readyReplicas=replicas, availableReplicas=replicas)


@pytest.fixture
def kube(monkeypatch, module_exits):
    fake = FakeKube([deployment(), replica_set(1, "web:1", "v1"), replica_set(2, "web:2", "v2"), hpa()],
                    controller=complete_controller)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, warning, **kw: warnings.append(warning))
    monkeypatch.setattr(rollout_runner, "connect", lambda module: fake)
    fake.warnings = warnings
    return fake


def run(args, check=False, diff=False, expect=ExitJson):
    args = dict({"namespace": "shop", "name": "web"}, **args)
    if "label_selectors" in args:
        args.pop("name")
    return run_module(k8s_rollout, args, check=check, diff=diff, expect=expect)


# ------------------------------------------------------------------------------ input checks

@pytest.mark.parametrize(("args", "message"), [
    ({"action": "status", "images": {"app": "x"}}, "images is used only with action=set_image, not action=status."),
    ({"action": "set_image"}, "action=set_image needs images (container name: image)."),
    ({"action": "scale"}, "action=scale needs replicas."),
    ({"action": "hpa"}, "action=hpa needs min_replicas, max_replicas or both."),
    ({"action": "history", "change_cause": "x"},
     "change_cause is used only with action=set_image or action=restart or action=undo, not action=history."),
    ({"action": "pause", "kind": "StatefulSet"},
     "Only Deployments can be paused and resumed, not a StatefulSet (kubectl rollout pause has the same limit)."),
    ({"action": "undo", "to_revision": -1}, "to_revision must be a revision number (or 0 for the previous one), not -1."),
    ({"action": "set_image", "images": {"app": " "}}, "images: the image for container 'app' is empty."),
])
def test_bad_option_combinations_fail_in_one_sentence(kube, args, message):
    result = run(args, expect=FailJson)
    assert result["msg"] == message
    assert kube.calls == []


def test_name_and_label_selectors_are_exclusive(kube):
    with patch_module_args({"action": "status", "namespace": "shop", "name": "web", "label_selectors": ["app=web"]}):
        with pytest.raises(FailJson) as exc:
            k8s_rollout.main()
    assert "mutually exclusive" in exc.value.args[0]["msg"]


@pytest.mark.parametrize(("args", "message"), [
    ({"action": "status", "name": "nope"}, "Deployment shop/nope does not exist."),
    ({"action": "status", "label_selectors": ["app=nope"]}, "No Deployment in namespace shop matches app=nope."),
    ({"action": "set_image", "images": {"ap": "web:3"}},
     "Deployment shop/web has no container named 'ap' (containers: app)."),
    ({"action": "undo", "to_revision": 9}, "Deployment shop/web has no revision 9 (revisions: 1, 2)."),
    ({"action": "scale", "replicas": 5, "current_replicas": 2},
     "Deployment shop/web has 3 replicas, not current_replicas=2; nothing was changed."),
    ({"action": "hpa", "min_replicas": 6},
     "HorizontalPodAutoscaler shop/web: min_replicas (6) is greater than max_replicas (5); nothing was changed."),
    ({"action": "hpa", "min_replicas": 3, "hpa_name": "other"}, "HorizontalPodAutoscaler shop/other does not exist."),
    ({"action": "scale", "kind": "DaemonSet", "name": "agent", "replicas": 2}, "DaemonSet shop/agent does not exist."),
])
def test_expected_failures_change_nothing(kube, args, message):
    result = run(args, expect=FailJson)
    assert result["msg"] == message
    assert kube.mutations() == []


# ------------------------------------------------------------------------------ check mode, diff, idempotence

def test_set_image_check_mode_reports_without_patching(kube):
    result = run({"action": "set_image", "images": {"app": "web:3"}, "change_cause": "v3"}, check=True, diff=True)
    assert result["changed"] is True
    assert kube.mutations() == []
    entry = result["rollouts"][0]
    assert entry["images_before"] == {"app": "web:2"} and entry["images"] == {"app": "web:3"}
    assert entry["wait"]["outcome"] == "skipped"
    assert result["diff"]["before"]["images"] == {"app": "web:2"}
    assert result["diff"]["after"]["images"] == {"app": "web:3"}
    assert result["diff"]["before_header"] == "Deployment shop/web"


def test_set_image_patches_images_and_change_cause_then_second_run_is_unchanged(kube):
    result = run({"action": "set_image", "images": {"app": "web:3"}, "change_cause": "v3"})
    assert result["changed"] is True and result["rolled_back"] is False
    _verb, kind, name, patch_type, body = kube.mutations()[0]
    assert (kind, name, patch_type) == ("Deployment", "web", "strategic")
    assert body == {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:3"}]}}},
                    "metadata": {"annotations": {"kubernetes.io/change-cause": "v3"}}}
    assert result["rollouts"][0]["wait"]["outcome"] == "complete"
    stored = kube.objects[("Deployment", "shop", "web")]
    assert stored["metadata"]["annotations"]["team"] == "shop"

    again = run({"action": "set_image", "images": {"app": "web:3"}, "change_cause": "v3"})
    assert again["changed"] is False
    assert len(kube.mutations()) == 1


def test_undo_to_previous_replaces_template_keeps_annotations_and_restores_cause(kube):
    result = run({"action": "undo"}, diff=True)
    assert result["changed"] is True
    entry = result["rollouts"][0]
    assert entry["to_revision"] == 1 and entry["images"] == {"app": "web:1"}
    _verb, _kind, _name, patch_type, ops = kube.mutations()[0]
    assert patch_type == "json"
    assert ops[0]["op"] == "replace" and ops[0]["path"] == "/spec/template"
    assert "pod-template-hash" not in ops[0]["value"]["metadata"]["labels"]
    assert ops[1:] == [{"op": "add", "path": "/metadata/annotations/kubernetes.io~1change-cause", "value": "v1"}]
    annotations = kube.objects[("Deployment", "shop", "web")]["metadata"]["annotations"]
    assert annotations["team"] == "shop"  # kubernetes.core's k8s_rollback would have dropped it
    assert result["diff"]["after"]["revision"] == 1 and result["diff"]["before"]["revision"] == 2


def test_undo_to_the_current_revision_changes_nothing(kube):
    result = run({"action": "undo", "to_revision": 2})
    assert result["changed"] is False and kube.mutations() == []
    assert "already runs the pod template of revision 2" in kube.warnings[0]


def test_undo_check_mode(kube):
    result = run({"action": "undo", "to_revision": 1}, check=True)
    assert result["changed"] is True and kube.mutations() == []


def test_history_is_data(kube):
    result = run({"action": "history"})
    assert result["changed"] is False
    rows = result["rollouts"][0]["history"]
    assert [(row["revision"], row["images"], row["change_cause"], row["current"]) for row in rows] == [
        (1, {"app": "web:1"}, "v1", False), (2, {"app": "web:2"}, "v2", True)]


@pytest.mark.parametrize(("replicas", "current", "changed"), [(5, 3, True), (3, None, False)])
def test_scale(kube, replicas, current, changed):
    result = run({"action": "scale", "replicas": replicas, "current_replicas": current}, diff=True)
    assert result["changed"] is changed
    assert result["rollouts"][0]["scale"] == {"before": 3, "after": replicas}
    if changed:
        ops = kube.mutations()[0][4]
        assert ops == [{"op": "test", "path": "/spec/replicas", "value": 3},
                       {"op": "replace", "path": "/spec/replicas", "value": 5}]
        assert (result["diff"]["before"]["replicas"], result["diff"]["after"]["replicas"]) == (3, 5)
        assert any("HorizontalPodAutoscaler shop/web manages" in w for w in kube.warnings)
    else:
        assert kube.mutations() == []


def test_scale_precondition_lost_to_a_race_is_one_sentence(kube, monkeypatch):
    original = kube.patch

    def racing_patch(kind, namespace, name, body, patch_type="strategic", **kw):
        kube.objects[("Deployment", "shop", "web")]["spec"]["replicas"] = 4  # someone else scaled meanwhile
        return original(kind, namespace, name, body, patch_type, **kw)

    monkeypatch.setattr(kube, "patch", racing_patch)
    result = run({"action": "scale", "replicas": 5, "current_replicas": 3}, expect=FailJson)
    assert result["msg"] == ("Deployment shop/web no longer has 3 replicas (current_replicas=3): it changed while the "
                             "task ran; nothing was changed.")


def test_pause_and_resume_are_idempotent(kube):
    assert run({"action": "pause"})["changed"] is True
    assert kube.objects[("Deployment", "shop", "web")]["spec"]["paused"] is True
    assert run({"action": "pause"})["changed"] is False
    assert run({"action": "resume"})["changed"] is True
    assert run({"action": "resume"})["changed"] is False
    assert [call[4] for call in kube.mutations()] == [{"spec": {"paused": True}}, {"spec": {"paused": False}}]


def test_restart_of_a_paused_deployment_is_refused(kube):
    kube.objects[("Deployment", "shop", "web")]["spec"]["paused"] = True
    result = run({"action": "restart"}, expect=FailJson)
    assert result["msg"] == "Deployment shop/web is paused; resume it (action=resume) before restarting it."


def test_restart_sets_restarted_at_every_time(kube):
    first = run({"action": "restart"}, diff=True)
    assert first["changed"] is True
    body = kube.mutations()[0][4]
    assert "kubectl.kubernetes.io/restartedAt" in body["spec"]["template"]["metadata"]["annotations"]
    assert "restarted_at" in first["diff"]["after"]


def test_hpa_bounds_change_with_diff_and_are_idempotent(kube):
    result = run({"action": "hpa", "min_replicas": 3, "max_replicas": 8}, diff=True)
    assert result["changed"] is True
    info = result["rollouts"][0]["hpa"]
    assert info["before"] == {"min_replicas": 2, "max_replicas": 5}
    assert info["after"] == {"min_replicas": 3, "max_replicas": 8}
    assert info["expected_replicas"] == 3
    assert result["diff"]["before_header"] == "HorizontalPodAutoscaler shop/web"
    assert kube.mutations()[0][1:4] == ("HorizontalPodAutoscaler", "web", "merge")
    assert run({"action": "hpa", "min_replicas": 3, "max_replicas": 8})["changed"] is False


def test_label_selectors_handle_each_match_in_name_order(kube):
    second = deployment()
    second["metadata"].update(name="api", uid="api-uid")
    kube.add(second)
    result = run({"action": "status", "label_selectors": ["tier=front"], "wait": False})
    assert [entry["name"] for entry in result["rollouts"]] == ["api", "web"]


def test_status_without_wait_reports_unhealthy_pods(kube):
    kube.add({"kind": "Pod", "metadata": {"name": "web-h2-a", "labels": {"app": "web", "pod-template-hash": "h2"}},
              "spec": {}, "status": {"phase": "Pending", "conditions": [
                  {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "no nodes"}]}})
    result = run({"action": "status", "wait": False})
    entry = result["rollouts"][0]
    assert entry["status"]["complete"] is True and entry["wait"]["waited"] is False
    assert entry["unhealthy_pods"][0]["reason"] == "Unschedulable"


# ------------------------------------------------------------------------------ failed waits and auto-rollback

class ScriptedWaiter:
    """Replaces RolloutWaiter: returns the scripted outcomes in order."""

    outcomes = []
    created = []

    def __init__(self, api, kind, namespace, name, reasons, accept=None, stale_progress=None):
        ScriptedWaiter.created.append((kind, name, tuple(reasons)))

    def wait(self, timeout):
        outcome = ScriptedWaiter.outcomes.pop(0)
        return copy.deepcopy(outcome)


def outcome(kind, workload, reason=None, message="", failing=()):
    return {"outcome": kind, "reason": reason, "message": message, "elapsed": 1.5, "workload": workload,
            "status": {}, "unhealthy_pods": list(failing), "failing_pods": list(failing)}


CRASHING_POD = {"name": "web-h3-a", "phase": "Running", "node": "n1", "ready": False, "restarts": 3,
                "reason": "CrashLoopBackOff", "message": "back-off 10s", "container": "app",
                "last_exit_code": 1, "last_termination_reason": "Error"}


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setattr(rollout_base, "RolloutWaiter", ScriptedWaiter)
    ScriptedWaiter.outcomes = []
    ScriptedWaiter.created = []
    return ScriptedWaiter


def test_failed_wait_without_rollback_fails_naming_the_pods(kube, scripted):
    scripted.outcomes = [outcome("failed", deployment("web:3"), "CrashLoopBackOff",
                                 "1 pod CrashLoopBackOff: web-h3-a (container app; back-off 10s)", [CRASHING_POD])]
    result = run({"action": "set_image", "images": {"app": "web:3"}}, expect=FailJson)
    assert result["msg"] == "Deployment shop/web rollout failed: 1 pod CrashLoopBackOff: web-h3-a (container app; back-off 10s)."
    assert result["rolled_back"] is False and result["changed"] is True
    assert result["rollouts"][0]["failing_pods"][0]["reason"] == "CrashLoopBackOff"
    assert len(kube.mutations()) == 1


def test_auto_rollback_restores_the_template_that_was_live_and_fails(kube, scripted):
    scripted.outcomes = [outcome("failed", deployment("web:3"), "CrashLoopBackOff", "1 pod CrashLoopBackOff: web-h3-a",
                                 [CRASHING_POD]),
                         outcome("complete", deployment("web:2"))]
    result = run({"action": "set_image", "images": {"app": "web:3"}, "auto_rollback": True}, expect=FailJson)
    assert result["msg"] == ("Deployment shop/web rollout failed: 1 pod CrashLoopBackOff: web-h3-a; rolled back to "
                             "revision 2 (app=web:2), which completed.")
    assert result["rolled_back"] is True
    entry = result["rollouts"][0]
    assert entry["rollback"]["to_revision"] == 2 and entry["rollback"]["complete"] is True
    assert entry["rollback"]["reason"] == "CrashLoopBackOff" and entry["rollback"]["images"] == {"app": "web:2"}
    assert entry["wait"]["outcome"] == "failed" and entry["wait"]["elapsed"] == 1.5
    set_image, rollback = kube.mutations()
    assert rollback[3] == "json" and rollback[4][0]["value"]["spec"]["containers"][0]["image"] == "web:2"
    assert kube.objects[("Deployment", "shop", "web")]["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"


def test_auto_rollback_can_leave_the_task_green(kube, scripted):
    scripted.outcomes = [outcome("timeout", deployment("web:3"), "Timeout", "1 of 3 updated replicas are available"),
                         outcome("complete", deployment("web:2"))]
    result = run({"action": "set_image", "images": {"app": "web:3"}, "auto_rollback": True, "fail_on_rollback": False,
                  "wait_timeout": 30})
    assert result["rolled_back"] is True and result["changed"] is True
    assert kube.warnings[-1].startswith("Deployment shop/web did not finish rolling out within 30s: "
                                        "1 of 3 updated replicas are available; rolled back to revision 2")


def test_rollback_that_fails_too_always_fails(kube, scripted):
    scripted.outcomes = [outcome("failed", deployment("web:3"), "CrashLoopBackOff", "1 pod CrashLoopBackOff: web-h3-a"),
                         outcome("timeout", deployment("web:2"), "Timeout", "2 of 3 updated replicas are available")]
    result = run({"action": "set_image", "images": {"app": "web:3"}, "auto_rollback": True, "fail_on_rollback": False,
                  "wait_timeout": 10}, expect=FailJson)
    assert "but that did not complete either: Deployment shop/web did not finish rolling out within 10s" in result["msg"]
    assert result["rollouts"][0]["rollback"]["complete"] is False


def test_status_with_auto_rollback_goes_to_the_previous_revision(kube, scripted):
    scripted.outcomes = [outcome("failed", deployment("web:2"), "ProgressDeadlineExceeded",
                                 "exceeded its progress deadline (600s)"),
                         outcome("complete", deployment("web:1"))]
    result = run({"action": "status", "auto_rollback": True}, expect=FailJson)
    assert result["msg"].startswith("Deployment shop/web rollout failed: it exceeded its progress deadline (600s); "
                                    "rolled back to revision 1 (app=web:1)")
    assert kube.mutations()[0][4][1] == {"op": "add", "path": "/metadata/annotations/kubernetes.io~1change-cause",
                                         "value": "v1"}


def test_check_mode_never_rolls_back(kube, scripted):
    scripted.outcomes = [outcome("failed", deployment("web:2"), "CrashLoopBackOff", "1 pod CrashLoopBackOff: web-h2-a")]
    result = run({"action": "status", "auto_rollback": True}, check=True, expect=FailJson)
    assert result["msg"].endswith("(check mode: not rolled back).")
    assert kube.mutations() == []


def test_fail_fast_reasons_reach_the_waiter(kube, scripted):
    scripted.outcomes = [outcome("complete", deployment())]
    run({"action": "status", "fail_fast_reasons": ["CrashLoopBackOff"]})
    assert scripted.created == [("Deployment", "web", ("CrashLoopBackOff",))]
