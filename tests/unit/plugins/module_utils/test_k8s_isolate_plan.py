"""isolate_plan (C7): the patches that isolate a Service or a workload, the records they leave, the exact undo."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import isolate_plan as plan


def service(spec, annotations=None):
    return {"metadata": {"name": "api", "annotations": annotations or {}}, "spec": spec}


def test_a_node_port_service_goes_to_cluster_ip_and_its_exact_spec_is_recorded():
    spec = {"type": "NodePort", "externalTrafficPolicy": "Local", "clusterIP": "10.0.0.9",
            "ports": [{"port": 80, "nodePort": 30080, "name": "http"}]}
    patch, saved = plan.service_patch(service(spec), "isolated")
    assert patch["spec"] == {"externalTrafficPolicy": None, "type": "ClusterIP", "ports": [{"port": 80, "name": "http"}]}
    record = json.loads(patch["metadata"]["annotations"][plan.ANNOTATION])
    assert record == {"mode": "service", "spec": saved} and saved["ports"][0]["nodePort"] == 30080
    assert "clusterIP" not in saved  # the ClusterIP survives the change of type


def test_restoring_puts_back_the_recorded_fields_and_drops_the_record():
    saved = {"type": "LoadBalancer", "ports": [{"port": 443, "nodePort": 31443}], "loadBalancerSourceRanges": ["10.0.0.0/8"]}
    isolated = service({"type": "ClusterIP", "ports": [{"port": 443}]},
                       {plan.ANNOTATION: json.dumps({"mode": "service", "spec": saved})})
    patch = plan.service_patch(isolated, "restored")[0]
    assert patch == {"spec": saved, "metadata": {"annotations": {plan.ANNOTATION: None}}}
    assert plan.service_patch(service({"type": "ClusterIP"}), "restored") == (None, None)
    assert plan.service_patch(isolated, "isolated")[0] is None  # already isolated: kept as it is


def test_a_cluster_ip_service_has_nothing_to_isolate_and_a_hand_edited_record_is_refused():
    with pytest.raises(plan.IsolateError, match="already ClusterIP"):
        plan.service_patch(service({"ports": [{"port": 80}]}), "isolated")
    with pytest.raises(plan.IsolateError, match="is not JSON"):
        plan.service_patch(service({"type": "ClusterIP"}, {plan.ANNOTATION: "{oops"}), "restored")


def test_scale_records_the_replicas_and_puts_them_back():
    patch, record = plan.scale_patch({"metadata": {"name": "api"}, "spec": {"replicas": 4}}, "isolated")
    assert patch["spec"] == {"replicas": 0} and record == {"replicas": 4}
    isolated = {"metadata": {"name": "api", "annotations": {plan.ANNOTATION: patch["metadata"]["annotations"][plan.ANNOTATION]}},
                "spec": {"replicas": 0}}
    back = plan.scale_patch(isolated, "restored")[0]
    assert back == {"spec": {"replicas": 4}, "metadata": {"annotations": {plan.ANNOTATION: None}}}


def test_the_deny_all_policy_selects_the_pods_and_allows_nothing():
    policy = plan.deny_all_policy("api", "prod", {"app": "api"}, "INC-1")
    assert policy["metadata"]["name"] == "sre-runbooks-isolate-api"
    assert policy["spec"] == {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress", "Egress"],
                              "ingress": [], "egress": []}
    with pytest.raises(plan.IsolateError, match="No labels select the pods of api"):
        plan.deny_all_policy("api", "prod", {}, "")
