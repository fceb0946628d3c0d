"""The maintenance window's state snapshot and its comparison with the live state (M2)."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._maintenance.snapshot import compare, namespace_regex, snapshot


def workload(kind, name, replicas, images, ns="prod"):
    return {"kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": c, "image": i} for c, i in images.items()]}}}}


def hpa(name, target, low, high, ns="prod"):
    return {"kind": "HorizontalPodAutoscaler", "metadata": {"name": name, "namespace": ns},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "minReplicas": low, "maxReplicas": high}}


def state(*objects):
    # As a looped kubernetes.core.k8s_info register: one result per kind, plus a failed (skipped) item.
    return snapshot({"results": [{"resources": list(objects)}, {"skipped": True}, "junk"]})


BEFORE = state(workload("Deployment", "api", 3, {"app": "api:1", "proxy": "envoy:1"}),
               workload("StatefulSet", "db", 1, {"pg": "pg:15"}),
               workload("Deployment", "web", 2, {"app": "web:1"}), hpa("web", "web", 2, 5))


def test_snapshot_keeps_replicas_images_and_hpa_bounds():
    assert BEFORE["workloads"]["prod/Deployment/api"]["images"] == {"app": "api:1", "proxy": "envoy:1"}
    assert BEFORE["workloads"]["prod/StatefulSet/db"]["replicas"] == 1
    assert BEFORE["hpas"]["prod/HorizontalPodAutoscaler/web"] == {
        "namespace": "prod", "name": "web", "min_replicas": 2, "max_replicas": 5, "target": "prod/Deployment/web"}
    # No replicas in the spec means 1, as the API server defaults it.
    assert state(workload("Deployment", "x", None, {}))["workloads"]["prod/Deployment/x"]["replicas"] == 1


def test_the_same_state_has_no_findings():
    assert compare(BEFORE, BEFORE) == []


def test_replicas_and_images_that_differ_are_findings():
    after = state(workload("Deployment", "api", 1, {"app": "api:2", "proxy": "envoy:1"}),
                  workload("StatefulSet", "db", 1, {"pg": "pg:15", "exporter": "pgexp:1"}),
                  workload("Deployment", "web", 2, {"app": "web:1"}), hpa("web", "web", 2, 5))
    findings = compare(BEFORE, after)
    assert [(f["object"], f["field"], f["before"], f["after"]) for f in findings] == [
        ("prod/Deployment/api", "replicas", 3, 1),
        ("prod/Deployment/api", "images.app", "api:1", "api:2"),
        ("prod/StatefulSet/db", "images.exporter", None, "pgexp:1"),
    ]
    assert findings[0]["message"] == "prod/Deployment/api runs 1 replicas, 3 before the window."


def test_hpa_scaled_replicas_within_bounds_are_not_findings_but_outside_are():
    inside = state(*_objects(BEFORE), workload("Deployment", "web", 4, {"app": "web:1"}))
    assert compare(BEFORE, inside) == []
    outside = state(*_objects(BEFORE), workload("Deployment", "web", 9, {"app": "web:1"}))
    assert [f["field"] for f in compare(BEFORE, outside)] == ["replicas"]


def test_gone_objects_and_moved_bounds_are_findings():
    after = state(workload("Deployment", "api", 3, {"app": "api:1", "proxy": "envoy:1"}),
                  workload("Deployment", "web", 2, {"app": "web:1"}), hpa("web", "web", 1, 5))
    assert [(f["object"], f["field"]) for f in compare(BEFORE, after)] == [
        ("prod/StatefulSet/db", "exists"), ("prod/HorizontalPodAutoscaler/web", "min_replicas")]
    assert [f["field"] for f in compare(BEFORE, {})] == ["exists"] * 4


def test_namespace_regex_escapes():
    assert namespace_regex(["a", "b.c"]) == "a|b\\.c"


def _objects(snap):
    """The objects back from a snapshot (for building a changed copy)."""
    for w in snap["workloads"].values():
        yield workload(w["kind"], w["name"], w["replicas"], w["images"], w["namespace"])
    for h in snap["hpas"].values():
        yield hpa(h["name"], h["target"].split("/")[-1], h["min_replicas"], h["max_replicas"], h["namespace"])
