"""Rollout decisions without a server: status rules per kind, revisions, undo targets, patches, HPA checks."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro

UID = "0b6c-uid"


def template(image="web:1", extra_labels=None, sidecar=None, init=None):
    containers = [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent"}]
    if sidecar:
        containers.append({"name": "proxy", "image": sidecar})
    spec = {"containers": containers, "restartPolicy": "Always"}
    if init:
        spec["initContainers"] = [{"name": "migrate", "image": init}]
    return {"metadata": {"labels": {"app": "web", **(extra_labels or {})}}, "spec": spec}


def deployment(image="web:1", generation=2, observed=2, replicas=3, status=None, annotations=None, **spec):
    base_status = {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": replicas,
                   "readyReplicas": replicas, "availableReplicas": replicas,
                   "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
    base_status.update(status or {})
    return {"kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": UID, "generation": generation,
                         "annotations": {"deployment.kubernetes.io/revision": "2", **(annotations or {})}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(image), **spec},
            "status": base_status}


def replica_set(revision, image, owner=UID, change_cause=None, replicas=0, hash_="h"):
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    if change_cause:
        annotations[ro.CHANGE_CAUSE] = change_cause
    return {"metadata": {"name": f"web-{hash_}{revision}", "annotations": annotations,
                         "labels": {"app": "web", "pod-template-hash": f"{hash_}{revision}"},
                         "creationTimestamp": f"2024-01-0{revision}T00:00:00Z",
                         "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": owner, "controller": True}]},
            "spec": {"template": template(image, {"pod-template-hash": f"{hash_}{revision}"})},
            "status": {"replicas": replicas}}


def controller_revision(revision, image, owner=UID, change_cause=None):
    annotations = {ro.CHANGE_CAUSE: change_cause} if change_cause else {}
    data_template = dict(template(image), **{"$patch": "replace"})
    return {"metadata": {"name": f"db-{revision}abc", "annotations": annotations,
                         "labels": {"app": "web", "controller-revision-hash": f"{revision}abc"},
                         "creationTimestamp": "2024-01-01T00:00:00Z",
                         "ownerReferences": [{"kind": "StatefulSet", "name": "db", "uid": owner, "controller": True}]},
            "revision": revision, "data": {"spec": {"template": data_template}}}


def statefulset(image="db:1", replicas=2, generation=3, observed=3, status=None, strategy=None, **spec):
    base_status = {"observedGeneration": observed, "replicas": replicas, "readyReplicas": replicas,
                   "updatedReplicas": replicas, "currentRevision": "db-2abc", "updateRevision": "db-2abc"}
    base_status.update(status or {})
    return {"kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "data", "uid": UID, "generation": generation},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": template(image),
                     "updateStrategy": strategy if strategy is not None else
                     {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, **spec},
            "status": base_status}


def daemonset(generation=2, observed=2, status=None, strategy="RollingUpdate"):
    base_status = {"observedGeneration": observed, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                   "updatedNumberScheduled": 3, "numberReady": 3, "numberAvailable": 3}
    base_status.update(status or {})
    return {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "ops", "uid": UID, "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template("agent:1"),
                     "updateStrategy": {"type": strategy}},
            "status": base_status}


# ------------------------------------------------------------------------------ status

@pytest.mark.parametrize(("obj", "complete", "message", "failure"), [
    (deployment(), True, "successfully rolled out", None),
    (deployment(generation=3, observed=2), False, "waiting for the deployment controller to observe the new spec", None),
    (deployment(status={"updatedReplicas": 1}), False, "1 of 3 new replicas have been updated", None),
    (deployment(status={"replicas": 4}), False, "1 old replicas are pending termination", None),
    (deployment(status={"availableReplicas": 2}), False, "2 of 3 updated replicas are available", None),
    (deployment(progressDeadlineSeconds=5, status={
        "updatedReplicas": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                              "message": 'ReplicaSet "web-2" has timed out progressing.'}]}),
     False, 'exceeded its progress deadline (5s): ReplicaSet "web-2" has timed out progressing', "ProgressDeadlineExceeded"),
    (deployment(replicas=0, status={"replicas": 0, "updatedReplicas": 0, "availableReplicas": 0}), True,
     "successfully rolled out", None),
])
def test_deployment_status_follows_kubectl(obj, complete, message, failure):
    status = ro.rollout_status("Deployment", obj)
    assert (status["complete"], status["message"], status["failure"]) == (complete, message, failure)


def test_deployment_status_reports_paused_and_counts():
    status = ro.rollout_status("Deployment", deployment(paused=True, status={"updatedReplicas": 1, "readyReplicas": 2}))
    assert status["paused"] and not status["complete"]
    assert status["replicas"] == {"desired": 3, "current": 3, "updated": 1, "ready": 2, "available": 3}


@pytest.mark.parametrize(("obj", "complete", "message", "pending"), [
    (statefulset(), True, "successfully rolled out", 0),
    (statefulset(observed=0, generation=1), False, "waiting for the statefulset controller to observe the new spec", 0),
    (statefulset(status={"readyReplicas": 1}), False, "waiting for 1 pods to be ready", 0),
    (statefulset(status={"updatedReplicas": 1}), False, "1 of 2 new pods have been updated", 0),
    (statefulset(replicas=4, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
                 status={"updatedReplicas": 2}), True, "partitioned roll out complete: 2 new pods have been updated", 0),
    (statefulset(replicas=4, strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
                 status={"updatedReplicas": 1}), False, "1 of 2 new pods have been updated (partition 2)", 0),
    (statefulset(strategy={"type": "RollingUpdate"}, status={"updateRevision": "db-3abc"}), False,
     "waiting for the rolling update to complete 2 pods at revision db-3abc", 0),
    # OnDelete: kubectl refuses; we call it complete once every pod is ready and say how many are behind.
    (statefulset(strategy={"type": "OnDelete"}, status={"updatedReplicas": 0, "updateRevision": "db-3abc"}), True,
     "all pods are ready; 2 pods still run an older revision (updateStrategy OnDelete replaces a pod only when it is deleted)", 2),
    (statefulset(strategy={"type": "OnDelete"}, status={"readyReplicas": 1}), False, "1 of 2 pods are ready", 0),
])
def test_statefulset_status(obj, complete, message, pending):
    status = ro.rollout_status("StatefulSet", obj)
    assert (status["complete"], status["message"], status["pending_update"]) == (complete, message, pending)


@pytest.mark.parametrize(("obj", "complete", "message"), [
    (daemonset(), True, "successfully rolled out"),
    (daemonset(generation=3), False, "waiting for the daemonset controller to observe the new spec"),
    (daemonset(status={"updatedNumberScheduled": 1}), False, "1 of 3 updated pods have been scheduled"),
    (daemonset(status={"numberAvailable": 2}), False, "2 of 3 updated pods are available"),
    (daemonset(strategy="OnDelete", status={"updatedNumberScheduled": 1}), True,
     "all pods are available; 2 pods still run an older revision (updateStrategy OnDelete replaces a pod only when it is deleted)"),
])
def test_daemonset_status(obj, complete, message):
    status = ro.rollout_status("DaemonSet", obj)
    assert (status["complete"], status["message"]) == (complete, message)


def test_unknown_kind_is_refused():
    with pytest.raises(ro.RolloutError, match="Unsupported kind 'Job'"):
        ro.rollout_status("Job", {})


# ------------------------------------------------------------------------------ selectors

@pytest.mark.parametrize(("selector", "expected"), [
    ({"matchLabels": {"app": "web", "tier": "fe"}}, "app=web,tier=fe"),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "stage"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "zone", "operator": "NotIn", "values": ["a"]},
        {"key": "team", "operator": "Exists"}]}, "app=web,env in (prod,stage),!canary,zone notin (a),team"),
    (None, ""),
])
def test_label_selector(selector, expected):
    assert ro.label_selector(selector) == expected


def test_owned_by_matches_controller_uid_only():
    mine, other = replica_set(1, "web:1"), replica_set(2, "web:2", owner="someone-else")
    assert ro.owned_by([mine, other], deployment()) == [mine]


# ------------------------------------------------------------------------------ revisions

def test_revisions_from_replica_sets_sorted_with_images_and_causes():
    revs = ro.revisions("Deployment", [replica_set(3, "web:3", change_cause="v3", replicas=3),
                                       replica_set(1, "web:1"), replica_set(2, "web:2", change_cause="v2")])
    assert [(r["revision"], r["images"], r["change_cause"]) for r in revs] == [
        (1, {"app": "web:1"}, None), (2, {"app": "web:2"}, "v2"), (3, {"app": "web:3"}, "v3")]
    assert "pod-template-hash" not in revs[0]["template"]["metadata"]["labels"]
    assert revs[2]["replicas"] == 3 and revs[2]["hash"] == "h3"


def test_revisions_from_controller_revisions_drop_the_patch_directive():
    revs = ro.revisions("StatefulSet", [controller_revision(2, "db:2", change_cause="bump"), controller_revision(1, "db:1")])
    assert [r["revision"] for r in revs] == [1, 2]
    assert "$patch" not in revs[1]["template"]
    assert revs[1]["change_cause"] == "bump" and revs[1]["hash"] == "2abc" and revs[1]["replicas"] is None


def test_replica_set_without_revision_annotation_is_ignored():
    broken = replica_set(1, "web:1")
    del broken["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
    assert ro.revisions("Deployment", [broken]) == []


@pytest.mark.parametrize(("image", "to_revision", "expected"), [
    ("web:3", None, 2),  # the template is revision 3's: previous is 2
    ("web:3", 1, 1),
    ("web:2", None, 1),  # the template is revision 2's (3 exists but is not current): previous is 1
    ("web:9", None, 2),  # no ReplicaSet has the template yet: the controller's annotation (3) counts as current
])
def test_choose_undo_target(image, to_revision, expected):
    revs = ro.revisions("Deployment", [replica_set(1, "web:1"), replica_set(2, "web:2"), replica_set(3, "web:3")])
    obj = deployment(image, annotations={"deployment.kubernetes.io/revision": "3"})
    assert ro.choose_undo_target("Deployment", obj, revs, to_revision)["revision"] == expected


@pytest.mark.parametrize(("revs", "to_revision", "message"), [
    ([], None, "Deployment shop/web has no rollout history (no ReplicaSets found)."),
    ([replica_set(1, "web:1")], None, "Deployment shop/web has no previous revision to roll back to (revisions: 1)."),
    ([replica_set(1, "web:1"), replica_set(2, "web:2")], 7, "Deployment shop/web has no revision 7 (revisions: 1, 2)."),
])
def test_choose_undo_target_errors_are_one_sentence(revs, to_revision, message):
    obj = deployment("web:1" if len(revs) == 1 else "web:2")
    with pytest.raises(ro.RolloutError) as exc:
        ro.choose_undo_target("Deployment", obj, ro.revisions("Deployment", revs), to_revision)
    assert str(exc.value) == message


def test_statefulset_undo_target_and_current_from_controller_revisions():
    revs = ro.revisions("StatefulSet", [controller_revision(1, "db:1"), controller_revision(2, "db:2"),
                                        controller_revision(3, "db:3")])
    obj = statefulset("db:3")
    assert ro.current_revision("StatefulSet", obj, revs) == 3
    assert ro.choose_undo_target("StatefulSet", obj, revs)["revision"] == 2
    assert ro.pointer_revision("StatefulSet", obj, revs) == 2  # status.updateRevision names db-2abc


def test_undo_patch_replaces_template_and_keeps_other_annotations():
    obj = deployment("web:3", annotations={"team": "shop", ro.CHANGE_CAUSE: "v3"})
    target = ro.revisions("Deployment", [replica_set(2, "web:2", change_cause="v2")])[0]
    ops = ro.undo_patch(obj, target)
    assert ops[0] == {"op": "replace", "path": "/spec/template", "value": target["template"]}
    assert ops[1:] == [{"op": "add", "path": "/metadata/annotations/kubernetes.io~1change-cause", "value": "v2"}]
    assert ro.undo_patch(obj, target, "rollback after incident 42")[1]["value"] == "rollback after incident 42"
    # The target had no change-cause: the current one is removed, nothing else is touched.
    bare = ro.revisions("Deployment", [replica_set(1, "web:1")])[0]
    assert ro.undo_patch(obj, bare)[1:] == [{"op": "remove", "path": "/metadata/annotations/kubernetes.io~1change-cause"}]


@pytest.mark.parametrize(("annotations", "changes", "ops"), [
    (None, {"a/b": "x"}, [{"op": "add", "path": "/metadata/annotations", "value": {"a/b": "x"}}]),
    (None, {"a": None}, []),
    ({"a": "x"}, {"a": "x"}, []),
    ({"a": "x"}, {"a": "y", "c~d": "z"}, [{"op": "add", "path": "/metadata/annotations/a", "value": "y"},
                                          {"op": "add", "path": "/metadata/annotations/c~0d", "value": "z"}]),
])
def test_annotation_ops(annotations, changes, ops):
    obj = {"metadata": {"annotations": annotations} if annotations is not None else {}}
    assert ro.annotation_ops(obj, changes) == ops


def test_history_marks_current():
    revs = ro.revisions("Deployment", [replica_set(1, "web:1"), replica_set(2, "web:2", change_cause="v2")])
    rows = ro.history(revs, 2)
    assert [(row["revision"], row["current"], row["change_cause"]) for row in rows] == [(1, False, None), (2, True, "v2")]
    assert set(rows[0]) == {"revision", "name", "images", "change_cause", "created", "current", "replicas"}


def test_templates_equal_ignores_hash_label_and_patch_directive():
    assert ro.templates_equal(template("a", {"pod-template-hash": "x"}), template("a"))
    assert ro.templates_equal(dict(template("a"), **{"$patch": "replace"}), template("a"))
    assert not ro.templates_equal(template("a"), template("b"))


def test_new_revision_pod_per_kind():
    revs = ro.revisions("Deployment", [replica_set(1, "web:1"), replica_set(2, "web:2")])
    matcher = ro.new_revision_pod("Deployment", deployment("web:2"), revs)
    assert matcher({"pod-template-hash": "h2"}) and not matcher({"pod-template-hash": "h1"})
    assert ro.new_revision_pod("Deployment", deployment("web:3"), revs) is None  # no ReplicaSet for it yet
    sts = ro.new_revision_pod("StatefulSet", statefulset(status={"updateRevision": "db-3abc"}), [])
    assert sts({"controller-revision-hash": "db-3abc"}) and not sts({"controller-revision-hash": "db-2abc"})
    ds_revs = ro.revisions("DaemonSet", [controller_revision(1, "agent:0"), controller_revision(2, "agent:1")])
    ds = ro.new_revision_pod("DaemonSet", daemonset(), ds_revs)
    assert ds({"controller-revision-hash": "2abc"}) and not ds({"controller-revision-hash": "1abc"})


# ------------------------------------------------------------------------------ images

def test_plan_images_changes_only_what_differs():
    obj = deployment()
    obj["spec"]["template"] = template("web:1", sidecar="envoy:1", init="migrate:1")
    assert ro.plan_images("Deployment", obj, {"app": "web:1"}) == {}
    assert ro.plan_images("Deployment", obj, {"app": "web:2", "migrate": "migrate:2"}) == {
        "app": {"before": "web:1", "after": "web:2"}, "migrate": {"before": "migrate:1", "after": "migrate:2"}}
    # '*' covers every container not named explicitly.
    assert ro.plan_images("Deployment", obj, {"*": "x:1", "proxy": "envoy:1"}) == {
        "app": {"before": "web:1", "after": "x:1"}, "migrate": {"before": "migrate:1", "after": "x:1"}}


def test_plan_images_unknown_container_names_the_known_ones():
    with pytest.raises(ro.RolloutError) as exc:
        ro.plan_images("Deployment", deployment(), {"ap": "web:2"})
    assert str(exc.value) == "Deployment shop/web has no container named 'ap' (containers: app)."


def test_image_patch_and_restart_patch():
    obj = deployment()
    obj["spec"]["template"] = template("web:1", init="migrate:1")
    body = ro.image_patch(obj, {"app": {"before": "web:1", "after": "web:2"},
                                "migrate": {"before": "migrate:1", "after": "migrate:2"}}, "release 2")
    assert body == {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:2"}],
                                                   "initContainers": [{"name": "migrate", "image": "migrate:2"}]}}},
                    "metadata": {"annotations": {ro.CHANGE_CAUSE: "release 2"}}}
    assert ro.restart_patch("2024-05-01T10:00:00Z") == {
        "spec": {"template": {"metadata": {"annotations": {ro.RESTARTED_AT: "2024-05-01T10:00:00Z"}}}}}


# ------------------------------------------------------------------------------ scale and HPA

@pytest.mark.parametrize(("replicas", "current", "plan"), [
    (5, None, {"before": 3, "after": 5, "changed": True}),
    (3, 3, {"before": 3, "after": 3, "changed": False}),
    (0, 3, {"before": 3, "after": 0, "changed": True}),
])
def test_plan_scale(replicas, current, plan):
    assert ro.plan_scale("Deployment", deployment(), replicas, current) == plan


@pytest.mark.parametrize(("kind", "obj", "replicas", "current", "message"), [
    ("Deployment", deployment(), 5, 2, "Deployment shop/web has 3 replicas, not current_replicas=2; nothing was changed."),
    ("Deployment", deployment(), -1, None, "Deployment shop/web: replicas must be 0 or more, not -1."),
    ("DaemonSet", daemonset(), 2, None, "DaemonSet ops/agent runs one pod per eligible node and cannot be scaled; "
                                        "change its nodeSelector or tolerations instead."),
])
def test_plan_scale_refusals(kind, obj, replicas, current, message):
    with pytest.raises(ro.RolloutError) as exc:
        ro.plan_scale(kind, obj, replicas, current)
    assert str(exc.value) == message


def test_scale_patch_with_atomic_precondition():
    plan = {"before": 3, "after": 5, "changed": True}
    assert ro.scale_patch(plan, precondition=True) == [{"op": "test", "path": "/spec/replicas", "value": 3},
                                                       {"op": "replace", "path": "/spec/replicas", "value": 5}]
    assert ro.scale_patch(plan) == [{"op": "replace", "path": "/spec/replicas", "value": 5}]


def hpa(min_replicas=2, max_replicas=5, current=3):
    return {"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": min_replicas, "maxReplicas": max_replicas},
            "status": {"currentReplicas": current, "desiredReplicas": current}}


@pytest.mark.parametrize(("low", "high", "after", "changed", "expected"), [
    (None, 10, {"min_replicas": 2, "max_replicas": 10}, True, 3),
    (4, None, {"min_replicas": 4, "max_replicas": 5}, True, 4),
    (2, 5, {"min_replicas": 2, "max_replicas": 5}, False, 3),
    (1, 2, {"min_replicas": 1, "max_replicas": 2}, True, 2),
])
def test_plan_hpa(low, high, after, changed, expected):
    plan = ro.plan_hpa(hpa(), low, high)
    assert plan["before"] == {"min_replicas": 2, "max_replicas": 5}
    assert (plan["after"], plan["changed"], plan["expected_replicas"]) == (after, changed, expected)
    assert ro.hpa_patch(plan) == {"spec": {"minReplicas": after["min_replicas"], "maxReplicas": after["max_replicas"]}}


@pytest.mark.parametrize(("low", "high", "message"), [
    (6, None, "HorizontalPodAutoscaler shop/web: min_replicas (6) is greater than max_replicas (5); nothing was changed."),
    (3, 2, "HorizontalPodAutoscaler shop/web: min_replicas (3) is greater than max_replicas (2); nothing was changed."),
    (0, None, "HorizontalPodAutoscaler shop/web: min_replicas must be at least 1, not 0."),
    (None, 0, "HorizontalPodAutoscaler shop/web: max_replicas must be at least 1, not 0."),
])
def test_plan_hpa_rejects_impossible_bounds(low, high, message):
    with pytest.raises(ro.RolloutError) as exc:
        ro.plan_hpa(hpa(), low, high)
    assert str(exc.value) == message


def test_hpa_targets():
    assert ro.hpa_targets(hpa(), "Deployment", "web")
    assert not ro.hpa_targets(hpa(), "StatefulSet", "web")
    assert not ro.hpa_targets(hpa(), "Deployment", "api")


# ------------------------------------------------------------------------------ diff

def test_summary_and_diff_entry():
    obj = deployment()
    obj["spec"]["template"]["metadata"]["annotations"] = {ro.RESTARTED_AT: "2024-05-01T10:00:00Z"}
    assert ro.summary("Deployment", obj, 4) == {"images": {"app": "web:1"}, "replicas": 3, "paused": False,
                                                "restarted_at": "2024-05-01T10:00:00Z", "revision": 4}
    assert ro.summary("DaemonSet", daemonset()) == {"images": {"app": "agent:1"}}
    entry = ro.diff_entry("Deployment shop/web", {"replicas": 3}, {"replicas": 5})
    assert entry["before_header"] == entry["after_header"] == "Deployment shop/web"


def test_pure_functions_do_not_mutate_their_input():
    obj = deployment()
    snapshot = copy.deepcopy(obj)
    ro.rollout_status("Deployment", obj)
    ro.plan_images("Deployment", obj, {"app": "web:2"})
    ro.summary("Deployment", obj)
    revs = ro.revisions("Deployment", [replica_set(1, "web:1")])
    ro.undo_patch(obj, revs[0])
    assert obj == snapshot
