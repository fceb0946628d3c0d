"""k8s_resources' main(): check mode (a server-side dry run, nothing stored), idempotence, diff, recommendations,
rollback of a failed rollout, one-sentence errors.

The API is the in-memory fake (tests/unit/plugins/fake_kube.py) and the rollout wait is scripted; the real
control plane is tests/integration/capacity/test_capacity.py.
"""

from __future__ import annotations

import copy

import pytest
from ansible.module_utils import basic

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import resources_runner, rollout_base
from ansible_collections.sre.runbooks.plugins.modules import k8s_resources

from ..fake_kube import FakeKube
from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module

UID = "dep-uid"
OLD = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
NEW = {"requests": {"cpu": "217m", "memory": "231Mi"}, "limits": {"cpu": None, "memory": "231Mi"}}


def deployment(resources=None, name="web", revision=1):
    return {"kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop", "uid": f"{name}-uid", "generation": 1,
                         "labels": {"app": name}, "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "web:1",
                                                           "resources": copy.deepcopy(resources or OLD)}]}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
                       "availableReplicas": 2}}


def replica_set(dep, revision):
    name = dep["metadata"]["name"]
    return {"kind": "ReplicaSet",
            "metadata": {"name": f"{name}-h{revision}", "namespace": "shop", "labels": {"app": name},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"uid": dep["metadata"]["uid"], "controller": True}]},
            "spec": {"template": copy.deepcopy(dep["spec"]["template"])}, "status": {"replicas": 2}}


def observed(kube, kind, obj):
    """Plays the deployment controller: observes the new generation and records a new revision."""
    obj["status"]["observedGeneration"] = obj["metadata"]["generation"]
    revision = int(obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) + 1
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = str(revision)
    kube.add(replica_set(obj, revision))


class Waiter:
    """Replaces RolloutWaiter: returns the scripted outcomes in order, else the rollout is complete."""

    outcomes = []

    def __init__(self, api, kind, namespace, name, reasons, accept=None, stale_progress=None):
        self.api, self.kind, self.name = api, kind, name

    def wait(self, timeout):
        workload = self.api.get(self.kind, "shop", self.name)
        kind, reason, message = Waiter.outcomes.pop(0) if Waiter.outcomes else ("complete", None, "successfully rolled out")
        return {"outcome": kind, "reason": reason, "message": message, "elapsed": 0.5, "workload": workload,
                "status": {}, "unhealthy_pods": [], "failing_pods": []}


@pytest.fixture
def kube(monkeypatch, module_exits):
    dep = deployment()
    fake = FakeKube([dep, replica_set(dep, 1)], controller=observed)
    fake.warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda module, warning, **kw: fake.warnings.append(warning))
    monkeypatch.setattr(resources_runner, "connect", lambda module: fake)
    monkeypatch.setattr(rollout_base, "RolloutWaiter", Waiter)
    Waiter.outcomes = []
    return fake


def resources(kube, name="web"):
    return kube.objects[("Deployment", "shop", name)]["spec"]["template"]["spec"]["containers"][0]["resources"]


def run(args, check=False, diff=False, expect=ExitJson):
    return run_module(k8s_resources, args, check=check, diff=diff, expect=expect)


ARGS = {"namespace": "shop", "name": "web", "resources": {"app": NEW}}


def test_check_mode_validates_with_a_dry_run_and_stores_nothing(kube):
    result = run(ARGS, check=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["resources"]["app"] == OLD
    assert result["diff"]["after"]["resources"]["app"] == {"requests": {"cpu": "217m", "memory": "231Mi"},
                                                           "limits": {"memory": "231Mi"}}
    assert [call[0] for call in kube.calls if "patch" in call[0]] == ["dry-run patch"]
    assert resources(kube) == OLD and result["workloads"][0]["wait"]["waited"] is False


def test_real_run_then_idempotent(kube):
    result = run(dict(ARGS, change_cause="right-sized"))
    entry = result["workloads"][0]
    assert result["changed"] is True and entry["containers_changed"] == ["app"]
    assert (entry["revision_before"], entry["revision"]) == (1, 2) and entry["wait"]["outcome"] == "complete"
    assert resources(kube) == {"requests": {"cpu": "217m", "memory": "231Mi"}, "limits": {"memory": "231Mi"}}
    annotations = kube.objects[("Deployment", "shop", "web")]["metadata"]["annotations"]
    assert annotations["kubernetes.io/change-cause"] == "right-sized"
    patches = len(kube.mutations())
    again = run(ARGS)
    assert again["changed"] is False and len(kube.mutations()) == patches


def test_a_failed_rollout_puts_the_previous_resources_back(kube):
    Waiter.outcomes = [("failed", "ProgressDeadlineExceeded", "exceeded its progress deadline (3s)")]
    result = run(ARGS, expect=FailJson)
    assert result["rolled_back"] is True and result["changed"] is True
    assert result["msg"] == ("Deployment shop/web rollout failed: it exceeded its progress deadline (3s); rolled back "
                             "to revision 1 (app=web:1), which completed.")
    assert resources(kube) == OLD


def test_recommendations_change_every_workload_that_has_one(kube):
    kube.add(deployment(name="api"))
    plan = [{"kind": "Deployment", "namespace": "shop", "name": "web", "containers": [
        {"name": "app", "recommended": NEW}]},
        {"kind": "Deployment", "namespace": "shop", "name": "api", "containers": [
            {"name": "app", "recommended": {"requests": {}, "limits": {}}}]}]
    result = run({"recommendations": plan})
    assert [entry["name"] for entry in result["workloads"]] == ["web"] and result["changed"] is True
    assert resources(kube, "api") == OLD
    assert kube.warnings == ["Deployment shop/api has no recommendation to apply (not enough data); left as it is."]


@pytest.mark.parametrize("args, message", [
    ({"namespace": "shop", "resources": {"app": NEW}},
     "resources needs name or label_selectors to say which workload to change."),
    ({"name": "web", "resources": {"app": NEW}},
     "resources needs namespace, and name or label_selectors, to say which workload to change."),
    ({"namespace": "shop", "name": "web", "resources": {}},
     "resources must name at least one container (or * for every container)."),
    ({"namespace": "shop", "name": "nope", "resources": {"app": NEW}}, "Deployment shop/nope does not exist."),
    ({"namespace": "shop", "label_selectors": ["app=nope"], "resources": {"app": NEW}},
     "No Deployment in namespace shop matches app=nope."),
    ({"recommendations": [{"kind": "CronJob", "namespace": "shop", "name": "x", "containers": [
        {"name": "app", "recommended": NEW}]}]},
     "recommendations: CronJob shop/x is not a Deployment, StatefulSet or DaemonSet."),
])
def test_bad_input_fails_in_one_sentence(kube, args, message):
    result = run(args, expect=FailJson)
    assert result["msg"] == message
    assert kube.mutations() == []
