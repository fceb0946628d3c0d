"""Container requests and limits (S5): what changes, by value; the JSON patch; capacity plans as input."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import resources_plan as rp
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_plan import RolloutError

from ..fake_kube import _json_patch


def deployment(app=None, sidecar=None):
    containers = [{"name": "app", "image": "web:1", "resources": app if app is not None else {
        "requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi"}, "limits": {"cpu": "1", "memory": "512Mi"}}},
        {"name": "sidecar", "image": "proxy:1", **({"resources": sidecar} if sidecar is not None else {})}]
    return {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": containers}}}}


def test_values_compare_by_amount_so_nothing_changes():
    wanted = {"app": {"requests": {"cpu": "0.25", "memory": "536870912"}, "limits": {"cpu": 1}}}
    assert rp.plan_resources("Deployment", deployment(), wanted) == {}


def test_set_remove_and_keep():
    wanted = {"app": {"requests": {"cpu": "217m", "memory": "231Mi"}, "limits": {"cpu": None, "memory": "231Mi"}}}
    changes = rp.plan_resources("Deployment", deployment(), wanted)
    assert changes == {"app": {
        "before": {"requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                   "limits": {"cpu": "1", "memory": "512Mi"}},
        "after": {"requests": {"cpu": "217m", "memory": "231Mi", "ephemeral-storage": "1Gi"},
                  "limits": {"memory": "231Mi"}}}}


def test_star_applies_to_every_container_not_named():
    wanted = {"*": {"requests": {"cpu": "10m"}}, "app": {"requests": {"cpu": "300m"}, "limits": {"cpu": None}}}
    changes = rp.plan_resources("Deployment", deployment(), wanted)
    assert changes["sidecar"]["after"] == {"requests": {"cpu": "10m"}, "limits": {}}
    assert changes["app"]["after"]["requests"]["cpu"] == "300m"


@pytest.mark.parametrize("wanted, message", [
    ({"nope": {"requests": {"cpu": "1"}}}, "Deployment shop/web has no container named 'nope' (containers: app, sidecar)."),
    ({"app": {"requests": {"cpu": "2"}}}, "Deployment shop/web: the cpu request 2 of container 'app' would exceed its cpu "
                                          "limit 1."),
    ({"app": {"requests": {"cpu": "lots"}}}, "Deployment shop/web: requests.cpu of container 'app' is 'lots', not a "
                                             "Kubernetes quantity (such as 250m, 1.5, 512Mi or 2Gi)."),
    ({"app": {"requests": {"cpu": "-1"}}}, "Deployment shop/web: requests.cpu of container 'app' is '-1', not a "
                                           "Kubernetes quantity (such as 250m, 1.5, 512Mi or 2Gi)."),
    ({"app": {"requests": {"cpu": True}}}, "Deployment shop/web: requests.cpu of container 'app' is True, not a "
                                           "Kubernetes quantity (such as 250m, 1.5, 512Mi or 2Gi)."),
    ({"app": {"request": {"cpu": "1"}}}, "Deployment shop/web: container 'app' has request; only requests and limits "
                                         "can be set."),
    ({"app": "1 cpu"}, "Deployment shop/web: the resources of container 'app' must be a mapping with requests and limits."),
    ({"app": {"requests": "1"}}, "Deployment shop/web: requests of container 'app' must map resource names to quantities."),
    ({}, "Deployment shop/web: no container resources to set."),
])
def test_refused_in_one_sentence(wanted, message):
    with pytest.raises(RolloutError) as caught:
        rp.plan_resources("Deployment", deployment(), wanted)
    assert str(caught.value) == message


def test_patch_sets_exactly_the_planned_resources_guarded_by_the_container_name():
    obj = deployment(sidecar={"requests": {"cpu": "50m"}})
    changes = rp.plan_resources("Deployment", obj, {"sidecar": {"requests": {"cpu": None}, "limits": {"memory": "64Mi"}}})
    ops = rp.resources_patch(obj, changes)
    assert ops == [{"op": "test", "path": "/spec/template/spec/containers/1/name", "value": "sidecar"},
                   {"op": "add", "path": "/spec/template/spec/containers/1/resources",
                    "value": {"limits": {"memory": "64Mi"}}}]
    patched = copy.deepcopy(obj)
    _json_patch(patched, ops)
    assert rp.resources_of(patched) == rp.resources_of(rp.with_resources(obj, changes))
    wanted = {"sidecar": {"requests": {"cpu": None}, "limits": {"memory": "64Mi"}}}
    assert rp.plan_resources("Deployment", patched, wanted) == {}


def test_from_recommendations_takes_what_the_plan_recommends():
    plan = [{"kind": "Deployment", "namespace": "shop", "name": "web", "status": "insufficient_data", "containers": [
        {"name": "app", "recommended": {"requests": {"cpu": "217m", "memory": "231Mi"},
                                        "limits": {"cpu": None, "memory": "231Mi"}}},
        {"name": "sidecar", "recommended": {"requests": {}, "limits": {}}}]}]
    assert rp.from_recommendations(plan) == [("Deployment", "shop", "web", {
        "app": {"requests": {"cpu": "217m", "memory": "231Mi"}, "limits": {"cpu": None, "memory": "231Mi"}}},
        ["sidecar"])]
    with pytest.raises(RolloutError, match=r"^recommendations\[1\] is not a workload of sre.runbooks.capacity_plan_info"):
        rp.from_recommendations(plan + [{"kind": "Deployment", "name": "x"}])
