"""D5 config change against the real control plane: k8s_config_change and playbooks/config_change.yml.

One namespace for the module: ConfigMap ``app-config`` used by ``web`` (envFrom) and ``worker``
(a projected volume), and ``other`` that does not use it. ``web``'s pod template carries
``test.sre.runbooks/crash-if-checksum`` set to the checksum of the BAD data, computed here from
the documented rule (sha256 of the sorted, compact JSON of binaryData and data), so kwok's
test-only stage 26-pod-crash-on-config crash-loops web's pods exactly when they start with the
bad config (tests/k8s/README.md). The assertions read the server back with the Python client.
"""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_config_change"
ANNOTATION = "checksum.sre.runbooks/app-config"
SECRET = "s3cr3t-upstream-token-value"
INITIAL = {"WORKERS": "2", "LOG_LEVEL": "info"}
GOOD = {"WORKERS": "4", "LOG_LEVEL": "info", "UPSTREAM_TOKEN": SECRET}
BAD = dict(GOOD, WORKERS="0")  # what makes web crash
HOST = "platform-cluster"


def checksum(data):
    text = json.dumps({"binaryData": {}, "data": data}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def deployment(name, replicas, annotations=None, **spec):
    container = {"name": "app", "image": f"{name}:1", **spec.pop("container", {})}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations or {}},
                                  "spec": {"containers": [container], **spec}}}}


@pytest.fixture(scope="module")
def ns(core, apps):
    name = f"d5-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "app-config"}, "data": INITIAL})
    apps.create_namespaced_deployment(name, deployment(
        "web", 2, {"test.sre.runbooks/crash-if-checksum": checksum(BAD)},
        container={"envFrom": [{"configMapRef": {"name": "app-config"}}]}))
    apps.create_namespaced_deployment(name, deployment(
        "worker", 1, volumes=[{"name": "cfg", "projected": {"sources": [{"configMap": {"name": "app-config"}}]}}]))
    apps.create_namespaced_deployment(name, deployment("other", 1))
    for workload in ("web", "worker", "other"):
        wait_until(lambda w=workload: settled(apps, name, w), f"{name}/{workload} to be available")
    yield name
    core.delete_namespace(name)


def settled(apps, ns, name):
    dep = apps.read_namespaced_deployment(name, ns)
    return (dep.status.observed_generation == dep.metadata.generation
            and (dep.status.available_replicas or 0) == dep.spec.replicas == (dep.status.updated_replicas or 0)
            and (dep.status.replicas or 0) == dep.spec.replicas)


def template_annotation(apps, ns, name):
    return (apps.read_namespaced_deployment(name, ns).spec.template.metadata.annotations or {}).get(ANNOTATION)


def pods(core, ns, app):
    return [pod for pod in core.list_namespaced_pod(ns, label_selector=f"app={app}").items
            if pod.metadata.deletion_timestamp is None]


def ready(pod):
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def generations(apps, ns):
    return {name: apps.read_namespaced_deployment(name, ns).metadata.generation for name in ("web", "worker", "other")}


def test_change_rolls_out_the_consumers_check_real_check_real(core, apps, ns):
    args = {"namespace": ns, "configmap": "app-config", "sensitive": ["UPSTREAM_TOKEN"], "wait_timeout": 60,
            "data": {"WORKERS": 4, "UPSTREAM_TOKEN": SECRET}}
    before = generations(apps, ns)
    [check] = run_module_batch(MODULE, [{"args": args, "check": True, "diff": True}])
    assert not check.failed and check.changed, check.output
    assert {c["key"]: (c["before"], c["after"]) for c in check["configmap"]["changes"]} == {
        "UPSTREAM_TOKEN": (None, "<sensitive>"), "WORKERS": ("2", "4")}
    assert [(c["name"], c["references"], c["rolls"]) for c in check["consumers"]] == [
        ("web", ["envFrom of container app"], True), ("worker", ["projected volume cfg"], True)]
    assert [r["state"] for r in check["rollouts"]] == ["would_roll", "would_roll"]
    # Check mode changed nothing on the server.
    assert core.read_namespaced_config_map("app-config", ns).data == INITIAL
    assert generations(apps, ns) == before

    real, check_again, real_again = run_module_batch(MODULE, [
        {"args": args, "diff": True}, {"args": args, "check": True}, {"args": args}])
    assert not real.failed and real.changed, real.output
    assert [(r["name"], r["state"]) for r in real["rollouts"]] == [("web", "rolled_out"), ("worker", "rolled_out")]
    assert real["configmap"]["checksum"] == checksum(GOOD)
    for again in (check_again, real_again):
        assert not again.failed and not again.changed, again.output
        assert again["rollouts"] == [] and not any(c["rolls"] for c in again["consumers"])
    for result in (check, real, check_again, real_again):
        assert SECRET not in result.output

    # The server: new data, the checksum on both consumers' templates and on every pod, all Ready.
    assert core.read_namespaced_config_map("app-config", ns).data == GOOD
    for app in ("web", "worker"):
        assert template_annotation(apps, ns, app) == checksum(GOOD)
        wait_until(lambda a=app: settled(apps, ns, a), f"{app} to settle")
        assert {(p.metadata.annotations or {}).get(ANNOTATION) for p in pods(core, ns, app)} == {checksum(GOOD)}
        assert all(ready(p) for p in pods(core, ns, app))
    after = generations(apps, ns)
    assert after["other"] == before["other"] and after["web"] > before["web"] and after["worker"] > before["worker"]


def test_bad_config_is_rolled_back_to_the_previous_data(core, apps, ns, k8s_cluster, tmp_path):
    # The previous test left the good config rolled out.
    assert template_annotation(apps, ns, "web") == checksum(GOOD)
    worker_generation = generations(apps, ns)["worker"]
    env = {"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig), "SRE_REPORT_DIR": str(tmp_path)}
    proc = run_playbook("playbooks/config_change.yml", {
        "rollout_namespace": ns, "rollout_config_map": "app-config", "rollout_config_data": {"WORKERS": "0"},
        "rollout_config_sensitive": ["UPSTREAM_TOKEN"], "rollout_wait_timeout": 60}, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-6000:]
    report = json.loads((tmp_path / f"rollout-config-{HOST}.json").read_text())
    assert report["rolled_back"] and report["rollback"]["data_restored"], report
    assert [(r["name"], r["state"]) for r in report["rollouts"]] == [("web", "failed")]
    assert report["rollouts"][0]["failing_pods"][0]["reason"] == "CrashLoopBackOff"
    assert [(b["name"], b["outcome"]) for b in report["rollback"]["rollouts"]] == [("web", "complete")]
    assert report["message"].startswith(f"Deployment {ns}/web rollout failed: "), report["message"]
    assert "CrashLoopBackOff" in report["message"]
    assert "previous data of ConfigMap" in report["message"]
    assert SECRET not in output and SECRET not in (tmp_path / f"rollout-config-{HOST}.md").read_text()

    # The server: the previous data, the previous checksum on web's template and pods, all Ready;
    # worker (after web) was never touched.
    assert core.read_namespaced_config_map("app-config", ns).data == GOOD
    assert template_annotation(apps, ns, "web") == checksum(GOOD)
    wait_until(lambda: settled(apps, ns, "web"), "web to settle on the previous config")
    web_pods = pods(core, ns, "web")
    assert len(web_pods) == 2 and all(ready(p) for p in web_pods)
    assert {(p.metadata.annotations or {}).get(ANNOTATION) for p in web_pods} == {checksum(GOOD)}
    assert generations(apps, ns)["worker"] == worker_generation


def test_env_change_and_a_crashing_env_rolled_back(core, apps, ns):
    crash = {"namespace": ns, "name": "other", "wait_timeout": 60,
             "env": {"JAVA_OPTS": "-Xmx64m test.sre.runbooks/crashloop"}}
    good = {"namespace": ns, "name": "other", "wait_timeout": 60, "env": {"JAVA_OPTS": "-Xmx1g", "WORKERS": 4}}
    failed, changed, again, no_map, no_workload = run_module_batch(MODULE, [
        {"args": crash}, {"args": good}, {"args": good},
        {"args": {"namespace": ns, "configmap": "nope", "data": {"A": "1"}}},
        {"args": {"namespace": ns, "name": "nope", "env": {"A": "1"}}}])
    assert no_map.failed and no_map["msg"] == f"ConfigMap {ns}/nope does not exist."
    assert no_workload.failed and no_workload["msg"] == f"Deployment {ns}/nope does not exist."
    assert failed.failed and failed["rolled_back"], failed.output
    assert "CrashLoopBackOff" in failed["msg"] and "rolled back to the previous pod template, which completed" in failed["msg"]
    assert not changed.failed and changed.changed and [r["state"] for r in changed["rollouts"]] == ["rolled_out"]
    assert not again.failed and not again.changed
    env = apps.read_namespaced_deployment("other", ns).spec.template.spec.containers[0].env
    assert [(e.name, e.value) for e in env] == [("JAVA_OPTS", "-Xmx1g"), ("WORKERS", "4")]
    wait_until(lambda: settled(apps, ns, "other"), "other to settle")
    assert all(ready(p) for p in pods(core, ns, "other"))
