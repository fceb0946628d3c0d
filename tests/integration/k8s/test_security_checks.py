"""The security controls against the real control plane: k8s_security_info (C3 matrix, one list per kind) and
the CI compliance run (playbooks/compliance.yml --check) with JUnit read back by junitparser, and waivers.

One module-scoped scene of four namespaces modelled on the EXP runbook (stable, exp, monitoring,
quarantine) holds NetworkPolicies, pods, Deployments, RBAC objects and Secrets, every one clean but
for the seeded violations in ``SEEDED``. The demo cluster (tests/harness/demo/k8s.yaml) is not used:
its Deployments have no probes or security contexts, so "exactly the seeded violations" needs a
scene of our own. No fixed sleeps: the only wait is for the service account controller.
"""

from __future__ import annotations

import datetime
import json
import uuid

import pytest
import yaml

kubernetes = pytest.importorskip("kubernetes")
junitparser = pytest.importorskip("junitparser")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import config as k8s_config  # noqa: E402

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.module_batch import run_module_batch  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

MODULE = "sre.runbooks.k8s_security_info"
CLEAN_CONTAINER = {
    "name": "app", "image": "registry.example.com/app:1.0",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
    "livenessProbe": {"tcpSocket": {"port": 8000}}, "readinessProbe": {"tcpSocket": {"port": 8000}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "readOnlyRootFilesystem": True},
    "ports": [{"name": "http", "containerPort": 8000}],
}


def deployment(name, **container):
    labels = {"app": name}
    return {"metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{**CLEAN_CONTAINER, **container}]}}}}


def policy(name, spec):
    return {"metadata": {"name": name}, "spec": spec}


DEFAULT_DENY = {"podSelector": {}, "policyTypes": ["Ingress"]}


@pytest.fixture(scope="module")
def scene(k8s_cluster):
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(k8s_cluster.kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api_client:
        core, apps = k8s.CoreV1Api(api_client), k8s.AppsV1Api(api_client)
        net, rbac = k8s.NetworkingV1Api(api_client), k8s.RbacAuthorizationV1Api(api_client)
        suffix = uuid.uuid4().hex[:6]
        ns = {role: f"sec-{role}-{suffix}" for role in ("stable", "exp", "mon", "quar")}
        labels = {"stable": {"tier": "stable"}, "exp": {"tier": "exp"}, "mon": {"team": "sre"}, "quar": {}}
        for role, name in ns.items():
            core.create_namespace({"metadata": {"name": name, "labels": labels[role]}})
        try:
            # Network: default deny everywhere but quarantine; stable admits the monitoring namespace
            # (namespaceSelector); exp locks its egress down by policyTypes without egress rules.
            for role in ("stable", "exp", "mon"):
                net.create_namespaced_network_policy(ns[role], policy("default-deny", DEFAULT_DENY))
            net.create_namespaced_network_policy(ns["stable"], policy("from-monitoring", {
                "podSelector": {"matchLabels": {"app": "api"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "sre"}}}],
                             "ports": [{"port": "http"}]}]}))
            net.create_namespaced_network_policy(ns["exp"], policy("exp-lockdown", {
                "podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]}))
            for role, app in (("stable", "api"), ("exp", "exp-api"), ("mon", "prometheus"), ("quar", "q-api")):
                core.create_namespaced_pod(ns[role], {"metadata": {"name": f"{app}-0", "labels": {"app": app}},
                                                      "spec": {"containers": [CLEAN_CONTAINER]}})
            # Workloads: one clean, and the seeded violations.
            apps.create_namespaced_deployment(ns["stable"], deployment("api"))
            apps.create_namespaced_deployment(ns["stable"], deployment("web-latest", image="nginx:latest"))
            apps.create_namespaced_deployment(ns["exp"], deployment(
                "root-app", securityContext={"privileged": True, "readOnlyRootFilesystem": True}))
            apps.create_namespaced_deployment(ns["mon"], deployment(
                "noprobes", livenessProbe=None, readinessProbe=None, resources={"requests": {"cpu": "10m"}}))
            # RBAC: a CI account with cluster-admin, exp's default account reading Secrets, a binding to nobody.
            core.create_namespaced_service_account(ns["stable"], {"metadata": {"name": "ci"}})
            rbac.create_namespaced_role_binding(ns["stable"], {
                "metadata": {"name": "ci-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                              "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": ns["stable"]}]})
            rbac.create_namespaced_role(ns["exp"], {"metadata": {"name": "secret-reader"}, "rules": [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]})
            rbac.create_namespaced_role_binding(ns["exp"], {
                "metadata": {"name": "peek"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                          "name": "secret-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns["exp"]}]})
            rbac.create_namespaced_role_binding(ns["quar"], {
                "metadata": {"name": "ghost"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                           "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "gone", "namespace": ns["quar"]}]})
            # Secrets: one rotated long ago (the annotation C1 writes), one just now.
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            for name, rotated in (("old-token", "2025-01-01T00:00:00Z"), ("fresh-token", now)):
                core.create_namespaced_secret(ns["stable"], {
                    "metadata": {"name": name, "annotations": {"sre.runbooks/rotated-at": rotated}},
                    "stringData": {"token": "s3cr3t-value"}})
            wait_until(lambda: all(any(sa.metadata.name == "default"
                                       for sa in core.list_namespaced_service_account(name).items)
                                   for name in ns.values()), "the default service accounts", timeout=60)
            yield {"ns": ns, "core": core}
        finally:
            for name in ns.values():
                core.delete_namespace(name)


def matrix(ns):
    return [
        {"name": "exp must not reach stable", "from": {"namespace": ns["exp"], "selector": "app=exp-api"},
         "to": {"namespace": ns["stable"], "pod": "api-0"}, "port": 8000, "expect": "denied"},
        {"name": "monitoring scrapes stable", "from": {"namespace": ns["mon"], "pod": "prometheus-0"},
         "to": {"namespace": ns["stable"], "selector": "app in (api)"}, "port": "http", "expect": "allowed"},
        {"name": "exp may reach quarantine", "from": {"namespace": ns["exp"], "pod": "exp-api-0"},
         "to": {"namespace": ns["quar"], "pod": "q-api-0"}, "port": 8000, "expect": "allowed"},
    ]


def seeded(ns):
    return {
        ("C3.default-deny-ingress", f"Namespace {ns['quar']}"),
        ("C3.isolation", "Flow exp may reach quarantine"),
        ("C8.image-tag", f"Deployment {ns['stable']}/web-latest"),
        ("C8.privileged", f"Deployment {ns['exp']}/root-app"),
        ("C8.run-as-non-root", f"Deployment {ns['exp']}/root-app"),
        ("C8.probes", f"Deployment {ns['mon']}/noprobes"),
        ("C8.resources", f"Deployment {ns['mon']}/noprobes"),
        ("C2.service-account-privileges", f"ServiceAccount {ns['stable']}/ci"),
        ("C2.default-sa-secrets", f"ServiceAccount {ns['exp']}/default"),
        ("C2.binding-subjects", f"RoleBinding {ns['quar']}/ghost"),
        ("C5.secret-age", f"Secret {ns['stable']}/old-token"),
    }


def test_isolation_matrix_and_default_deny_on_the_real_objects(scene):
    ns = scene["ns"]
    args = {"namespaces": list(ns.values()), "controls": ["network"], "isolation_matrix": matrix(ns)}
    check, real, everything = run_module_batch(MODULE, [
        {"args": args, "check": True}, {"args": args},
        {"args": {"namespaces": list(ns.values()), "isolation_matrix": matrix(ns)}}])
    assert not check.failed and not real.failed, real.output[-3000:]
    assert check["checks"] == real["checks"] and not real.changed
    assert real["missing_default_deny"] == [ns["quar"]]
    rows = {row["name"]: row for row in real["isolation"]}
    denied = rows["exp must not reach stable"]
    assert (denied["allowed"], denied["as_expected"]) == (False, True)
    assert denied["ingress"]["selected_by"] == [f"{ns['stable']}/default-deny", f"{ns['stable']}/from-monitoring"]
    assert denied["ingress"]["allowed_by"] == []
    by_namespace_selector = rows["monitoring scrapes stable"]
    assert by_namespace_selector["allowed"] is True and by_namespace_selector["resolved_port"] == 8000
    assert by_namespace_selector["ingress"]["allowed_by"] == [f"{ns['stable']}/from-monitoring"]
    by_policy_types = rows["exp may reach quarantine"]
    assert by_policy_types["allowed"] is False and by_policy_types["as_expected"] is False
    # default-deny (policyTypes Ingress) does not isolate egress; exp-lockdown lists Egress without egress rules
    assert by_policy_types["egress"] == {"allowed": False, "isolated": True, "allowed_by": [],
                                         "selected_by": [f"{ns['exp']}/exp-lockdown"]}
    assert by_policy_types["ingress"]["isolated"] is False
    # One list request per kind, whatever the number of objects: Namespace, NetworkPolicy, Pod ...
    assert real["api_calls"] == 3
    # ... and 13 for every control (plus 4 workload kinds, 5 RBAC kinds, Secret).
    assert everything["api_calls"] == 13, everything.output[-3000:]
    assert {(c["control"], c["object"]) for c in everything["checks"] if c["status"] == "failed"} == seeded(ns)
    assert "s3cr3t-value" not in everything.output


def run_compliance(tmp_path, ns, waivers=None):
    """playbooks/compliance.yml --check over the scene; (returncode, {(control, object): case}, output)."""
    report_dir = tmp_path / "reports"
    extra = {"security_checks_namespaces": list(ns.values()), "security_checks_isolation_matrix": matrix(ns),
             "security_checks_report_dir": str(report_dir)}
    if waivers is not None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        waiver_file = tmp_path / "waivers.yml"
        waiver_file.write_text(yaml.safe_dump({"waivers": waivers}))
        extra["security_checks_waivers_file"] = str(waiver_file)
    proc = run_playbook("playbooks/compliance.yml", extra, check=True)
    output = proc.stdout[-5000:] + proc.stderr[-2000:]
    assert (report_dir / "compliance.xml").exists(), output
    xml = junitparser.JUnitXml.fromfile(str(report_dir / "compliance.xml"))
    cases = {(case.classname, case.name): case for suite in xml for case in suite}
    return proc.returncode, cases, output, report_dir


def failing(cases):
    return {key for key, case in cases.items() if any(isinstance(r, junitparser.Failure) for r in case.result)}


def test_compliance_run_fails_exactly_on_the_seeded_violations_and_waivers_clear_them(scene, tmp_path):
    ns = scene["ns"]
    returncode, cases, output, report_dir = run_compliance(tmp_path / "plain", ns)
    assert returncode != 0, output
    assert failing(cases) == seeded(ns), output
    message = cases[("C5.secret-age", f"Secret {ns['stable']}/old-token")].result[0].message
    assert message.startswith("rotated ") and message.endswith("days ago, more than 90.")
    assert cases[("C8.probes", f"Deployment {ns['stable']}/api")].is_passed
    assert cases[("C3.isolation", "Flow monitoring scrapes stable")].is_passed
    # One test case per control per object: 6 workload controls for each of the 4 Deployments.
    assert len([key for key in cases if key[1].startswith("Deployment ")]) == 24
    report = json.loads((report_dir / "compliance.json").read_text())
    assert report["summary"]["failed"] == len(seeded(ns)) and report["check_mode"] is True
    assert f"| C2.binding-subjects | RoleBinding {ns['quar']}/ghost |" in (report_dir / "compliance.md").read_text()
    # The HTML page: a row per check (tests/integration/html_reports renders it in Chromium).
    assert (report_dir / "compliance.html").read_text().count('class="check-row"') == len(report["checks"])

    future = (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=30)).isoformat()
    waivers = [{"control": control, "object": obj, "reason": "accepted in SEC-12", "expires": future}
               for control, obj in sorted(seeded(ns))]
    returncode, cases, output, _reports = run_compliance(tmp_path / "waived", ns, waivers)
    assert returncode == 0, output
    assert failing(cases) == set()
    assert {key for key, case in cases.items() if any(isinstance(r, junitparser.Skipped) for r in case.result)} \
        == seeded(ns)

    yesterday = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)).isoformat()
    expired = ("C2.service-account-privileges", f"ServiceAccount {ns['stable']}/ci")
    waivers = [dict(w, expires=yesterday) if (w["control"], w["object"]) == expired else w for w in waivers]
    returncode, cases, output, _reports = run_compliance(tmp_path / "expired", ns, waivers)
    assert returncode != 0, output
    assert failing(cases) == {expired}
    assert cases[expired].result[0].message.endswith(f"(waiver expired on {yesterday}: accepted in SEC-12)")
