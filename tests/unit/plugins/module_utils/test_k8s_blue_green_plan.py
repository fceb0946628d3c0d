"""blue_green_plan: which slot is active (Service selector, Ingress backends), the switch patches, the release
manifest and the deploy decision, the pods behind a Service and their ports, smoke verdicts and the cleanup
decision. No server."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import blue_green_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_plan import RolloutError

SLOTS = ("blue", "green")
NOW = datetime.datetime(2026, 5, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def service(selector, name="web", ports=None):
    return {"metadata": {"name": name, "namespace": "prod", "labels": {"app": "web"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.7", "selector": selector,
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "http",
                                                                "protocol": "TCP", "nodePort": 30080}]}}


def deployment(slot="blue", image="web:1", replicas=3, annotations=None, selector=None):
    labels = {"app": "web", "version": slot}
    return {"metadata": {"name": f"web-{slot}", "namespace": "prod", "labels": {"app": "web", "version": slot},
                         "annotations": dict(annotations or {}), "uid": f"uid-{slot}", "resourceVersion": "7"},
            "spec": {"replicas": replicas, "progressDeadlineSeconds": 120, "revisionHistoryLimit": 4,
                     "selector": {"matchLabels": selector if selector is not None else dict(labels)},
                     "template": {"metadata": {"labels": dict(labels, **{"pod-template-hash": "abc"}),
                                               "creationTimestamp": None},
                                  "spec": {"containers": [{"name": "app", "image": image,
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}},
            "status": {"availableReplicas": replicas}}


def ingress(*names, default=None):
    spec = {"rules": [{"host": "api.example.com", "http": {"paths": [
        {"path": f"/{i}", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}
        for i, name in enumerate(names)]}}]}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {"metadata": {"name": "web", "namespace": "prod"}, "spec": spec}


def pod(name, slot, ip, ready=True, deleting=False):
    metadata = {"name": name, "labels": {"app": "web", "version": slot}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-05-01T12:00:00Z"
    ports = [{"name": "http", "containerPort": 8080}]
    return {"metadata": metadata, "spec": {"containers": [{"name": "app", "ports": ports}]},
            "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


# ------------------------------------------------------------------------------ active slot

@pytest.mark.parametrize("selector, expected", [
    ({"app": "web", "version": "blue"}, "blue"),
    ({"app": "web", "version": "green"}, "green"),
])
def test_active_slot_of_service(selector, expected):
    assert plan.active_slot_of_service(service(selector), "version", SLOTS) == expected


@pytest.mark.parametrize("selector, words", [
    ({"app": "web"}, "Service prod/web does not choose a slot: its selector (app=web) has no version label"),
    ({}, "its selector (none)"),
    ({"app": "web", "version": "v2"}, "selects version=v2, which is neither slot (blue or green)"),
])
def test_active_slot_of_service_refuses(selector, words):
    with pytest.raises(plan.BlueGreenError) as failure:
        plan.active_slot_of_service(service(selector), "version", SLOTS)
    assert words in str(failure.value)
    assert str(failure.value).endswith(".")


@pytest.mark.parametrize("obj, expected", [
    (ingress("web-blue"), "blue"),
    (ingress("docs", "web-green"), "green"),
    (ingress("docs", default="web-blue"), "blue"),
])
def test_active_slot_of_ingress(obj, expected):
    assert plan.active_slot_of_ingress(obj, "web", SLOTS) == expected


@pytest.mark.parametrize("obj, words", [
    (ingress("docs", "api"), "Ingress prod/web has no backend naming Service web-blue or web-green (its backends: api, docs)."),
    (ingress(), "(its backends: none)."),
    (ingress("web-blue", "web-green"), "sends traffic to both web-blue and web-green"),
])
def test_active_slot_of_ingress_refuses(obj, words):
    with pytest.raises(plan.BlueGreenError) as failure:
        plan.active_slot_of_ingress(obj, "web", SLOTS)
    assert words in str(failure.value)


def test_ingress_backends_in_document_order():
    assert plan.ingress_backends(ingress("web-blue", "docs", default="web-blue")) == [
        ("/spec/defaultBackend/service/name", "web-blue"),
        ("/spec/rules/0/http/paths/0/backend/service/name", "web-blue"),
        ("/spec/rules/0/http/paths/1/backend/service/name", "docs"),
    ]


@pytest.mark.parametrize("slot", ["blue", "green"])
def test_other_slot(slot):
    assert {plan.other_slot(SLOTS, slot), slot} == set(SLOTS)


# ------------------------------------------------------------------------------ switch patches

def test_service_switch_is_guarded_by_a_test_of_the_old_slot():
    assert plan.service_switch_ops("app.kubernetes.io/version", "blue", "green") == [
        {"op": "test", "path": "/spec/selector/app.kubernetes.io~1version", "value": "blue"},
        {"op": "replace", "path": "/spec/selector/app.kubernetes.io~1version", "value": "green"},
    ]


def test_ingress_switch_moves_only_the_backends_of_the_active_slot():
    obj = ingress("web-blue", "docs", default="web-blue")
    ops = plan.ingress_switch_ops(obj, "web-blue", "web-green")
    assert [op["op"] for op in ops] == ["test", "replace", "test", "replace"]
    after = plan.apply_ops(obj, ops)
    assert [name for _pointer, name in plan.ingress_backends(after)] == ["web-green", "web-green", "docs"]
    assert [name for _pointer, name in plan.ingress_backends(obj)] == ["web-blue", "web-blue", "docs"]  # a copy


def test_apply_ops_add_replace_remove():
    obj = {"metadata": {"annotations": {"a": "1", "b/c": "2"}}, "spec": {"replicas": 3}}
    after = plan.apply_ops(obj, [{"op": "replace", "path": "/spec/replicas", "value": 0},
                                 {"op": "remove", "path": "/metadata/annotations/b~1c"},
                                 {"op": "add", "path": "/metadata/annotations/d", "value": "4"},
                                 {"op": "test", "path": "/spec/replicas", "value": 99}])
    assert after == {"metadata": {"annotations": {"a": "1", "d": "4"}}, "spec": {"replicas": 0}}


# ------------------------------------------------------------------------------ pods behind a Service

def test_serving_pods_are_the_ready_pods_the_selector_matches():
    pods = [pod("web-green-2", "green", "10.1.0.3"), pod("web-blue-1", "blue", "10.1.0.1"),
            pod("web-green-1", "green", "10.1.0.2"), pod("web-green-3", "green", "10.1.0.4", ready=False),
            pod("web-green-4", "green", "10.1.0.5", deleting=True), pod("web-green-5", "green", None)]
    assert plan.serving_pods({"app": "web", "version": "green"}, pods, "version") == [
        {"name": "web-green-1", "ip": "10.1.0.2", "slot": "green"},
        {"name": "web-green-2", "ip": "10.1.0.3", "slot": "green"},
    ]
    assert plan.serving_pods({}, pods, "version") == []  # a Service without selector selects no pod


@pytest.mark.parametrize("ports, port, expected", [
    ([{"name": "http", "port": 80, "targetPort": "http"}], None, 8080),
    ([{"name": "http", "port": 80, "targetPort": 9000}], None, 9000),
    ([{"name": "http", "port": 80}], None, 80),
    ([{"name": "metrics", "port": 9100, "targetPort": 9100}, {"name": "http", "port": 80, "targetPort": "http"}],
     "http", 8080),
    ([{"name": "metrics", "port": 9100, "targetPort": 9100}, {"name": "http", "port": 80, "targetPort": 8081}],
     "80", 8081),
])
def test_target_port(ports, port, expected):
    assert plan.target_port(service({"app": "web"}, ports=ports), pod("p", "green", "10.1.0.2"), port) == expected


@pytest.mark.parametrize("ports, port, words", [
    ([], None, "Service prod/web has no ports"),
    ([{"name": "http", "port": 80}], "grpc", "has no port grpc (its ports: http)."),
    ([{"name": "http", "port": 80, "targetPort": "web"}], None, "targets port 'web', which pod p does not name."),
])
def test_target_port_refuses(ports, port, words):
    with pytest.raises(plan.BlueGreenError) as failure:
        plan.target_port(service({"app": "web"}, ports=ports), pod("p", "green", "10.1.0.2"), port)
    assert words in str(failure.value)


@pytest.mark.parametrize("status, body, expected_status, contains, expected", [
    (200, "ok", [200], None, (True, "HTTP 200")),
    (204, "", [200, 204], None, (True, "HTTP 204")),
    (500, "boom", [200], None, (False, "HTTP 500, expected 200")),
    (503, "", [200, 204], None, (False, "HTTP 503, expected 200 or 204")),
    (200, '{"status": "degraded"}', [200], '"status": "ok"', (False, "HTTP 200 without '\"status\": \"ok\"' in the body")),
    (200, '{"status": "ok"}', [200], '"status": "ok"', (True, "HTTP 200")),
])
def test_judge_smoke(status, body, expected_status, contains, expected):
    assert plan.judge_smoke(status, body, expected_status, contains) == expected


# ------------------------------------------------------------------------------ the release

def test_release_template_takes_the_images_and_the_idle_slot_label():
    template = plan.release_template(deployment(), "version", "green", {"app": "web:2"})
    assert template["metadata"] == {"labels": {"app": "web", "version": "green"}}
    assert template["spec"]["containers"][0]["image"] == "web:2"
    assert deployment()["spec"]["template"]["spec"]["containers"][0]["image"] == "web:1"


def test_release_template_refuses_an_unknown_container():
    with pytest.raises(RolloutError) as failure:
        plan.release_template(deployment(), "version", "green", {"sidecar": "x:1"})
    assert "Deployment prod/web-blue has no container named 'sidecar' (containers: app)." == str(failure.value)


def test_release_deployment_copies_the_active_spec_with_the_idle_slot():
    template = plan.release_template(deployment(), "version", "green", {"*": "web:2"})
    manifest = plan.release_deployment(deployment(), "web", "green", "version", template, 5)
    assert manifest["metadata"] == {"name": "web-green", "namespace": "prod",
                                    "labels": {"app": "web", "version": "green"},
                                    "annotations": {plan.ROLE: "preview"}}
    assert manifest["spec"]["selector"] == {"matchLabels": {"app": "web", "version": "green"}}
    assert manifest["spec"]["replicas"] == 5
    assert manifest["spec"]["progressDeadlineSeconds"] == 120 and manifest["spec"]["revisionHistoryLimit"] == 4
    assert "status" not in manifest and "uid" not in manifest["metadata"]


@pytest.mark.parametrize("idle, images, replicas, expected", [
    (None, {"app": "web:1"}, 3, plan.LIVE),
    (None, {"app": "web:2"}, 3, plan.CREATE),
    (deployment("green", "web:2", annotations={plan.ROLE: "preview"}), {"app": "web:2"}, 3, plan.READY),
    (deployment("green", "web:2", annotations={plan.ROLE: "preview"}), {"app": "web:2"}, 5, plan.UPDATE),
    (deployment("green", "web:2", annotations={plan.ROLE: "aborted"}), {"app": "web:2"}, 3, plan.UPDATE),
    (deployment("green", "web:0", annotations={plan.ROLE: "previous"}), {"app": "web:2"}, 3, plan.UPDATE),
    (deployment("green", "web:2", annotations={plan.ROLE: "preview"}), {"app": "web:3"}, 3, plan.UPDATE),
])
def test_plan_deploy(idle, images, replicas, expected):
    template = plan.release_template(deployment(), "version", "green", images)
    assert plan.plan_deploy(deployment(), idle, template, replicas, "version") == expected


def test_release_ops_replace_template_and_replicas_and_mark_preview():
    idle = deployment("green", "web:0", annotations={plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-02T12:00:00Z"})
    template = plan.release_template(deployment(), "version", "green", {"app": "web:2"})
    after = plan.apply_ops(idle, plan.release_ops(idle, template, 2))
    assert after["spec"]["template"] == template and after["spec"]["replicas"] == 2
    assert after["metadata"]["annotations"] == {plan.ROLE: "preview"}


@pytest.mark.parametrize("selector", [{"app": "web"}, {"app": "web", "version": "green"}])
def test_check_slot_deployment_refuses_a_selector_without_its_slot(selector):
    with pytest.raises(plan.BlueGreenError) as failure:
        plan.check_slot_deployment(deployment(selector=selector), "version", "blue")
    assert "Deployment prod/web-blue must select its pods with version=blue" in str(failure.value)


def test_slot_service_copies_ports_without_node_ports():
    preview = plan.slot_service(service({"app": "web", "version": "blue"}), "web-preview", "version", "green")
    assert preview == {"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": "web-preview", "namespace": "prod", "labels": {"app": "web"}},
                       "spec": {"type": "ClusterIP", "selector": {"app": "web", "version": "green"},
                                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}
    assert plan.selector_ops(preview, {"app": "web", "version": "green"}) == []
    assert plan.selector_ops(preview, {"app": "web", "version": "blue"}) == [
        {"op": "add", "path": "/spec/selector", "value": {"app": "web", "version": "blue"}}]


# ------------------------------------------------------------------------------ cleanup

@pytest.mark.parametrize("annotations, replicas, mode, expected", [
    ({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-01T11:59:59Z"}, 3, "delete", plan.REMOVE),
    ({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-01T12:00:00Z"}, 3, "delete", plan.REMOVE),
    ({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-01T12:00:01Z"}, 3, "delete", plan.KEEP),
    ({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "not a time"}, 3, "delete", plan.REMOVE),
    ({plan.ROLE: "aborted"}, 0, "delete", plan.REMOVE),
    ({plan.ROLE: "aborted"}, 0, "scale_down", plan.LEAVE),
    ({plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-01T11:00:00Z"}, 3, "scale_down", plan.REMOVE),
    ({plan.ROLE: "preview"}, 3, "delete", plan.LEAVE),
    ({}, 3, "delete", plan.LEAVE),
])
def test_plan_cleanup(annotations, replicas, mode, expected):
    decision, reason = plan.plan_cleanup(deployment("green", annotations=annotations, replicas=replicas), NOW, mode)
    assert decision == expected, reason
    assert reason


def test_plan_cleanup_without_an_idle_slot():
    assert plan.plan_cleanup(None, NOW, "delete") == (plan.LEAVE, "there is no idle slot")


def test_cleanup_ops_scale_to_zero_and_drop_the_deadline():
    idle = deployment("green", annotations={plan.ROLE: "previous", plan.SCALE_DOWN_AT: "2026-05-01T11:00:00Z"})
    after = plan.apply_ops(idle, plan.cleanup_ops(idle))
    assert after["spec"]["replicas"] == 0 and after["metadata"]["annotations"] == {plan.ROLE: "previous"}


def test_scale_down_at_round_trips():
    text = plan.scale_down_at(NOW, 86400)
    assert text == "2026-05-02T12:00:00Z"
    assert plan.parse_rfc3339(text) == NOW + datetime.timedelta(days=1)
    assert plan.parse_rfc3339(None) is None


def test_slot_summary_and_diff_view():
    state = {"active_slot": "blue", "slots": {"blue": plan.slot_summary(deployment(), "web", "blue"),
                                              "green": plan.slot_summary(None, "web", "green")}}
    assert state["slots"]["blue"] == {"deployment": "web-blue", "exists": True, "role": None,
                                      "images": {"app": "web:1"}, "replicas": 3, "available": 3,
                                      "scale_down_at": None}
    assert plan.diff_view(state) == {"active_slot": "blue", "slots": {
        "blue": {"exists": True, "role": None, "images": {"app": "web:1"}, "replicas": 3},
        "green": {"exists": False, "role": None, "images": {}, "replicas": 0}}}
