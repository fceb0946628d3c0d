"""Pre-deployment decisions without a server: update budgets, health, rollout state, HPA, node room, PDBs."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import predeploy

READY = {"type": "Ready", "status": "True"}
GI = 2 ** 30


def deployment(replicas=4, strategy=None, requests=None, generation=1, observed=1, available=None, paused=False,
               conditions=None, labels=None, **pod_spec):
    container = {"name": "app", "image": "web:1"}
    if requests:
        container["resources"] = {"requests": requests}
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels or {"app": "web"}}, "spec": {"containers": [container], **pod_spec}}}
    if strategy is not None:
        spec["strategy"] = strategy
    if paused:
        spec["paused"] = True
    available = replicas if available is None else available
    return {"metadata": {"name": "web", "namespace": "shop", "generation": generation}, "spec": spec,
            "status": {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": available, "availableReplicas": available, "conditions": conditions or []}}


def node(name, cpu="4", memory="8Gi", pods="110", ready=True, unschedulable=False, taints=None, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                       "conditions": [dict(READY, status="True" if ready else "False")]}}


def pod(name, node_name, cpu="0", memory="0", phase="Running", ready=True, labels=None, init=None):
    spec = {"nodeName": node_name, "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}
    if init:
        spec["initContainers"] = [{"name": "i", "resources": {"requests": init}}]
    return {"metadata": {"name": name, "labels": labels or {"app": "web"}}, "spec": spec,
            "status": {"phase": phase, "conditions": [dict(READY, status="True" if ready else "False")],
                       "containerStatuses": [{"name": "c", "ready": ready, "state": {"running": {}}}]}}


@pytest.mark.parametrize("strategy, replicas, expected", [
    (None, 4, (1, 1)),  # 25 % / 25 %: surge rounds up, unavailable down
    (None, 3, (1, 0)),
    (None, 1, (1, 0)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}, 3, (0, 1)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 2}}, 5, (3, 2)),
    ({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "100%"}}, 2, (0, 2)),
    ({"type": "Recreate"}, 3, (0, 3)),
])
def test_deployment_budget_resolves_like_the_controller(strategy, replicas, expected):
    budget = predeploy.update_budget("Deployment", deployment(replicas, strategy))
    assert (budget["surge"], budget["unavailable"]) == expected
    assert budget["replicas"] == replicas


def test_statefulset_and_daemonset_budgets():
    sts = {"spec": {"replicas": 5, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "30%"}}}}
    assert predeploy.update_budget("StatefulSet", sts)["surge"] == 0
    assert predeploy.update_budget("StatefulSet", sts)["unavailable"] == 2  # rounds up
    assert predeploy.update_budget("StatefulSet", {"spec": {}})["unavailable"] == 1
    assert predeploy.update_budget("StatefulSet", {"spec": {"updateStrategy": {"type": "OnDelete"}}})["unavailable"] == 0
    ds = {"spec": {"updateStrategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}},
          "status": {"desiredNumberScheduled": 3}}
    assert (predeploy.update_budget("DaemonSet", ds)["surge"], predeploy.update_budget("DaemonSet", ds)["unavailable"]) == (1, 0)
    assert predeploy.update_budget("DaemonSet", {"spec": {}, "status": {"desiredNumberScheduled": 3}})["unavailable"] == 1


def test_a_bad_percentage_is_refused():
    with pytest.raises(ValueError, match="not a percentage"):
        predeploy.update_budget("Deployment", deployment(strategy={"rollingUpdate": {"maxSurge": "x%"}}))


def test_healthy_needs_every_replica_available_and_no_failing_pod():
    good = predeploy.check_healthy("Deployment", deployment(), [pod("web-1", "n1")])
    assert good["passed"] and good["unhealthy_pods"] == []
    short = predeploy.check_healthy("Deployment", deployment(available=2), [pod("web-1", "n1"), pod("web-2", "n1", ready=False)])
    assert not short["passed"]
    assert short["message"].startswith("2 of 4 replicas are available; 1 pod NotReady: web-2")
    assert [row["name"] for row in short["unhealthy_pods"]] == ["web-2"]


@pytest.mark.parametrize("obj, words", [
    (deployment(generation=2, observed=1), "a rollout is in progress: waiting for the deployment controller"),
    (deployment(available=3), "a rollout is in progress: 3 of 4 updated replicas are available"),
    (deployment(paused=True), "the rollout is paused"),
    (deployment(conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]),
     "the last rollout failed: it exceeded its progress deadline"),
])
def test_no_rollout_fails_for_rollouts_in_progress_paused_or_stuck(obj, words):
    result = predeploy.check_no_rollout("Deployment", obj)
    assert not result["passed"] and result["message"].startswith(words)


def test_no_rollout_passes_when_the_rollout_is_complete():
    assert predeploy.check_no_rollout("Deployment", deployment())["passed"]


def hpa(name, current, desired, maximum, target="web"):
    return {"metadata": {"name": name}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target},
                                                 "minReplicas": 2, "maxReplicas": maximum},
            "status": {"currentReplicas": current, "desiredReplicas": desired}}


def test_hpa_at_max_fails_and_headroom_passes():
    assert predeploy.check_hpa("Deployment", "web", [])["message"] == "no HorizontalPodAutoscaler targets it"
    ok = predeploy.check_hpa("Deployment", "web", [hpa("web", 3, 3, 10), hpa("other", 10, 10, 10, target="api")])
    assert ok["passed"] and [row["name"] for row in ok["hpas"]] == ["web"]
    at_max = predeploy.check_hpa("Deployment", "web", [hpa("web", 9, 10, 10)])
    assert not at_max["passed"] and at_max["hpas"][0]["at_max"]
    assert "HorizontalPodAutoscaler web is at its maximum (9 of maxReplicas 10)" in at_max["message"]
    fresh = {"metadata": {"name": "web"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                                   "maxReplicas": 3}}
    assert not predeploy.check_hpa("Deployment", "web", [fresh], replicas=3)["passed"]
    assert predeploy.check_hpa("Deployment", "web", [fresh], replicas=2)["passed"]


def test_pod_requests_count_init_containers_and_overhead_as_the_scheduler():
    spec = {"containers": [{"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}, {"resources": {}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}],
            "overhead": {"cpu": "100m"}}
    assert predeploy.pod_requests(spec) == {"pods": 1, "cpu": pytest.approx(1.1), "memory": 256 * 2 ** 20}


def test_capacity_counts_free_room_on_schedulable_nodes_only():
    obj = deployment(replicas=4, requests={"cpu": "2", "memory": "1Gi"})  # surge 1
    nodes = [node("n1"), node("n2", cpu="8"), node("n3", unschedulable=True), node("n4", ready=False),
             node("n5", taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]),
             node("n6", taints=[{"key": "soft", "effect": "PreferNoSchedule"}], cpu="1")]
    pods = [pod("a", "n1", cpu="3"), pod("b", "n2", cpu="7"), pod("done", "n1", cpu="3", phase="Succeeded"),
            pod("init", "n2", cpu="0", init={"cpu": "1"})]
    result = predeploy.check_capacity("Deployment", obj, predeploy.update_budget("Deployment", obj), nodes, pods)
    rows = {row["name"]: row for row in result["nodes"]}
    assert rows["n1"]["free"]["cpu"] == pytest.approx(1) and rows["n2"]["free"]["cpu"] == pytest.approx(0)
    assert rows["n3"]["unschedulable"] == "cordoned" and rows["n4"]["unschedulable"] == "not Ready"
    assert rows["n5"]["unschedulable"] == "taint gpu=yes:NoSchedule" and rows["n6"]["unschedulable"] is None
    assert not result["passed"] and result["room_for"] == 0
    assert result["message"].startswith("room for 0 of the 1 surge pods (2 CPU, 1024Mi memory each) on 3 schedulable node(s)")
    assert "n3 (cordoned)" in result["message"]


def test_capacity_respects_tolerations_node_selectors_and_pod_counts():
    tolerant = deployment(replicas=4, requests={"cpu": "1"}, tolerations=[{"key": "gpu", "operator": "Exists"}],
                          nodeSelector={"pool": "gpu"})
    budget = predeploy.update_budget("Deployment", tolerant)
    nodes = [node("gpu", taints=[{"key": "gpu", "value": "yes", "effect": "NoSchedule"}], labels={"pool": "gpu"}),
             node("plain", cpu="64")]
    result = predeploy.check_capacity("Deployment", tolerant, budget, nodes, [])
    assert result["passed"] and result["room_for"] == 4  # the plain node does not match the nodeSelector
    full = predeploy.check_capacity("Deployment", deployment(requests={"cpu": "1"}), {"surge": 1, "strategy": "RollingUpdate"},
                                    [node("n1", pods="2")], [pod("a", "n1"), pod("b", "n1")])
    assert not full["passed"] and full["room_for"] == 0


def test_capacity_passes_without_surge_and_checks_daemonset_nodes_one_by_one():
    recreate = deployment(strategy={"type": "Recreate"}, requests={"cpu": "100"})
    result = predeploy.check_capacity("Deployment", recreate, predeploy.update_budget("Deployment", recreate), [node("n1")], [])
    assert result["passed"] and "adds no pods" in result["message"]
    ds = deployment(requests={"cpu": "2"})
    budget = {"surge": 1, "strategy": "RollingUpdate"}
    own = [pod("ds-a", "n1", cpu="2"), pod("ds-b", "n2", cpu="2")]
    nodes = [node("n1"), node("n2", cpu="3")]
    result = predeploy.check_capacity("DaemonSet", ds, budget, nodes, own, own)
    assert not result["passed"] and result["message"].startswith("no room for the surge pod on node(s) n2")


@pytest.mark.parametrize("selector, labels, expected", [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "x"}, True),
    ({"matchLabels": {"app": "api"}}, {"app": "web"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, {"tier": "b"}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, {"tier": "a"}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, {}, True),
    ({}, {"app": "web"}, True),
])
def test_selector_matches(selector, labels, expected):
    assert predeploy.selector_matches(selector, labels) is expected


def pdb(name, allowed, labels=None, generation=1, observed=1):
    return {"metadata": {"name": name, "generation": generation},
            "spec": {"selector": {"matchLabels": labels or {"app": "web"}}},
            "status": {"observedGeneration": observed, "disruptionsAllowed": allowed, "currentHealthy": 4,
                       "desiredHealthy": 4 - allowed}}


def test_pdb_must_allow_what_the_update_takes_down():
    obj = deployment(replicas=4)  # takes 1 down
    budget = predeploy.update_budget("Deployment", obj)
    assert predeploy.check_pdb(obj, budget, [])["message"] == "no PodDisruptionBudget covers its pods"
    assert predeploy.check_pdb(obj, budget, [pdb("web", 1), pdb("api", 0, {"app": "api"})])["passed"]
    blocked = predeploy.check_pdb(obj, budget, [pdb("web", 0)])
    assert not blocked["passed"]
    assert blocked["message"] == ("PodDisruptionBudget web allows 0 disruption(s), the update takes 1 pod(s) down at once")
    stale = predeploy.check_pdb(obj, budget, [pdb("web", 3, generation=2, observed=1)])
    assert not stale["passed"] and "not been evaluated" in stale["message"]
    surge_only = deployment(replicas=3)  # 25 % of 3 rounds down to 0 unavailable
    assert predeploy.check_pdb(surge_only, predeploy.update_budget("Deployment", surge_only), [pdb("web", 0)])["passed"]


def test_summary_names_every_failed_check():
    results = [{"name": "healthy", "passed": True, "message": "ok"},
               {"name": "hpa", "passed": False, "message": "at max"},
               {"name": "pdb", "passed": False, "message": "blocked"}]
    assert predeploy.summary(results) == (False, ["hpa", "pdb"], "hpa: at max; pdb: blocked.")
    assert predeploy.summary(results[:1]) == (True, [], "All 1 pre-deployment checks passed.")
