"""k8s_rollout against the real control plane (kube-apiserver, controllers and scheduler; kwok kubelets).

Every test works in its own namespace, runs the module through ansible-playbook (as users do) and
then checks the server's state with the Python client, not only the module's answer. No fixed
sleeps: setup waits on conditions with deadlines. Pods become Ready at once unless a kwok stage
says otherwise (tests/k8s/README.md): ``:crashloop`` images crash-loop, ``:imagepullbackoff`` ones
cannot be pulled, and a nodeSelector no node has keeps a pod Pending.
"""

from __future__ import annotations

import base64
import os
import socket
import tempfile
import time
from pathlib import Path

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402

from tests.integration.module_runner import run_module  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

MODULE = "sre.runbooks.k8s_rollout"
WAIT = 60  # seconds for setup conditions; they usually hold in well under 2 s
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


# ------------------------------------------------------------------------------ helpers


def rollout(ns: str, check: bool = False, diff: bool = False, **args):
    """Run the module on namespace ``ns``; the result dict (failed runs included)."""
    return run_module(MODULE, {"namespace": ns, **args}, check=check, diff=diff)


def only(result) -> dict:
    assert len(result["rollouts"]) == 1, result
    return result["rollouts"][0]


def deployment(name: str, image: str, replicas: int = 3, annotations=None, pod_annotations=None, **spec) -> dict:
    labels = {"app": name}
    return {"metadata": {"name": name, "labels": {**labels, "suite": "rollout"}, "annotations": annotations or {}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels, "annotations": pod_annotations or {}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}, **spec}}


def images_of(obj) -> list[str]:
    return [c.image for c in obj.spec.template.spec.containers]


def deployment_done(apps, ns: str, name: str, image: str | None = None):
    dep = apps.read_namespaced_deployment(name, ns)
    st, want = dep.status, dep.spec.replicas
    done = (st.observed_generation == dep.metadata.generation and (st.updated_replicas or 0) == want
            and (st.available_replicas or 0) == want and (st.replicas or 0) == want)
    if image is not None:
        done = done and images_of(dep) == [image]
    return dep if done else None


def set_image_via_api(apps, ns: str, name: str, image: str, cause: str | None = None):
    body = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
    if cause:
        body["metadata"] = {"annotations": {CHANGE_CAUSE: cause}}
    apps.patch_namespaced_deployment(name, ns, body)
    return wait_until(lambda: deployment_done(apps, ns, name, image), f"{name} rolled out to {image}")


def replica_set_images(apps, ns: str, name: str) -> dict[int, str]:
    sets = apps.list_namespaced_replica_set(ns, label_selector=f"app={name}").items
    return {int(rs.metadata.annotations[REVISION]): rs.spec.template.spec.containers[0].image for rs in sets}


def pods_of(core, ns: str, app: str):
    return core.list_namespaced_pod(ns, label_selector=f"app={app}").items


# ----------------------------------------------------------------- fixtures (api, core, apps, ns: conftest.py)

@pytest.fixture
def web(apps, ns):
    """Deployment web (3 replicas of web:1), rolled out."""
    apps.create_namespaced_deployment(ns, deployment("web", "web:1", annotations={"team": "shop"}))
    wait_until(lambda: deployment_done(apps, ns, "web", "web:1"), "web:1 rolled out")
    return "web"


# ------------------------------------------------------------------------------ set_image, check mode, idempotence

def test_set_image_check_mode_real_run_and_idempotence(apps, ns, web):
    args = {"action": "set_image", "name": web, "images": {"app": "web:2"}, "change_cause": "release 2"}

    planned = rollout(ns, check=True, diff=True, **args)
    assert planned.changed and not planned.failed, planned.output
    assert planned["diff"]["before"]["images"] == {"app": "web:1"}
    assert planned["diff"]["after"]["images"] == {"app": "web:2"}
    dep = apps.read_namespaced_deployment(web, ns)
    assert images_of(dep) == ["web:1"] and dep.metadata.generation == 1, "check mode changed the deployment"

    done = rollout(ns, diff=True, **args)
    assert done.changed and not done.failed, done.output
    entry = only(done)
    assert entry["wait"]["outcome"] == "complete" and entry["status"]["complete"]
    assert (entry["revision_before"], entry["revision"]) == (1, 2)
    assert entry["replicas"]["available"] == 3 and entry["unhealthy_pods"] == []
    dep = deployment_done(apps, ns, web, "web:2")
    assert dep, "the module returned before the rollout was complete"
    assert dep.metadata.annotations[CHANGE_CAUSE] == "release 2"
    assert dep.metadata.annotations["team"] == "shop"
    assert replica_set_images(apps, ns, web) == {1: "web:1", 2: "web:2"}

    again_check = rollout(ns, check=True, **args)
    assert not again_check.changed and not again_check.failed, again_check.output
    again = rollout(ns, **args)
    assert not again.changed and not again.failed, again.output
    assert apps.read_namespaced_deployment(web, ns).metadata.generation == dep.metadata.generation


# ------------------------------------------------------------------------------ fail fast

def test_crashloop_fails_fast_with_per_pod_reasons(apps, core, ns, web):
    started = time.monotonic()
    result = rollout(ns, action="set_image", name=web, images={"app": "web:crashloop"}, wait_timeout=120)
    took = time.monotonic() - started
    assert result.failed and result.changed
    entry = only(result)
    assert entry["wait"]["outcome"] == "failed" and entry["wait"]["reason"] == "CrashLoopBackOff"
    assert entry["wait"]["elapsed"] < 30 and took < 60, (entry["wait"], took)
    assert entry["failing_pods"], result
    for pod in entry["failing_pods"]:
        assert pod["reason"] == "CrashLoopBackOff" and pod["container"] == "app"
        assert pod["restarts"] > 0 and pod["last_exit_code"] == 1 and pod["phase"] == "Running"
    assert result["msg"].startswith(f"Deployment {ns}/web rollout failed: ")
    assert entry["failing_pods"][0]["name"] in result["msg"] and "\n" not in result["msg"]
    assert result["rolled_back"] is False
    # The old pods keep serving; the server really runs the crashing template.
    dep = apps.read_namespaced_deployment(web, ns)
    assert images_of(dep) == ["web:crashloop"] and dep.status.available_replicas == 3
    crashing = [p for p in pods_of(core, ns, web) if p.spec.containers[0].image == "web:crashloop"]
    assert {p.metadata.name for p in crashing} >= {p["name"] for p in entry["failing_pods"]}


def test_unschedulable_pods_end_in_progress_deadline_exceeded(apps, ns):
    apps.create_namespaced_deployment(ns, deployment("stuck", "stuck:1", replicas=2, progressDeadlineSeconds=4))
    wait_until(lambda: deployment_done(apps, ns, "stuck", "stuck:1"), "stuck:1 rolled out")
    apps.patch_namespaced_deployment("stuck", ns, {"spec": {"template": {"spec": {
        "nodeSelector": {"sre.runbooks/no-such-node": "true"}}}}})

    result = rollout(ns, action="status", name="stuck", wait_timeout=120)
    assert result.failed and not result.changed
    entry = only(result)
    assert entry["wait"]["reason"] == "ProgressDeadlineExceeded" and entry["wait"]["elapsed"] < 60
    assert entry["status"]["failure"] == "ProgressDeadlineExceeded"
    assert {pod["reason"] for pod in entry["failing_pods"]} == {"Unschedulable"}
    assert "exceeded its progress deadline (4s)" in result["msg"] and "Unschedulable" in result["msg"]


def test_create_container_config_error_is_named(apps, ns, web):
    apps.patch_namespaced_deployment(web, ns, {"spec": {"template": {"metadata": {"annotations": {
        "test.sre.runbooks/waiting-reason": "CreateContainerConfigError"}}}}})
    result = rollout(ns, action="status", name=web, wait_timeout=120)
    assert result.failed
    entry = only(result)
    assert entry["wait"]["reason"] == "CreateContainerConfigError"
    assert entry["failing_pods"] and all(p["reason"] == "CreateContainerConfigError" for p in entry["failing_pods"])


# ------------------------------------------------------------------------------ auto-rollback

def test_auto_rollback_restores_the_previous_image_and_fails_the_task(apps, ns, web):
    set_image_via_api(apps, ns, web, "web:2", cause="release 2")
    result = rollout(ns, action="set_image", name=web, images={"app": "web:imagepullbackoff"},
                     change_cause="release 3", auto_rollback=True, wait_timeout=120)
    assert result.failed and result.changed and result["rolled_back"] is True, result.output
    entry = only(result)
    rollback = entry["rollback"]
    assert entry["wait"]["reason"] in ("ImagePullBackOff", "ErrImagePull")
    assert rollback["complete"] is True and rollback["images"] == {"app": "web:2"}
    assert (rollback["from_revision"], rollback["to_revision"], rollback["revision"]) == (3, 2, 4)
    assert "rolled back to revision 2 (app=web:2), which completed" in result["msg"]
    dep = deployment_done(apps, ns, web, "web:2")
    assert dep, "the rollback's rollout is not complete on the server"
    assert dep.metadata.annotations[CHANGE_CAUSE] == "release 2"  # the restored revision's own cause
    assert dep.metadata.annotations["team"] == "shop"
    assert replica_set_images(apps, ns, web) == {1: "web:1", 3: "web:imagepullbackoff", 4: "web:2"}

    # Told not to fail: the task is green, reports the rollback, and warns.
    soft = rollout(ns, action="set_image", name=web, images={"app": "web:crashloop"}, auto_rollback=True,
                   fail_on_rollback=False)
    assert not soft.failed and soft.changed and soft["rolled_back"] is True, soft.output
    assert only(soft)["rollback"]["reason"] == "CrashLoopBackOff"
    assert any("rolled back to revision 4" in w for w in soft.get("warnings", [])), soft.get("warnings")
    assert deployment_done(apps, ns, web, "web:2")


# ------------------------------------------------------------------------------ undo and history

def test_undo_to_revision_n_history_and_missing_revision(apps, ns, web):
    set_image_via_api(apps, ns, web, "web:2", cause="two")
    set_image_via_api(apps, ns, web, "web:3", cause="three")

    undone = rollout(ns, action="undo", name=web, to_revision=1)
    assert undone.changed and not undone.failed, undone.output
    entry = only(undone)
    assert (entry["to_revision"], entry["revision_before"], entry["revision"]) == (1, 3, 4)
    dep = deployment_done(apps, ns, web, "web:1")
    assert dep and dep.metadata.annotations["team"] == "shop"
    assert CHANGE_CAUSE not in dep.metadata.annotations  # revision 1 had none

    history = rollout(ns, action="history", name=web)
    assert not history.changed and not history.failed
    rows = only(history)["history"]
    assert [(r["revision"], r["images"]["app"], r["change_cause"], r["current"]) for r in rows] == [
        (2, "web:2", "two", False), (3, "web:3", "three", False), (4, "web:1", None, True)]
    assert all(r["created"] and r["name"].startswith("web-") for r in rows)

    missing = rollout(ns, action="undo", name=web, to_revision=9)
    assert missing.failed and not missing.changed
    assert missing["msg"] == f"Deployment {ns}/web has no revision 9 (revisions: 2, 3, 4)."


def statefulset(name: str, image: str, replicas: int = 2) -> dict:
    labels = {"app": name}
    return {"metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def sts_done(apps, ns, name, image):
    sts = apps.read_namespaced_stateful_set(name, ns)
    st = sts.status
    ok = (st.observed_generation == sts.metadata.generation and (st.ready_replicas or 0) == sts.spec.replicas
          and (st.updated_replicas or 0) == sts.spec.replicas and st.update_revision == st.current_revision
          and images_of(sts) == [image])
    return sts if ok else None


def crash_looping(core, ns, app):
    return any(s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
               for p in pods_of(core, ns, app) for s in (p.status.container_statuses or []))


def test_statefulset_rollback_and_undo_leave_a_broken_revision(apps, core, ns):
    """ControllerRevisions, and kubernetes/kubernetes#67250: an OrderedReady StatefulSet whose new pod never
    becomes Ready stays stuck after `kubectl rollout undo`; the module replaces the broken pod."""
    apps.create_namespaced_stateful_set(ns, statefulset("db", "db:1"))
    wait_until(lambda: sts_done(apps, ns, "db", "db:1"), "db:1 ready")
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "db", "image": "db:2"}]}}}})
    wait_until(lambda: sts_done(apps, ns, "db", "db:2"), "db:2 rolled out")

    # A failed rollout, rolled back automatically; the task stays green when told so.
    rolled = rollout(ns, action="set_image", kind="StatefulSet", name="db", images={"db": "db:crashloop"},
                     auto_rollback=True, fail_on_rollback=False, wait_timeout=90)
    assert not rolled.failed and rolled["rolled_back"], rolled.output
    entry = only(rolled)
    assert entry["wait"]["reason"] == "CrashLoopBackOff" and entry["failing_pods"][0]["name"] == "db-1"
    assert entry["rollback"]["complete"] and entry["rollback"]["images"] == {"db": "db:2"}
    assert entry["deleted_pods"] == ["db-1"]
    assert sts_done(apps, ns, "db", "db:2"), "the StatefulSet did not leave the broken revision"

    # The same broken state made by hand, then an explicit undo.
    apps.patch_namespaced_stateful_set("db", ns, {"spec": {"template": {"spec": {"containers": [
        {"name": "db", "image": "db:crashloop"}]}}}})
    wait_until(lambda: crash_looping(core, ns, "db"), "db-1 to crash-loop")
    undone = rollout(ns, action="undo", kind="StatefulSet", name="db", wait_timeout=90)
    assert undone.changed and not undone.failed, undone.output
    entry = only(undone)
    assert entry["images"] == {"db": "db:2"} and entry["deleted_pods"] == ["db-1"]
    assert entry["wait"]["outcome"] == "complete"
    assert sts_done(apps, ns, "db", "db:2")

    back = rollout(ns, action="undo", kind="StatefulSet", name="db", to_revision=1)
    assert back.changed and not back.failed, back.output
    assert sts_done(apps, ns, "db", "db:1")
    revisions = apps.list_namespaced_controller_revision(ns, label_selector="app=db").items
    assert len({r.revision for r in revisions}) == len(revisions)
    assert max(revisions, key=lambda r: r.revision).data["spec"]["template"]["spec"]["containers"][0]["image"] == "db:1"


def test_daemonset_history_and_undo(apps, core, ns):
    labels = {"app": "agent"}
    apps.create_namespaced_daemon_set(ns, {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}}}})

    def ds_done(image):
        ds = apps.read_namespaced_daemon_set("agent", ns)
        st = ds.status
        ok = (st.observed_generation == ds.metadata.generation and st.desired_number_scheduled >= 3
              and (st.updated_number_scheduled or 0) == st.desired_number_scheduled
              and (st.number_available or 0) == st.desired_number_scheduled and images_of(ds) == [image])
        return ds if ok else None

    wait_until(lambda: ds_done("agent:1"), "agent:1 on every node")
    apps.patch_namespaced_daemon_set("agent", ns, {"metadata": {"annotations": {CHANGE_CAUSE: "agent 2"}},
                                                   "spec": {"template": {"spec": {"containers": [
                                                       {"name": "agent", "image": "agent:2"}]}}}})
    wait_until(lambda: ds_done("agent:2"), "agent:2 on every node")

    history = rollout(ns, action="history", kind="DaemonSet", name="agent")
    rows = only(history)["history"]
    assert [(r["revision"], r["images"], r["current"]) for r in rows] == [
        (1, {"agent": "agent:1"}, False), (2, {"agent": "agent:2"}, True)]
    assert rows[1]["change_cause"] == "agent 2"

    undone = rollout(ns, action="undo", kind="DaemonSet", name="agent", change_cause="back to 1")
    assert undone.changed and not undone.failed, undone.output
    assert only(undone)["revision"] == 3
    ds = ds_done("agent:1")
    assert ds and ds.metadata.annotations[CHANGE_CAUSE] == "back to 1"
    assert {p.spec.containers[0].image for p in pods_of(core, ns, "agent")} == {"agent:1"}


# ------------------------------------------------------------------------------ scale, pause/resume, HPA, restart

def test_scale_with_precondition_check_mode_and_idempotence(apps, core, ns, web):
    planned = rollout(ns, check=True, diff=True, action="scale", name=web, replicas=5, current_replicas=3)
    assert planned.changed and not planned.failed
    assert (planned["diff"]["before"]["replicas"], planned["diff"]["after"]["replicas"]) == (3, 5)
    assert apps.read_namespaced_deployment(web, ns).spec.replicas == 3, "check mode scaled"

    scaled = rollout(ns, action="scale", name=web, replicas=5, current_replicas=3)
    assert scaled.changed and not scaled.failed, scaled.output
    assert only(scaled)["replicas"]["ready"] == 5
    assert deployment_done(apps, ns, web) and apps.read_namespaced_deployment(web, ns).spec.replicas == 5

    mismatch = rollout(ns, action="scale", name=web, replicas=7, current_replicas=3)
    assert mismatch.failed and not mismatch.changed
    assert mismatch["msg"] == f"Deployment {ns}/web has 5 replicas, not current_replicas=3; nothing was changed."
    assert apps.read_namespaced_deployment(web, ns).spec.replicas == 5

    same = rollout(ns, action="scale", name=web, replicas=5)
    assert not same.changed and not same.failed


def test_pause_set_image_resume(apps, core, ns, web):
    paused = rollout(ns, action="pause", name=web)
    assert paused.changed and apps.read_namespaced_deployment(web, ns).spec.paused is True
    assert not rollout(ns, action="pause", name=web).changed

    staged = rollout(ns, action="set_image", name=web, images={"app": "web:2"})
    assert staged.changed and not staged.failed, staged.output
    assert only(staged)["wait"]["outcome"] == "paused"
    assert any("paused" in w for w in staged.get("warnings", []))
    assert {p.spec.containers[0].image for p in pods_of(core, ns, web)} == {"web:1"}, "a paused rollout progressed"

    resumed = rollout(ns, action="resume", name=web)
    assert resumed.changed and not resumed.failed, resumed.output
    assert only(resumed)["wait"]["outcome"] == "complete"
    assert deployment_done(apps, ns, web, "web:2")


def test_hpa_bounds_patch_checks_and_idempotence(api, apps, ns, web):
    autoscaling = k8s.AutoscalingV2Api(api)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(ns, {
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": web},
                 "minReplicas": 1, "maxReplicas": 3,
                 "metrics": [{"type": "Resource", "resource": {
                     "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})

    planned = rollout(ns, check=True, action="hpa", name=web, min_replicas=4, max_replicas=6)
    assert planned.changed and not planned.failed, planned.output
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 3), "check mode patched the HPA"

    raised = rollout(ns, diff=True, action="hpa", name=web, min_replicas=4, max_replicas=6, wait_timeout=90)
    assert raised.changed and not raised.failed, raised.output
    info = only(raised)["hpa"]
    assert info["before"] == {"min_replicas": 1, "max_replicas": 3}
    assert info["after"] == {"min_replicas": 4, "max_replicas": 6}
    assert raised["diff"]["after"] == {"min_replicas": 4, "max_replicas": 6}
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (4, 6)
    # The wait ended once the real HPA controller had brought the replicas inside the bounds.
    assert only(raised)["replicas"]["ready"] >= 4
    assert apps.read_namespaced_deployment(web, ns).spec.replicas >= 4

    assert not rollout(ns, action="hpa", name=web, min_replicas=4, max_replicas=6).changed

    refused = rollout(ns, action="hpa", name=web, min_replicas=7)
    assert refused.failed and not refused.changed
    assert refused["msg"] == (f"HorizontalPodAutoscaler {ns}/web: min_replicas (7) is greater than max_replicas (6); "
                              "nothing was changed.")
    hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (4, 6)


def test_restart_by_label_selector_one_after_the_other(apps, ns):
    for name in ("api", "worker"):
        apps.create_namespaced_deployment(ns, deployment(name, f"{name}:1", replicas=2))
    for name in ("api", "worker"):
        wait_until(lambda: deployment_done(apps, ns, name), f"{name} rolled out")

    result = rollout(ns, action="restart", label_selectors=["suite=rollout"], change_cause="weekly restart")
    assert result.changed and not result.failed, result.output
    assert [e["name"] for e in result["rollouts"]] == ["api", "worker"]
    for entry in result["rollouts"]:
        assert entry["wait"]["outcome"] == "complete" and entry["revision"] == 2
        dep = deployment_done(apps, ns, entry["name"])
        assert dep and "kubectl.kubernetes.io/restartedAt" in dep.spec.template.metadata.annotations
        assert dep.metadata.annotations[CHANGE_CAUSE] == "weekly restart"


# ------------------------------------------------------------------------------ errors and connection

def test_missing_object_and_unreachable_api_are_one_sentence(ns):
    missing = rollout(ns, action="status", name="nope")
    assert missing.failed and missing["msg"] == f"Deployment {ns}/nope does not exist."

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = rollout(ns, action="status", name="web", host=f"https://127.0.0.1:{port}", api_key="x",
                   validate_certs=False)
    assert down.failed
    assert down["msg"] == f"Cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused."
    assert "Traceback" not in down.output


def test_service_account_token_authentication(api, k8s_cluster, core, ns, web):
    """host + api_key + ca_cert, as in a pipeline; also proves tokens are sent with kubernetes 36."""
    rbac = k8s.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "deployer"}})
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "deployer-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]})
    token = core.create_namespaced_service_account_token(
        "deployer", ns, {"spec": {"expirationSeconds": 600}}).status.token
    ca_data = api.configuration.ssl_ca_cert
    with tempfile.TemporaryDirectory() as tmp:
        ca_file = Path(tmp) / "ca.crt"
        ca_file.write_bytes(Path(ca_data).read_bytes() if ca_data and os.path.exists(ca_data)
                            else base64.b64decode(ca_data or ""))
        env_free = {"host": k8s_cluster.server, "api_key": token, "ca_cert": str(ca_file), "kubeconfig": None}
        result = rollout(ns, action="history", name=web, **{k: v for k, v in env_free.items() if v})
    assert not result.failed, result.output
    assert only(result)["history"][0]["images"] == {"app": "web:1"}
    assert token not in result.output
