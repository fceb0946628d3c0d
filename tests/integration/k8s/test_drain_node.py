"""playbooks/drain_node.yml (M3) against the real control plane, on two kwok nodes of the test's own.

The shared kwok nodes are never drained: the test adds nodes ``a`` and ``b`` (kwok plays their
kubelets), tainted and labelled so only its own pods go there, and deletes them afterwards. A
Deployment's three pods run on ``a`` while ``b`` is cordoned, so the pre-check finds no room;
once ``b`` is schedulable the drain evicts them and the real scheduler puts the replacements on
``b``. A PodDisruptionBudget that allows no disruption then makes the drain of ``b`` fail with one
sentence, and ``b`` is uncordoned again.
"""

from __future__ import annotations

import re
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

POOL = "test.sre.runbooks/drain-pool"
TAINT = {"key": "test.sre.runbooks/drain", "value": "only", "effect": "NoSchedule"}
RECAP = re.compile(r"platform-cluster\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def _node(name, pool, cordoned):
    allocatable = {"cpu": "4", "memory": "8Gi", "pods": "20"}
    return {"metadata": {"name": name, "labels": {POOL: pool}},
            "spec": {"unschedulable": cordoned, "taints": [TAINT]},
            "status": {"allocatable": allocatable, "capacity": allocatable}}


def _ready(core, name):
    node = core.read_node(name)
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


@pytest.fixture(scope="module")
def scene(api, k8s_cluster):
    core, apps, policy = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.PolicyV1Api(api)
    suffix = uuid.uuid4().hex[:6]
    a, b, ns = f"drain-a-{suffix}", f"drain-b-{suffix}", f"drain-{suffix}"
    core.create_namespace({"metadata": {"name": ns}})
    try:
        core.create_node(_node(a, suffix, cordoned=False))
        core.create_node(_node(b, suffix, cordoned=True))
        wait_until(lambda: _ready(core, a) and _ready(core, b), "the test's nodes to be Ready")
        labels = {"app": "web"}
        apps.create_namespaced_deployment(ns, {"metadata": {"name": "web"}, "spec": {
            "replicas": 3, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "nodeSelector": {POOL: suffix}, "tolerations": [dict(TAINT, operator="Equal")],
                "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "web", "image": "web:1",
                                "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}}}]}}}})
        wait_until(lambda: _placement(core, ns) == {a: 3}, f"three web pods Running on {a}")
        yield {"core": core, "policy": policy, "a": a, "b": b, "ns": ns,
               "env": {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)}}
    finally:
        core.delete_namespace(ns)
        for name in (a, b):
            core.delete_node(name)


def _placement(core, ns):
    """{node: running web pods not terminating}."""
    found = {}
    for pod in core.list_namespaced_pod(ns, label_selector="app=web").items:
        if pod.metadata.deletion_timestamp is None and pod.status.phase == "Running" and pod.spec.node_name:
            found[pod.spec.node_name] = found.get(pod.spec.node_name, 0) + 1
    return found


def _drain(scene, expect_rc=0, check=False, **extra):
    proc = run_playbook("playbooks/drain_node.yml", extra, check=check, env=scene["env"])
    output = proc.stdout + proc.stderr
    recap = RECAP.search(proc.stdout)
    assert proc.returncode == expect_rc and recap, output[-6000:]
    return int(recap.group(2)), " ".join(proc.stdout.split())


def _cordoned(scene, name):
    return bool(scene["core"].read_node(name).spec.unschedulable)


def test_unknown_node_and_no_room_change_nothing(scene):
    _changed, out = _drain(scene, expect_rc=2, node="no-such-node-x1")
    assert re.search(r"Node 'no-such-node-x1' does not exist on the cluster at https://127\.0\.0\.1:\d+\.", out), out

    # b is cordoned, and the shared nodes are tainted away or do not match the pods' nodeSelector.
    a = scene["a"]
    _changed, out = _drain(scene, expect_rc=2, node=a)
    assert (f"Node {a} cannot be drained: no room for 3 of its 3 pod(s) on the other schedulable Ready nodes (") in out
    assert not _cordoned(scene, a) and _placement(scene["core"], scene["ns"]) == {a: 3}


def test_drain_moves_the_pods_then_uncordon(scene):
    core, a, b, ns = scene["core"], scene["a"], scene["b"], scene["ns"]
    core.patch_node(b, {"spec": {"unschedulable": False}})

    changed, out = _drain(scene, check=True, node=a)
    assert changed == 0 and f"Node {a}: 3 pod(s) to evict, with room for all of them on 1 of" in out
    assert not _cordoned(scene, a) and _placement(core, ns) == {a: 3}

    changed, _out = _drain(scene, node=a)
    assert changed == 1 and _cordoned(scene, a)
    # The Deployment's replacements, placed by the real scheduler on the only node left for them.
    wait_until(lambda: _placement(core, ns) == {b: 3}, f"the web pods to run on {b}")
    assert not [p for p in core.list_namespaced_pod(ns).items if p.spec.node_name == a]

    changed, _out = _drain(scene, node=a)
    assert changed == 0 and _cordoned(scene, a)

    changed, _out = _drain(scene, node=a, drain_state="uncordoned")
    assert changed == 1 and not _cordoned(scene, a)
    changed, _out = _drain(scene, node=a, drain_state="uncordoned")
    assert changed == 0


def test_a_pdb_that_forbids_the_eviction_fails_cleanly_and_uncordons(scene):
    core, policy, b, ns = scene["core"], scene["policy"], scene["b"], scene["ns"]
    wait_until(lambda: _placement(core, ns) == {b: 3}, f"the web pods to run on {b}")
    policy.create_namespaced_pod_disruption_budget(ns, {"metadata": {"name": "web"}, "spec": {
        "minAvailable": 3, "selector": {"matchLabels": {"app": "web"}}}})
    wait_until(lambda: (policy.read_namespaced_pod_disruption_budget("web", ns).status.observed_generation or 0) >= 1,
               "the PodDisruptionBudget's status")

    _changed, out = _drain(scene, expect_rc=2, node=b)
    message = re.search(r"Draining node (\S+) failed and it was uncordoned again: (.*?)\.\"", out)
    assert message and message.group(1) == b, out[-3000:]
    assert "disruption budget" in message.group(2), message.group(2)
    assert "\\n" not in message.group(2)
    assert not _cordoned(scene, b)
    assert _placement(core, ns) == {b: 3}
