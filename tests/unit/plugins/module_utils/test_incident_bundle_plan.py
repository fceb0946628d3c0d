"""bundle_plan (I1, I6): Services and their endpoints, rollout history, env redaction, ranking, the index."""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._incident import bundle_plan as plan


def pod(name, labels, ready=True, deleting=False):
    meta = {"name": name, "labels": labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T03:00:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def service(name, selector, **spec):
    return {"metadata": {"name": name}, "spec": dict({"selector": selector, "ports": [{"port": 80}]}, **spec)}


def test_services_without_matching_or_ready_pods_are_findings_and_external_ones_are_not():
    pods = [pod("web-1", {"app": "web"}), pod("api-1", {"app": "api"}, ready=False),
            pod("api-2", {"app": "api"}, deleting=True)]
    rows = plan.service_rows([service("web", {"app": "web"}), service("api", {"app": "api"}),
                              service("orphan", {"app": "gone"}), service("ext", {}, type="ExternalName"),
                              service("warm", {"app": "api"}, publishNotReadyAddresses=True)], [], pods)
    by_name = {row["name"]: row for row in rows}
    assert (by_name["web"]["matching_pods"], by_name["web"]["ready_endpoints"]) == (1, 1)
    assert (by_name["api"]["matching_pods"], by_name["api"]["ready_endpoints"]) == (2, 0)
    assert by_name["warm"]["ready_endpoints"] == 2
    found = {(f["object"], f["reason"]) for f in plan.service_findings(rows)}
    assert found == {("Service/api", "NoReadyEndpoints"), ("Service/orphan", "SelectorMatchesNoPod")}


def test_published_endpoints_come_from_the_slices_of_each_service():
    slices = [{"metadata": {"labels": {"kubernetes.io/service-name": "web"}},
               "endpoints": [{"addresses": ["10.0.0.5"], "conditions": {"ready": True}},
                             {"addresses": ["10.0.0.6"], "conditions": {"ready": False}}]}]
    [row] = plan.service_rows([service("web", {"app": "web"})], slices, [pod("web-1", {"app": "web"})])
    assert row["published_endpoints"] == 1


def test_rollout_history_is_the_owned_replicasets_newest_first():
    deployment = {"metadata": {"uid": "d1"}}

    def rs(name, revision, image, owner="d1", cause=""):
        return {"metadata": {"name": name, "ownerReferences": [{"uid": owner}],
                             "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                             "kubernetes.io/change-cause": cause}},
                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
                "status": {"replicas": 3 if revision == 2 else 0}}

    history = plan.rollout_history(deployment, [rs("a", 1, "app:1"), rs("b", 2, "app:2", cause="deploy 2"),
                                                rs("x", 9, "other:1", owner="d2")])
    assert [(h["revision"], h["images"], h["replicas"], h["change_cause"]) for h in history] == [
        (2, {"app": "app:2"}, 3, "deploy 2"), (1, {"app": "app:1"}, 0, "")]


def test_env_from_secrets_keeps_only_the_reference():
    containers = [{"name": "app", "env": [
        {"name": "MODE", "value": "prod"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "envFrom": [{"secretRef": {"name": "all-secrets"}}]}]
    assert plan.redact_env(containers) == {"app": {
        "MODE": "prod", "DB_PASSWORD": "<from secretKeyRef db/password>", "NODE": "<from fieldRef >",
        "<all keys of secretRef all-secrets>": "<reference>"}}
    copied = plan.pod_copy({"metadata": {"name": "p", "managedFields": [{}]}, "spec": {"containers": containers}})
    assert "managedFields" not in copied["metadata"] and "envFrom" not in copied["spec"]["containers"][0]


def test_findings_rank_critical_first_and_workloads_before_their_pods():
    findings = [plan.finding("warning", "HorizontalPodAutoscaler", "api", "AtMaxReplicas", "5 of 5"),
                plan.finding("critical", "Pod", "api-1", "CrashLoopBackOff", ""),
                plan.finding("critical", "Deployment", "api", "Unavailable", ""),
                plan.finding("critical", "Service", "api", "NoReadyEndpoints", "")]
    assert [f["object"] for f in plan.rank(findings)] == [
        "Deployment/api", "Service/api", "Pod/api-1", "HorizontalPodAutoscaler/api"]


def test_index_shows_the_verdict_findings_with_evidence_notes_and_files():
    findings = [plan.finding("critical", "Pod", "api-1", "CrashLoopBackOff", "last exit code 1", ["FATAL: db down"])]
    text = plan.index_markdown("prod", "the last 1h", findings, {"pods": 3}, ["metrics API not served"], ["pods.json"])
    assert "Verdict: **CRITICAL** (1 findings)" in text
    assert "1. **critical** `Pod/api-1` CrashLoopBackOff: last exit code 1\n    > FATAL: db down" in text
    assert "- metrics API not served" in text and "- `pods.json`" in text
    assert "Nothing: every pod is running" in plan.index_markdown("prod", "w", [], {}, [], [])


def test_ingress_backends_that_point_nowhere_or_at_no_endpoint_are_findings():
    services = [service("web", {"app": "web"}), service("api", {"app": "api"})]
    rows = [{"name": "web", "ready_endpoints": 2}, {"name": "api", "ready_endpoints": 0}]

    def backend(name, port):
        return {"service": {"name": name, "port": port}}

    ingress = {"metadata": {"name": "front"}, "spec": {
        "defaultBackend": backend("web", {"number": 80}),
        "rules": [{"host": "shop.example.com", "http": {"paths": [
            {"path": "/api", "backend": backend("api", {"number": 80})},
            {"path": "/old", "backend": backend("legacy", {"number": 80})},
            {"path": "/web", "backend": backend("web", {"number": 8080})},
            {"path": "/named", "backend": backend("web", {"name": "http"})}]}}]}}
    found = [(f["reason"], f["message"]) for f in plan.ingress_findings([ingress], services, rows)]
    assert found == [
        ("BackendWithoutEndpoints", "shop.example.com/api points at Service api, which has no ready endpoint"),
        ("BackendServiceMissing", "shop.example.com/old points at Service legacy, which does not exist"),
        ("BackendPortMissing", "shop.example.com/web points at port 8080 of Service web, which has no such port"),
        ("BackendPortMissing", "shop.example.com/named points at port http of Service web, which has no such port")]
