"""k8s_drain_plan_info's main(): the reads it makes, the plan it returns and its one-sentence failures.

The planning itself is unit-tested in tests/unit/plugins/module_utils/test_k8s_drain_plan.py and on
the real control plane in tests/integration/k8s/test_drain_node.py.
"""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import drain_runner
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.modules import k8s_drain_plan_info

from .utils import AnsibleExitJson as ExitJson, AnsibleFailJson as FailJson, run_module

READY = [{"type": "Ready", "status": "True"}]


class ListOnlyKube:
    host = "https://fake:6443"

    def __init__(self, objects, errors=None):
        self.objects, self.errors, self.calls = objects, errors or {}, []

    def list(self, kind, namespace=None, label_selector=None, field_selector=None, metadata_only=False):
        self.calls.append((kind, namespace, field_selector))
        if kind in self.errors:
            raise self.errors[kind]
        items = [o for o in self.objects.get(kind, []) if namespace is None or o["metadata"].get("namespace") == namespace]
        return {"items": copy.deepcopy(items)}


def _node(name):
    return {"metadata": {"name": name}, "spec": {},
            "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "10"}, "conditions": READY}}


OBJECTS = {
    "Node": [_node("a"), _node("b")],
    "Pod": [{"metadata": {"namespace": "prod", "name": "web-1", "labels": {"app": "web"},
                          "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d"}]},
             "spec": {"nodeName": "a", "containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]},
             "status": {"phase": "Running"}}],
    "PodDisruptionBudget": [{"metadata": {"namespace": "prod", "name": "web"},
                             "spec": {"selector": {"matchLabels": {"app": "web"}}}, "status": {"disruptionsAllowed": 0}}],
}


@pytest.fixture
def kube(monkeypatch):
    state = {"kube": ListOnlyKube(OBJECTS)}
    monkeypatch.setattr(drain_runner, "connect", lambda module: state["kube"])
    return state


def test_plan_reads_nodes_pods_and_the_pods_namespaces_pdbs(kube):
    result = run_module(k8s_drain_plan_info, {"node": "a"}, check=True, expect=ExitJson)
    assert result["changed"] is False and result["can_drain"] is True
    assert result["evict"] == [{"namespace": "prod", "name": "web-1", "target_node": "b",
                                "requests": {"cpu": 1.0, "memory": 0.0, "pods": 1}}]
    assert result["pdb_blocked"] == [{"namespace": "prod", "name": "web", "disruptions_allowed": 0, "pods": ["prod/web-1"]}]
    assert kube["kube"].calls == [("Node", None, None), ("Pod", None, drain_runner.RUNNING_PODS),
                                  ("PodDisruptionBudget", "prod", None)]


@pytest.mark.parametrize("node, message", [
    ("c", "Node 'c' does not exist on the cluster at https://fake:6443."),
    ("", "'' is not a node name."),
    ("a/b", "'a/b' is not a node name."),
])
def test_bad_nodes_are_one_sentence(kube, node, message):
    assert run_module(k8s_drain_plan_info, {"node": node}, expect=FailJson)["msg"] == message


def test_a_refused_list_is_one_sentence(kube):
    kube["kube"] = ListOnlyKube(OBJECTS, errors={"Node": KubeError("Listing nodes was refused (403 Forbidden).", 403)})
    assert run_module(k8s_drain_plan_info, {"node": "a"}, expect=FailJson)["msg"] == (
        "Listing nodes was refused (403 Forbidden).")
