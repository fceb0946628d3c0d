"""M3 node drain planning: which pods leave, where they fit, what refuses (pure functions)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.drain_plan import (
    affinity_allows,
    classify,
    pdb_blockers,
    plan_drain,
)

READY = [{"type": "Ready", "status": "True"}]
RS = [{"kind": "ReplicaSet", "name": "api-5d9"}]


def node(name, cpu="4", memory="8Gi", pods="10", labels=None, unschedulable=False, taints=None, ready=True):
    return {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                       "conditions": READY if ready else [{"type": "Ready", "status": "False"}]}}


def pod(name, node_name, cpu="1", memory="1Gi", namespace="prod", owners=None, labels=None, **spec):
    owners = RS if owners is None else owners
    return {"metadata": {"name": name, "namespace": namespace, "ownerReferences": owners, "labels": labels or {"app": "api"}},
            "spec": dict({"nodeName": node_name, "containers": [{"name": "c", "resources": {
                "requests": {"cpu": cpu, "memory": memory}}}]}, **spec),
            "status": {"phase": "Running"}}


def test_pods_go_where_there_is_room():
    nodes = [node("a"), node("b", cpu="2"), node("c", cpu="4")]
    pods = [pod("p1", "a"), pod("p2", "a"), pod("p3", "a", cpu="2"), pod("other", "c", cpu="2")]
    plan = plan_drain("a", nodes, pods)
    assert plan["can_drain"] and not plan["unplaced"]
    targets = {row["name"]: row["target_node"] for row in plan["evict"]}
    # The biggest first, each on the node with the most free CPU (b and c have 2 free; ties go by name).
    assert targets == {"p3": "c", "p1": "b", "p2": "b"}
    assert plan["message"].startswith("Node a: 3 pod(s) to evict, with room for all of them on ")
    assert plan["schedulable_nodes"] == ["b", "c"]


def test_no_room_names_the_pods_and_the_nodes():
    nodes = [node("a"), node("b", cpu="1"), node("c", unschedulable=True), node("d", ready=False)]
    pods = [pod("p1", "a"), pod("p2", "a")]
    plan = plan_drain("a", nodes, pods)
    assert not plan["can_drain"] and plan["unplaced"] == ["prod/p2"]
    assert plan["message"] == (f"Node a cannot be drained: no room for 1 of its 2 pod(s) on the other schedulable Ready "
                               f"nodes (b): {plan['unplaced'][0]}.")


def test_pod_slots_memory_selectors_taints_and_affinity_count():
    taint = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    nodes = [node("a"), node("slots", pods="0"), node("small-mem", memory="512Mi"),
             node("tainted", taints=[taint]), node("other-zone", labels={"zone": "z2"})]
    plan = plan_drain("a", nodes, [pod("p", "a", nodeSelector={"zone": "z1"})])
    assert plan["unplaced"] == ["prod/p"]
    tolerant = pod("p", "a", tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert plan_drain("a", nodes[:4], [tolerant])["evict"][0]["target_node"] == "tainted"
    affine = pod("p", "a", affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}]}]}}})
    assert plan_drain("a", nodes, [affine])["evict"][0]["target_node"] == "other-zone"


@pytest.mark.parametrize("expr, labels, allowed", [
    ({"key": "zone", "operator": "In", "values": ["z1"]}, {"zone": "z1"}, True),
    ({"key": "zone", "operator": "NotIn", "values": ["z1"]}, {"zone": "z1"}, False),
    ({"key": "zone", "operator": "NotIn", "values": ["z1"]}, {}, True),
    ({"key": "gpu", "operator": "Exists"}, {}, False),
    ({"key": "gpu", "operator": "DoesNotExist"}, {}, True),
    ({"key": "cores", "operator": "Gt", "values": ["8"]}, {"cores": "16"}, True),
    ({"key": "cores", "operator": "Lt", "values": ["8"]}, {"cores": "x"}, False),
    ({"key": "metadata.name", "operator": "In", "values": ["n"]}, {}, True),
])
def test_affinity_expressions(expr, labels, allowed):
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expr]}]}}}}
    assert affinity_allows({"metadata": {"name": "n", "labels": labels}}, spec) is allowed


@pytest.mark.parametrize("changes, flags, expected", [
    ({}, {}, ("evict", None)),
    ({"owners": [{"kind": "DaemonSet", "name": "agent"}]}, {}, ("skip", "DaemonSet pod (runs on every node)")),
    ({"owners": []}, {}, ("refuse", "no controller would recreate it (set force)")),
    ({"owners": []}, {"force": True}, ("evict", None)),
    ({"volumes": [{"name": "tmp", "emptyDir": {}}]}, {}, ("refuse", "it has emptyDir data (set delete_emptydir_data)")),
    ({"volumes": [{"name": "tmp", "emptyDir": {}}]}, {"delete_emptydir_data": True}, ("evict", None)),
])
def test_classify(changes, flags, expected):
    spec = {"volumes": changes["volumes"]} if "volumes" in changes else {}
    item = pod("p", "a", owners=changes.get("owners", RS), **spec)
    assert classify(item, **flags) == expected


def test_mirror_finished_and_terminating_pods_are_left_alone():
    mirror = pod("m", "a")
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    done = pod("d", "a")
    done["status"]["phase"] = "Succeeded"
    leaving = pod("l", "a")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    plan = plan_drain("a", [node("a"), node("b")], [mirror, done, leaving])
    assert plan["evict"] == [] and [row["name"] for row in plan["skipped"]] == ["d", "l", "m"]
    assert plan["can_drain"]


def test_refused_pods_stop_the_drain():
    plan = plan_drain("a", [node("a"), node("b")], [pod("bare", "a", owners=[])])
    assert not plan["can_drain"]
    assert plan["message"] == ("Node a cannot be drained: 1 pod(s) would not be evicted: prod/bare (no controller would "
                               "recreate it (set force)).")


def test_pdb_blockers():
    pdb = {"metadata": {"name": "api", "namespace": "prod"},
           "spec": {"selector": {"matchLabels": {"app": "api"}}}, "status": {"disruptionsAllowed": 1}}
    pods = [pod("p1", "a"), pod("p2", "a"), pod("x", "a", labels={"app": "x"})]
    assert pdb_blockers(pods, [pdb]) == [{"namespace": "prod", "name": "api", "disruptions_allowed": 1,
                                          "pods": ["prod/p1", "prod/p2"]}]
    assert pdb_blockers(pods[:1], [pdb]) == []
    assert pdb_blockers(pods, [dict(pdb, metadata={"name": "api", "namespace": "other"})]) == []


def test_unknown_node_is_a_key_error():
    with pytest.raises(KeyError):
        plan_drain("nope", [node("a")], [])
