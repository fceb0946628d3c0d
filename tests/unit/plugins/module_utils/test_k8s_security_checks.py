"""The compliance controls as pure functions: workload hygiene, secret age (C5), RBAC (C2), isolation checks (C3)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import hygiene, isolation, rbac
from ansible_collections.sre.runbooks.plugins.module_utils._compliance.report import counts
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.security_runner import run_controls

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)
GOOD_CONTAINER = {
    "name": "app", "image": "registry.example.com/app:1.2.3",
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
    "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
}


def deployment(name, namespace="shop", kind="Deployment", pod_spec=None, **container):
    pod_spec = pod_spec or {}
    spec = {"template": {"spec": {"containers": [dict(GOOD_CONTAINER, **container)], **pod_spec}}}
    if kind == "CronJob":
        spec = {"jobTemplate": {"spec": spec}}
    return {"kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def statuses(checks):
    return {check["control"]: check["status"] for check in checks}


def test_a_clean_workload_passes_every_control():
    checks = hygiene.workload_checks([deployment("web")])
    assert statuses(checks) == {control: "passed" for control in hygiene.WORKLOAD_CONTROLS}
    assert {c["object"] for c in checks} == {"Deployment shop/web"}


@pytest.mark.parametrize("change, control, status, message", [
    ({"resources": {"requests": {"cpu": "1"}}}, "C8.resources", "failed",
     "container app lacks requests.memory, limits.cpu, limits.memory."),
    ({"livenessProbe": None}, "C8.probes", "failed", "container app lacks livenessProbe."),
    ({"livenessProbe": None, "readinessProbe": None}, "C8.probes", "failed",
     "container app lacks livenessProbe and readinessProbe."),
    ({"securityContext": {"readOnlyRootFilesystem": True}}, "C8.run-as-non-root", "failed",
     "container app may run as root (no runAsNonRoot, no non-zero runAsUser)."),
    ({"securityContext": {"runAsNonRoot": True, "runAsUser": 0, "readOnlyRootFilesystem": True}},
     "C8.run-as-non-root", "failed", "container app sets runAsNonRoot but runAsUser 0."),
    ({"securityContext": {"runAsNonRoot": True, "privileged": True, "readOnlyRootFilesystem": True}},
     "C8.privileged", "failed", "container app is privileged."),
    ({"image": "nginx:latest"}, "C8.image-tag", "failed", "container app image nginx:latest uses the latest tag."),
    ({"image": "localhost:5000/nginx"}, "C8.image-tag", "failed",
     "container app image localhost:5000/nginx has no tag (means latest)."),
    ({"securityContext": {"runAsNonRoot": True}}, "C8.read-only-root-fs", "warning",
     "container app has a writable root file system."),
])
def test_each_violation_fails_its_control_only(change, control, status, message):
    checks = hygiene.workload_checks([deployment("web", **change)])
    found = {c["control"]: c for c in checks}
    assert found[control]["status"] == status
    assert found[control]["message"] == message
    assert [c for c in checks if c["status"] != "passed"] == [found[control]]


@pytest.mark.parametrize("image", ["nginx:1.27", "localhost:5000/nginx:1.0", "nginx@sha256:" + "a" * 64,
                                   "nginx:latest@sha256:" + "b" * 64])
def test_pinned_images(image):
    assert hygiene.image_problem(image) is None


def test_pod_level_security_context_counts():
    pod_spec = {"securityContext": {"runAsUser": 1000}}
    checks = hygiene.workload_checks([deployment("web", pod_spec=pod_spec,
                                                 securityContext={"readOnlyRootFilesystem": True})])
    assert statuses(checks)["C8.run-as-non-root"] == "passed"


def test_init_containers_count_for_security_but_not_probes():
    pod_spec = {"initContainers": [{"name": "init", "image": "busybox", "securityContext": {"privileged": True}}]}
    checks = {c["control"]: c for c in hygiene.workload_checks([deployment("web", pod_spec=pod_spec)])}
    assert checks["C8.privileged"]["message"] == "init container init is privileged."
    assert checks["C8.image-tag"]["status"] == "failed"
    assert checks["C8.probes"]["status"] == "passed"
    assert checks["C8.resources"]["status"] == "passed"


def test_cronjobs_have_no_probe_control():
    checks = hygiene.workload_checks([deployment("backup", kind="CronJob", livenessProbe=None, readinessProbe=None)])
    assert "C8.probes" not in statuses(checks)
    assert set(statuses(checks).values()) == {"passed"}
    assert checks[0]["object"] == "CronJob shop/backup"


def secret(name, created="2026-11-01T00:00:00Z", annotations=None, kind="Opaque"):
    return {"type": kind, "metadata": {"name": name, "namespace": "shop", "creationTimestamp": created,
                                       "annotations": annotations or {}}}


@pytest.mark.parametrize("obj, status, message", [
    (secret("fresh"), "passed", "33 days old (by creationTimestamp)"),
    (secret("old", created="2026-01-01T00:00:00Z"), "failed",
     "created and never rotated 337 days ago, more than 90."),
    (secret("rotated", created="2025-01-01T00:00:00Z", annotations={hygiene.ROTATED_AT: "2026-12-01T00:00:00Z"}),
     "passed", "3 days old (by sre.runbooks/rotated-at)"),
    (secret("stale-rotation", created="2026-12-01T00:00:00Z",
            annotations={hygiene.ROTATED_AT: "2026-06-01T00:00:00+02:00"}),
     "failed", "rotated 186 days ago, more than 90."),
    (secret("garbled", annotations={hygiene.ROTATED_AT: "last tuesday"}), "failed",
     "the annotation sre.runbooks/rotated-at is not an RFC 3339 timestamp: 'last tuesday'."),
    (secret("no-time", created=None), "failed", "the Secret has no creationTimestamp."),
])
def test_secret_age(obj, status, message):
    checks, rows = hygiene.secret_checks([obj], NOW, 90)
    assert checks == [{"control": "C5.secret-age", "object": f"Secret shop/{obj['metadata']['name']}",
                       "namespace": "shop", "status": status, "message": message}]
    assert rows[0]["status"] == status


def test_unmanaged_secret_types_are_left_out():
    checks, rows = hygiene.secret_checks([secret("tok", created="2000-01-01T00:00:00Z",
                                                 kind="kubernetes.io/service-account-token")], NOW, 90)
    assert checks == [] and rows == []


def sa(namespace, name):
    return {"metadata": {"namespace": namespace, "name": name}}


def binding(name, role_kind, role, subjects, namespace=None):
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": meta, "roleRef": {"kind": role_kind, "name": role}, "subjects": subjects}


def role(name, rules, namespace=None):
    return {"metadata": {"name": name, **({"namespace": namespace} if namespace else {})}, "rules": rules}


CLUSTER_ROLES = [
    role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
    role("view", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]),
    role("discovery", [{"nonResourceURLs": ["*"], "verbs": ["*"]}]),
]
ROLES = [
    role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}], "shop"),
    role("do-anything", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}], "shop"),
    role("all-resources", [{"apiGroups": [""], "resources": ["*"], "verbs": ["list"]}], "shop"),
]


def rbac_scene(role_bindings=(), cluster_role_bindings=()):
    accounts = [sa("shop", "default"), sa("shop", "ci"), sa("shop", "web"), sa("other", "default")]
    index = rbac.RbacIndex(ROLES, CLUSTER_ROLES, list(role_bindings), list(cluster_role_bindings), accounts)
    return rbac.rbac_checks(index, ["shop"])


def failing(checks):
    return {(c["control"], c["object"]): c["message"] for c in checks if c["status"] != "passed"}


def test_clean_rbac_passes():
    checks, inventory = rbac_scene([binding("web-view", "ClusterRole", "view",
                                            [{"kind": "ServiceAccount", "name": "web"}], "shop")],
                                   [binding("discovery", "ClusterRole", "discovery",
                                            [{"kind": "Group", "name": "system:authenticated"}])])
    assert failing(checks) == {}
    assert inventory["shop"]["service_accounts"] == ["ci", "default", "web"]
    assert inventory["shop"]["roles"] == ["all-resources", "do-anything", "secret-reader"]
    assert inventory["shop"]["bindings"] == [{"kind": "RoleBinding", "name": "web-view", "role": "ClusterRole view",
                                              "role_exists": True, "admin_like": None, "reads_secrets": False,
                                              "subjects": ["ServiceAccount shop/web"]}]
    assert len([c for c in checks if c["control"] == "C2.service-account-privileges"]) == 3


@pytest.mark.parametrize("bindings, cluster_bindings, expected", [
    ([], [binding("ci-admin", "ClusterRole", "cluster-admin",
                  [{"kind": "ServiceAccount", "name": "ci", "namespace": "shop"}])],
     {("C2.service-account-privileges", "ServiceAccount shop/ci"):
      "bound to ClusterRole cluster-admin (cluster-admin) by ClusterRoleBinding ci-admin."}),
    ([binding("deployer", "Role", "do-anything", [{"kind": "ServiceAccount", "name": "ci"}], "shop")], [],
     {("C2.service-account-privileges", "ServiceAccount shop/ci"):
      "bound to Role do-anything (verbs *) by RoleBinding shop/deployer."}),
    ([binding("lister", "Role", "all-resources", [{"kind": "User", "name": "system:serviceaccount:shop:web"}],
              "shop")], [],
     {("C2.service-account-privileges", "ServiceAccount shop/web"):
      "bound to Role all-resources (resources *) by RoleBinding shop/lister."}),
    ([binding("peek", "Role", "secret-reader", [{"kind": "ServiceAccount", "name": "default"}], "shop")], [],
     {("C2.default-sa-secrets", "ServiceAccount shop/default"):
      "can read Secrets through RoleBinding peek (Role secret-reader)."}),
    ([binding("all-sa-admin", "ClusterRole", "cluster-admin",
              [{"kind": "Group", "name": "system:serviceaccounts:shop"}], "shop")], [],
     {("C2.service-account-privileges", f"ServiceAccount shop/{name}"):
      "bound to ClusterRole cluster-admin (cluster-admin) by RoleBinding shop/all-sa-admin."
      for name in ("ci", "default", "web")} | {
         ("C2.default-sa-secrets", "ServiceAccount shop/default"):
         "can read Secrets through RoleBinding all-sa-admin (ClusterRole cluster-admin)."}),
    ([binding("ghost", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "gone"}], "shop")], [],
     {("C2.binding-subjects", "RoleBinding shop/ghost"): "its subject ServiceAccount shop/gone does not exist."}),
    ([binding("no-role", "Role", "missing", [{"kind": "ServiceAccount", "name": "web"}], "shop")], [],
     {("C2.binding-subjects", "RoleBinding shop/no-role"): "its role Role missing does not exist."}),
    ([], [binding("ghost-crb", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "gone", "namespace": "shop"}])],
     {("C2.binding-subjects", "ClusterRoleBinding ghost-crb"):
      "its subject ServiceAccount shop/gone does not exist."}),
])
def test_rbac_findings(bindings, cluster_bindings, expected):
    checks, _inventory = rbac_scene(bindings, cluster_bindings)
    assert failing(checks) == expected


def test_a_secret_reader_binding_elsewhere_does_not_count_for_the_default_account():
    checks, _inventory = rbac_scene([binding("peek", "ClusterRole", "cluster-admin",
                                             [{"kind": "ServiceAccount", "name": "default", "namespace": "shop"}],
                                             "other")])
    assert ("C2.default-sa-secrets", "ServiceAccount shop/default") not in failing(checks)
    assert ("C2.service-account-privileges", "ServiceAccount shop/default") in failing(checks)


def test_bindings_of_other_namespaces_are_not_checked():
    checks, _inventory = rbac_scene([binding("ghost", "ClusterRole", "view", [{"kind": "ServiceAccount", "name": "x"}],
                                             "other")])
    assert not [c for c in checks if c["control"] == "C2.binding-subjects"]


def netpol_obj(namespace, name, spec):
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec}


def api_pod(namespace, name, labels, ports=()):
    return {"metadata": {"namespace": namespace, "name": name, "labels": labels},
            "spec": {"containers": [{"name": "app", "ports": list(ports)}]}, "status": {"podIP": "10.0.0.9"}}


def namespace(name, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}}


def fetched_scene():
    return {
        "Namespace": [namespace("stable", {"tier": "stable"}), namespace("exp", {"tier": "exp"}),
                      namespace("kube-system")],
        "NetworkPolicy": [netpol_obj("stable", "deny", {"podSelector": {}, "policyTypes": ["Ingress"]}),
                          netpol_obj("stable", "from-stable", {"podSelector": {}, "ingress": [
                              {"from": [{"namespaceSelector": {"matchLabels": {"tier": "stable"}}}]}]})],
        "Pod": [api_pod("stable", "api-1", {"app": "api"}, [{"name": "http", "containerPort": 8000}]),
                api_pod("stable", "api-0", {"app": "api"}, [{"name": "http", "containerPort": 8000}]),
                api_pod("exp", "exp-0", {"app": "exp"})],
    }


def test_run_controls_network_defaults_to_non_system_namespaces():
    matrix = [{"name": "exp must not reach stable", "from": {"namespace": "exp", "selector": "app=exp"},
               "to": {"namespace": "stable", "selector": "app=api"}, "port": "http", "expect": "denied"},
              {"from": {"namespace": "stable", "labels": {"app": "worker"}}, "to": {"namespace": "stable", "pod": "api-1"},
               "port": 8000, "expect": "denied"}]
    checks, details = run_controls(fetched_scene(), [], ["network"], {"isolation_matrix": matrix}, NOW)
    assert details["namespaces"] == ["exp", "stable"]
    assert details["missing_default_deny"] == ["exp"]
    assert [(c["object"], c["status"]) for c in checks] == [
        ("Namespace exp", "failed"), ("Namespace stable", "passed"),
        ("Flow exp must not reach stable", "passed"),
        ("Flow stable/{app=worker} -> stable/api-1:8000/TCP", "failed")]
    assert checks[3]["message"] == ("expected denied, but allowed: egress allowed: no policy selects the pod; "
                                    "ingress allowed by stable/from-stable.")
    assert details["isolation"][0]["to"] == "stable/api-0"  # the first matching pod by name
    assert details["isolation"][0]["resolved_port"] == 8000
    assert counts(checks) == {"passed": 2, "failed": 2, "warning": 0, "waived": 0, "total": 4}


def test_a_named_namespace_that_does_not_exist_fails_default_deny():
    checks, _details = run_controls(fetched_scene(), ["nowhere"], ["network"], {"isolation_matrix": []}, NOW)
    assert checks == [{"control": "C3.default-deny-ingress", "object": "Namespace nowhere", "namespace": None,
                       "status": "failed", "message": "the namespace does not exist."}]


@pytest.mark.parametrize("item, message", [
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable", "pod": "nope"}, "port": 80},
     "The pod stable/nope (to) does not exist."),
    ({"from": {"namespace": "exp", "selector": "app=none"}, "to": {"namespace": "stable"}, "port": 80},
     "No pod in exp matches the selector 'app=none' (from)."),
    ({"from": {"namespace": "exp", "selector": "app in x"}, "to": {"namespace": "stable"}, "port": 80},
     "The matrix entry's from selector: The selector term 'app in x' needs its values in parentheses."),
    ({"from": {"namespace": "exp", "pod": "a", "labels": {"a": "b"}}, "to": {"namespace": "stable"}, "port": 80},
     "The matrix entry's from takes one of pod, selector or labels, not pod and labels."),
    ({"from": {"ip": "1.2.3.4"}, "to": {"ip": "10.0.0.1"}, "port": 80},
     "The matrix entry's to needs a namespace (only a source may be an address outside the cluster)."),
    ({"from": "exp", "to": {"namespace": "stable"}, "port": 80},
     "The matrix entry's from must be a mapping with namespace and pod, selector, labels or ip."),
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable"}}, "Matrix entry 1 needs a port"),
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable"}, "port": 70000}, "Matrix entry 1 needs a port"),
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable"}, "port": 80, "expect": "maybe"},
     "Matrix entry 1: expect must be allowed or denied, not 'maybe'."),
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable"}, "port": 80, "protocol": "ICMP"},
     "Matrix entry 1: protocol must be TCP, UDP or SCTP."),
    ({"from": {"namespace": "exp"}, "to": {"namespace": "stable"}, "port": [80]}, "Matrix entry 1 needs a port"),
    ({"from": {"ip": "10.0.0.300"}, "to": {"namespace": "stable"}, "port": 80},
     "The matrix entry's from ip '10.0.0.300' is not an IP address."),
    ({"from": {"namespace": "exp", "labels": ["a"]}, "to": {"namespace": "stable"}, "port": 80},
     "The matrix entry's from labels must be a mapping."),
])
def test_bad_matrix_entries_are_one_sentence(item, message):
    pods = [isolation.netpol.pod_endpoint(p) for p in fetched_scene()["Pod"]]
    with pytest.raises(isolation.IsolationInputError) as caught:
        isolation.matrix_checks([], {}, pods, [item])
    assert str(caught.value).startswith(message)


def test_check_entry_needs_no_pods_and_refuses_a_bad_selector_before_any_lookup():
    item = {"from": {"namespace": "exp", "selector": "app notin x"}, "to": {"namespace": "nowhere", "pod": "p"},
            "port": "8000"}
    with pytest.raises(isolation.IsolationInputError, match="needs its values in parentheses"):
        isolation.check_entry(0, item)
    item["from"]["selector"] = "app notin (x)"
    assert isolation.check_entry(0, item) == (8000, "TCP", None)


def test_an_outside_source_is_evaluated_by_ip():
    policies = [netpol_obj("stable", "office", {"podSelector": {}, "ingress": [
        {"from": [{"ipBlock": {"cidr": "192.0.2.0/24"}}]}]})]
    pods = [isolation.netpol.pod_endpoint(p) for p in fetched_scene()["Pod"]]
    checks, rows = isolation.matrix_checks(policies, {}, pods, [
        {"from": {"ip": "192.0.2.10"}, "to": {"namespace": "stable", "pod": "api-0"}, "port": 8000,
         "expect": "allowed"}])
    assert checks[0]["status"] == "passed"
    assert rows[0]["ingress"]["allowed_by"] == ["stable/office"]
    assert rows[0]["from"] == "192.0.2.10"
